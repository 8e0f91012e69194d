//go:build darwin

package workflow

import "syscall"

// identOfStat: see fileid_linux.go.
func identOfStat(st *syscall.Stat_t) fileIdent {
	return fileIdent{dev: uint64(st.Dev), ino: st.Ino, size: st.Size,
		mtimeNs: st.Mtimespec.Nano(), ctimeNs: st.Ctimespec.Nano()}
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
