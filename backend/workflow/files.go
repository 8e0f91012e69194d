package workflow

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// DirName is where workflow files live, relative to the project folder.
const DirName = ".flowweaver/workflows"

// FileName returns the file name of a workflow (relative to DirName).
func FileName(workflowID string) string { return workflowID + ".json" }

// tempPrefix marks our temp files: hidden, never a valid "<id>.json" name,
// so a scan never mistakes one for a workflow.
const tempPrefix = ".tmp-"

// openDir opens the project's workflows directory as an os.Root, so every
// later access is confined to it: a workflow file that is a symlink leading
// elsewhere cannot be read or written through. create makes the directory
// when missing; without create a missing directory gives (nil, nil), which
// means "no workflows".
func openDir(projectPath string, create bool) (*os.Root, error) {
	root, err := os.OpenRoot(projectPath)
	if err != nil {
		return nil, flow.Errorf(flow.EUNAVAILABLE, "the project folder cannot be opened: %s", errText(err))
	}
	defer root.Close()
	if create {
		if err := root.MkdirAll(DirName, 0o755); err != nil {
			return nil, dirError(root, err)
		}
	}
	dir, err := root.OpenRoot(DirName)
	if err != nil {
		if !create && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, dirError(root, err)
	}
	return dir, nil
}

// dirError turns a failure to reach DirName into a user-facing error,
// naming a symlink out of the project when that is the cause.
func dirError(root *os.Root, err error) error {
	for _, p := range []string{".flowweaver", DirName} {
		if fi, lerr := root.Lstat(p); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			if _, serr := root.Stat(p); serr != nil && !errors.Is(serr, fs.ErrNotExist) {
				return flow.Errorf(flow.EFORBIDDEN, "%s is a symbolic link that leads outside the project folder; refusing to use it", p)
			}
		}
	}
	return flow.Errorf(flow.EUNAVAILABLE, "cannot use %s in the project folder: %s", DirName, errText(err))
}

// errText is the error without the path prefix of a *PathError (the path
// is the server's business; the reason is the user's).
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// diskFile is what a directory scan learns about one workflow file;
// readFile also fills in the identity of the file it read (see identOf).
type diskFile struct {
	mtimeNs int64
	size    int64
	ident   fileIdent
	identOK bool
}

// scanDir lists the "<id>.json" entries of the workflows directory (other
// names are not workflows and are left alone) and the temp files a crash
// may have left behind. dir may be nil (no directory yet).
func scanDir(dir *os.Root) (files map[string]diskFile, temps []string, err error) {
	files = map[string]diskFile{}
	if dir == nil {
		return files, nil, nil
	}
	d, err := dir.Open(".")
	if err != nil {
		return nil, nil, fmt.Errorf("open workflows directory: %w", err)
	}
	defer func() { _ = d.Close() }()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, nil, fmt.Errorf("read workflows directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tempPrefix) {
			temps = append(temps, name)
			continue
		}
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || !ValidID(id) {
			continue
		}
		fi, err := e.Info()
		if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			fi, err = dir.Stat(name) // the target's mtime/size is what changes on edit
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && e.Type()&fs.ModeSymlink == 0 {
				continue // removed since ReadDir
			}
			// A dangling or escaping symlink is still a workflow entry the
			// user should see flagged; give it a stat that never matches.
			files[id] = diskFile{mtimeNs: -1, size: -1}
			continue
		}
		files[id] = diskFile{mtimeNs: fi.ModTime().UnixNano(), size: fi.Size()}
	}
	return files, temps, nil
}

// removeStaleTemps deletes temp files older than a minute: leftovers of a
// save that crashed between create and rename. Younger ones may belong to
// another process saving right now.
func removeStaleTemps(dir *os.Root, temps []string, now time.Time) {
	for _, name := range temps {
		fi, err := dir.Lstat(name)
		if err == nil && fi.Mode().IsRegular() && now.Sub(fi.ModTime()) > time.Minute {
			_ = dir.Remove(name)
		}
	}
}

// errTooLarge and errNotRegular are read failures that become problems of
// the workflow rather than errors of the request.
var (
	errTooLarge   = errors.New("file is too large")
	errNotRegular = errors.New("not a regular file")
)

// readFile reads a workflow file, at most max bytes. O_NONBLOCK keeps a
// FIFO planted under a workflow's name from blocking the server; the fstat
// after open then refuses anything that is not a regular file.
func readFile(dir *os.Root, name string, max int64) ([]byte, diskFile, error) {
	f, err := dir.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, diskFile{}, err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, diskFile{}, err
	}
	st := diskFile{mtimeNs: fi.ModTime().UnixNano(), size: fi.Size()}
	st.ident, st.identOK = identOf(fi)
	if !fi.Mode().IsRegular() {
		return nil, st, errNotRegular
	}
	if fi.Size() > max {
		return nil, st, errTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, st, err
	}
	if int64(len(data)) > max {
		return nil, st, errTooLarge
	}
	return data, st, nil
}

// writeAtomic replaces name with data so that a reader (or a crash) sees
// either the old or the new file, never a mix: write a temp file in the
// same directory, fsync it, rename it over name, fsync the directory.
func writeAtomic(dir *os.Root, name string, data []byte) (diskFile, error) {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return diskFile{}, fmt.Errorf("temp name: %w", err)
	}
	tmp := tempPrefix + hex.EncodeToString(rnd[:]) + "-" + name
	f, err := dir.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return diskFile{}, fmt.Errorf("create temp file: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = dir.Rename(tmp, name)
	}
	if err != nil {
		_ = dir.Remove(tmp)
		return diskFile{}, fmt.Errorf("write %s: %w", name, err)
	}
	if err := syncDir(dir); err != nil {
		return diskFile{}, fmt.Errorf("sync workflows directory: %w", err)
	}
	fi, err := dir.Stat(name)
	if err != nil {
		return diskFile{}, fmt.Errorf("stat %s: %w", name, err)
	}
	return diskFile{mtimeNs: fi.ModTime().UnixNano(), size: fi.Size()}, nil
}

// removeFile deletes name and makes the deletion durable.
func removeFile(dir *os.Root, name string) error {
	if err := dir.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("sync workflows directory: %w", err)
	}
	return nil
}

// syncDir fsyncs the directory so a rename or remove survives power loss.
// Windows cannot fsync a directory (and does not need to: NTFS journals
// the metadata), so it is skipped there.
func syncDir(dir *os.Root) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := dir.Open(".")
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}

func hashBytes(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// relPath is the workflow file's path as shown to users.
func relPath(workflowID string) string { return path.Join(DirName, FileName(workflowID)) }
