//go:build darwin

package workflow

import (
	"io/fs"
	"syscall"
)

// identOf: see fileid_linux.go.
func identOf(fi fs.FileInfo) (fileIdent, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileIdent{}, false
	}
	return fileIdent{dev: uint64(st.Dev), ino: st.Ino, size: st.Size,
		mtimeNs: st.Mtimespec.Nano(), ctimeNs: st.Ctimespec.Nano()}, true
}

// statIdent: see fileid_linux.go.
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
		return fileIdent{dev: uint64(st.Dev), ino: st.Ino, size: st.Size,
			mtimeNs: st.Mtimespec.Nano(), ctimeNs: st.Ctimespec.Nano()}, true
	}
}

// localFS: see fileid_linux.go. macOS names its file systems.
func localFS(dir string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false
	}
	var name []byte
	for _, c := range st.Fstypename {
		if c == 0 {
			break
		}
		name = append(name, byte(c))
	}
	switch string(name) {
	case "apfs", "hfs":
		return true
	}
	return false
}
