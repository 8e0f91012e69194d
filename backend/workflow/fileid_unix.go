//go:build linux || darwin

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
	return identOfStat(st), true
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
		return identOfStat(&st), true
	}
}
