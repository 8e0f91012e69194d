//go:build linux

package workflow

import (
	"io/fs"
	"syscall"
)

// identOf is the identity of a file as stat sees it. ctime is in it
// because no program can set it: a write in place, a rename over the file
// and even a write that puts the old mtime back (touch -r, rsync -t) all
// move it.
func identOf(fi fs.FileInfo) (fileIdent, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileIdent{}, false
	}
	return fileIdent{dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size,
		mtimeNs: st.Mtim.Nano(), ctimeNs: st.Ctim.Nano()}, true
}

// statIdent stats path (following symlinks, as reading it does) without
// allocating a FileInfo: this is the whole cost of a cached Snapshot.
func statIdent(path string) (fileIdent, bool) {
	var st syscall.Stat_t
	for {
		err := syscall.Stat(path, &st)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
			return fileIdent{}, false
		}
		return fileIdent{dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size,
			mtimeNs: st.Mtim.Nano(), ctimeNs: st.Ctim.Nano()}, true
	}
}

// localFS reports whether dir is on a local file system, where a stat
// always shows the file as it is. A network file system (NFS, SMB, sshfs
// and other FUSE file systems, 9p) may answer a stat from an attribute
// cache for seconds after another machine changed the file, while opening
// the file revalidates; so only the local file systems listed here are
// trusted, and on any other every Get reads the file.
func localFS(dir string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false
	}
	switch uint64(st.Type) { //nolint:gosec // a magic number, never negative
	case 0xEF53, // ext2, ext3, ext4
		0x58465342, // xfs
		0x9123683E, // btrfs
		0x01021994, // tmpfs
		0x794C7630, // overlayfs (containers)
		0x2FC12FC1, // zfs
		0xF2F52010, // f2fs
		0x3153464A, // jfs
		0x52654973: // reiserfs
		return true
	}
	return false
}
