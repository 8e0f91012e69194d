package tools

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Confinement. Every file access of the file tools goes through an os.Root
// opened on the project folder: the kernel-level openat walk of os.Root
// refuses "..", absolute paths and symlinks whose target lies outside the
// root, including symlinked directories and links swapped in while the
// tool runs. cleanRel checks the path text first only to give clearer
// messages for the common mistakes.

// openProjectRoot opens the project folder as an os.Root.
func openProjectRoot(tool string, p flow.Project) (*os.Root, error) {
	if p.Path == "" || !filepath.IsAbs(p.Path) {
		return nil, flow.Errorf(flow.EUNAVAILABLE, "%s: project %q has no absolute folder path", tool, p.ID)
	}
	root, err := os.OpenRoot(p.Path)
	if err != nil {
		return nil, flow.Errorf(flow.EUNAVAILABLE, "%s: project folder %s is not accessible: %v", tool, p.Path, unwrapPathErr(err))
	}
	return root, nil
}

// cleanRel validates a path param and returns it cleaned, relative to the
// project folder. Forward slashes work on every OS.
func cleanRel(tool, field, p string) (string, error) {
	switch {
	case p == "":
		return "", flow.Errorf(flow.EINVALID, "%s: %s is empty; give a path relative to the project folder", tool, field)
	case strings.ContainsRune(p, 0):
		return "", flow.Errorf(flow.EINVALID, "%s: %s contains a NUL byte", tool, field)
	case filepath.IsAbs(p) || strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || filepath.VolumeName(p) != "":
		return "", flow.Errorf(flow.EFORBIDDEN, "%s: %s %q is absolute; only paths relative to the project folder are allowed", tool, field, p)
	}
	rel := filepath.Clean(filepath.FromSlash(p))
	if !filepath.IsLocal(rel) {
		return "", flow.Errorf(flow.EFORBIDDEN, "%s: %s %q leaves the project folder", tool, field, p)
	}
	return rel, nil
}

