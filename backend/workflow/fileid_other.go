//go:build !linux && !darwin

package workflow

import "io/fs"

// identOf: where stat gives no inode and change time (Windows), a file has
// no identity the cache could trust, so nothing is cached and every
// Snapshot reads the file.
func identOf(fs.FileInfo) (fileIdent, bool) { return fileIdent{}, false }

func statIdent(string) (fileIdent, bool) { return fileIdent{}, false }

func localFS(string) bool { return false }
