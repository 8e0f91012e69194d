//go:build linux

package workflow

import "syscall"

// identOfStat is a stat's fileIdent (fileid_unix.go); the field names
// and types of Stat_t differ per platform.
func identOfStat(st *syscall.Stat_t) fileIdent {
	return fileIdent{dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size,
		mtimeNs: st.Mtim.Nano(), ctimeNs: st.Ctim.Nano()}
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