// rootError turns an os.Root error into a user-facing error without the
// absolute paths of the machine.
func rootError(tool, field, rel string, err error) error {
	shown := filepath.ToSlash(rel)
	switch {
	case strings.Contains(err.Error(), "path escapes from parent"):
		// os.Root's sentinel is unexported; its text is stable API output.
		return flow.Errorf(flow.EFORBIDDEN, "%s: %s %q resolves outside the project folder (through a symbolic link)", tool, field, shown)
	case errors.Is(err, fs.ErrNotExist):
		return flow.Errorf(flow.ENOTFOUND, "%s: %s %q does not exist in the project folder", tool, field, shown)
	case errors.Is(err, fs.ErrPermission):
		return flow.Errorf(flow.EFORBIDDEN, "%s: %s %q: permission denied", tool, field, shown)
	case errors.Is(err, syscall.ELOOP):
		return flow.Errorf(flow.EINVALID, "%s: %s %q: too many levels of symbolic links", tool, field, shown)
	case errors.Is(err, syscall.ENOTDIR):
		return flow.Errorf(flow.EINVALID, "%s: %s %q: a parent of it is not a directory", tool, field, shown)
	case errors.Is(err, syscall.EISDIR):
		return flow.Errorf(flow.EINVALID, "%s: %s %q is a directory", tool, field, shown)
	case errors.Is(err, syscall.ENOSPC):
		return flow.Errorf(flow.EUNAVAILABLE, "%s: %s %q: no space left on device", tool, field, shown)
	}
	return fmt.Errorf("%s %s %q: %w", tool, field, shown, err)
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var fileReadSpec = spec{
	Name:  "file.read",
	Title: "Read file",
	Description: "Reads a file of the project folder. Text (valid UTF-8) is returned as is, anything else base64-encoded. " +
		"Paths are relative to the project folder and cannot leave it, not even through symbolic links.",
	Params: []param{
		{Name: "path", Title: "Path", Type: typeString, Required: true,
			Description: "file path relative to the project folder, e.g. \"data/input.json\""},
	},
}

// fileReadTool reads one file inside the project folder.
type fileReadTool struct {
	max int64
}

func (*fileReadTool) spec() spec { return fileReadSpec }

func (*fileReadTool) Describe() flow.Tool { return fileReadSpec.describe() }

func (t *fileReadTool) Run(ctx context.Context, call Call) (any, error) {
	if err := fileReadSpec.validate(call.Params); err != nil {
		return nil, err
	}
	rel, err := cleanRel("file.read", "path", call.Params["path"].(string))
	if err != nil {
		return nil, err
	}
	root, err := openProjectRoot("file.read", call.Project)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		return nil, rootError("file.read", "path", rel, err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, rootError("file.read", "path", rel, err)
	}
	if fi.IsDir() {
		return nil, flow.Errorf(flow.EINVALID, "file.read: path %q is a directory", filepath.ToSlash(rel))
	}
	if !fi.Mode().IsRegular() {
		return nil, flow.Errorf(flow.EINVALID, "file.read: path %q is not a regular file", filepath.ToSlash(rel))
	}
	if fi.Size() > t.max {
		return nil, flow.Errorf(flow.EPAYLOADTOOLARGE, "file.read: %q is %d bytes, more than the limit of %d", filepath.ToSlash(rel), fi.Size(), t.max)
	}
	// The file may grow between Stat and read: read at most max+1 bytes.
	data, err := io.ReadAll(io.LimitReader(f, t.max+1))
	if err != nil {
		return nil, rootError("file.read", "path", rel, err)
	}
	if int64(len(data)) > t.max {
		return nil, flow.Errorf(flow.EPAYLOADTOOLARGE, "file.read: %q is more than the limit of %d bytes", filepath.ToSlash(rel), t.max)
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(ctx, "file.read")
	}
	out := map[string]any{"path": filepath.ToSlash(rel), "size": len(data)}
	if utf8.Valid(data) {
		out["content"], out["encoding"] = string(data), "utf-8"
	} else {
		out["content"], out["encoding"] = base64.StdEncoding.EncodeToString(data), "base64"
	}
	return out, nil
}

var fileWriteSpec = spec{
	Name:  "file.write",
	Title: "Write file",
	Description: "Writes a file of the project folder atomically (a temporary file renamed over the target), creating missing parent folders. " +
		"Paths are relative to the project folder and cannot leave it, not even through symbolic links.",
	Params: []param{
		{Name: "path", Title: "Path", Type: typeString, Required: true,
			Description: "file path relative to the project folder, e.g. \"out/report.md\""},
		{Name: "content", Title: "Content", Type: typeAny, Required: true,
			Description: "the file's content: a string is written as is, any other value as indented JSON"},
		{Name: "encoding", Title: "Encoding", Type: typeString, Enum: []string{"utf-8", "base64"}, Default: "utf-8",
			Description: "\"base64\" decodes a string content to bytes before writing (binary files)"},
	},
}

// fileWriteTool writes one file inside the project folder.
type fileWriteTool struct {
	max int64
}

func (*fileWriteTool) spec() spec { return fileWriteSpec }

func (*fileWriteTool) Describe() flow.Tool { return fileWriteSpec.describe() }

func (t *fileWriteTool) Run(ctx context.Context, call Call) (any, error) {
	if err := fileWriteSpec.validate(call.Params); err != nil {
		return nil, err
	}
	rel, err := cleanRel("file.write", "path", call.Params["path"].(string))
	if err != nil {
		return nil, err
	}
	if rel == "." {
		return nil, flow.Errorf(flow.EINVALID, "file.write: path %q names the project folder itself", call.Params["path"])
	}
	data, err := contentBytes(call.Params["content"], strParam(call.Params, "encoding", "utf-8"))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > t.max {
		return nil, flow.Errorf(flow.EPAYLOADTOOLARGE, "file.write: content is %d bytes, more than the limit of %d", len(data), t.max)
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(ctx, "file.write")
	}
	root, err := openProjectRoot("file.write", call.Project)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	shown := filepath.ToSlash(rel)

	perm := fs.FileMode(0o644)
	switch fi, err := root.Lstat(rel); {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		// Renaming over a link would silently replace it with a file;
		// writing through it could leave the folder. Refuse either way.
		if _, serr := root.Stat(rel); serr != nil && strings.Contains(serr.Error(), "path escapes from parent") {
			return nil, rootError("file.write", "path", rel, serr)
		}
		return nil, flow.Errorf(flow.EINVALID, "file.write: path %q is a symbolic link; write to the file it points to instead", shown)
	case err == nil && fi.IsDir():
		return nil, flow.Errorf(flow.EINVALID, "file.write: path %q is a directory", shown)
	case err == nil:
		perm = fi.Mode().Perm() // keep the mode of the file being replaced
	case !errors.Is(err, fs.ErrNotExist):
		return nil, rootError("file.write", "path", rel, err)
	}

	dir := filepath.Dir(rel)
	if dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return nil, rootError("file.write", "path", dir, err)
		}
	}
	tmp := filepath.Join(dir, "."+filepath.Base(rel)+".tmp-"+randomSuffix())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return nil, rootError("file.write", "path", rel, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = f.Close()
			_ = root.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return nil, rootError("file.write", "path", rel, err)
	}
	// Sync before rename: after a crash the file is either the old one or
	// the complete new one, never empty.
	if err := f.Sync(); err != nil {
		return nil, rootError("file.write", "path", rel, err)
	}
	if err := f.Close(); err != nil {
		return nil, rootError("file.write", "path", rel, err)
	}
	if err := root.Rename(tmp, rel); err != nil {
		return nil, rootError("file.write", "path", rel, err)
	}
	committed = true
	syncDir(root, dir)
	return map[string]any{"path": shown, "size": len(data)}, nil
}

// syncDir makes the rename durable. Failure only weakens durability after
// a power loss, so it is not reported.
func syncDir(root *os.Root, dir string) {
	d, err := root.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// contentBytes turns the content param into the bytes to write.
func contentBytes(v any, encoding string) ([]byte, error) {
	s, isStr := v.(string)
	if strings.EqualFold(encoding, "base64") {
		if !isStr {
			return nil, flow.Errorf(flow.EINVALID, "file.write: invalid params: content must be a base64 string when encoding is base64, got %s", jsonType(v))
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, flow.Errorf(flow.EINVALID, "file.write: invalid params: content is not valid base64: %v", err)
		}
		return b, nil
	}
	if isStr {
		return []byte(s), nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, flow.Errorf(flow.EINVALID, "file.write: invalid params: content cannot be written as JSON: %v", err)
	}
	return append(b, '\n'), nil
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
