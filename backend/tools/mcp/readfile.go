package mcp

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// maxProjectFileBytes bounds every file the source reads from a project
// folder (config files, env files). Real ones are a few KiB.
const maxProjectFileBytes = 1 << 20

// errNotRegular: the path is a device, FIFO, socket or directory.
var errNotRegular = errors.New("not a regular file")

// readProjectFile reads a file a project folder brings. The folder may come
// from anywhere and git stores symlinks, so .mcp.json or an envFile can
// point at /dev/zero, a FIFO or a huge file: reading those would hang or
// exhaust memory just by opening the folder (or listing its servers for the
// trust review). Only regular files of at most maxProjectFileBytes are
// read; a missing file keeps os.ErrNotExist in its chain.
func readProjectFile(path string) ([]byte, error) {
	st, err := os.Stat(path) // follows symlinks: what matters is the target
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errNotRegular
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, errNotRegular // swapped since the first check
	}
	b, err := io.ReadAll(io.LimitReader(f, maxProjectFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxProjectFileBytes {
		return nil, fmt.Errorf("larger than %d KiB", maxProjectFileBytes>>10)
	}
	return b, nil
}
