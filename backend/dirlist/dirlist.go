// Package dirlist lists folders for the UI's folder browser ("Open folder"
// in a browser, which has no native folder picker). The listing is
// confined to a few roots, the user's home and the folders of known
// projects, because the endpoint is reachable by anything holding a token
// and the folder tree outside them (/etc, other users' homes, mounted
// volumes) is nobody's business. It lists only directories, never files,
// and marks the ones that look like projects.
package dirlist

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// MaxEntries caps one listing: a folder with 100,000 subfolders must not
// become a 10 MB response the UI cannot render anyway.
const MaxEntries = 2000

// Entry is one subfolder of a listing.
type Entry struct {
	Name string `json:"name"`
	// Path is the absolute path to list or open next.
	Path string `json:"path"`
	// Workflows is set when the folder has .flowweaver/workflows.
	Workflows bool `json:"workflows,omitempty"`
	// MCP is set when the folder has an MCP configuration (.mcp.json,
	// .cursor/mcp.json or .vscode/mcp.json).
	MCP bool `json:"mcp,omitempty"`
	// ProjectID is the known project opened on this folder, if any.
	ProjectID string `json:"projectId,omitempty"`
}

// Listing is a folder's subfolders, or the roots when Path is "".
type Listing struct {
	// Path is the listed folder, symlinks resolved; "" for the roots.
	Path string `json:"path"`
	// Parent is the folder above Path, "" when Path is a root (going up
	// leads back to the list of roots).
	Parent string `json:"parent"`
	// Roots are the folders the browser may show, for the breadcrumb.
	Roots   []string `json:"roots"`
	Entries []Entry  `json:"entries"`
	// Truncated is set when the folder had more than MaxEntries subfolders.
	Truncated bool `json:"truncated,omitempty"`
}

// Options tune a listing.
type Options struct {
	// Hidden includes folders whose name starts with a dot.
	Hidden bool
	// Projects maps resolved folder paths to project ids, to mark known
	// projects in a listing.
	Projects map[string]string
}

// ResolveRoots cleans and resolves candidate roots (symlinks followed),
// drops the ones that do not exist or are not directories, duplicates,
// and roots inside another root (their folders are reachable from it).
func ResolveRoots(candidates []string) []string {
	var out []string
	for _, c := range candidates {
		if c == "" || !filepath.IsAbs(c) || strings.ContainsRune(c, 0) {
			continue
		}
		r, err := filepath.EvalSymlinks(filepath.Clean(c))
		if err != nil {
			continue
		}
		if st, err := os.Stat(r); err != nil || !st.IsDir() {
			continue
		}
		out = append(out, r)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	kept := out[:0]
	for _, r := range out {
		if !slices.ContainsFunc(kept, func(k string) bool { return within(k, r) }) {
			kept = append(kept, r)
		}
	}
	return kept
}

// within reports whether path is root or below it (both clean, absolute).
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// CheckPath validates a requested path before anything touches the
// filesystem: absolute, no NUL byte, no ".." segment. A path that needs
// ".." is a path someone built to climb out of a folder; the UI never
// sends one (it lists resolved paths and goes up with Parent).
func CheckPath(raw string) error {
	switch {
	case strings.ContainsRune(raw, 0):
		return flow.Errorf(flow.EINVALID, "path contains a NUL byte")
	case !filepath.IsAbs(raw):
		return flow.Errorf(flow.EINVALID, "path must be absolute: %q", raw)
	}
	for _, seg := range strings.FieldsFunc(filepath.ToSlash(raw), func(r rune) bool { return r == '/' }) {
		if seg == ".." {
			return flow.Errorf(flow.EINVALID, "path must not contain '..': %q", raw)
		}
	}
	return nil
}

// List lists the subfolders of raw, which must lie inside one of roots
// (as returned by ResolveRoots) after symlinks are resolved; "" lists the
// roots themselves. Errors: bad_request for a malformed path, forbidden
// for a path outside the roots (including through a symlink), not_found
// for a folder that does not exist.
func List(roots []string, raw string, opt Options) (*Listing, error) {
	if roots == nil {
		roots = []string{}
	}
	if raw == "" {
		l := &Listing{Roots: roots, Entries: make([]Entry, 0, len(roots))}
		for _, r := range roots {
			e := Entry{Name: r, Path: r, ProjectID: opt.Projects[r]}
			markEntry(&e, r)
			l.Entries = append(l.Entries, e)
		}
		return l, nil
	}
	if err := CheckPath(raw); err != nil {
		return nil, err
	}
	clean := filepath.Clean(raw)
	resolved, err := filepath.EvalSymlinks(clean)
	if err != nil {
		// Say "not found" only inside the roots: outside them even the
		// existence of a folder is not told.
		if !slices.ContainsFunc(roots, func(r string) bool { return within(r, clean) }) {
			return nil, outside(raw)
		}
		return nil, flow.Errorf(flow.ENOTFOUND, "folder %q does not exist", raw)
	}
	i := slices.IndexFunc(roots, func(r string) bool { return within(r, resolved) })
	if i < 0 {
		return nil, outside(raw)
	}
	root := roots[i]
	rel, _ := filepath.Rel(root, resolved)
	// os.Root keeps every access below the root even if a folder on the
	// way is swapped for a symlink between the check above and the read.
	fsys, err := os.OpenRoot(root)
	if err != nil {
		return nil, flow.Errorf(flow.ENOTFOUND, "folder %q is not readable: %v", raw, err)
	}
	defer func() { _ = fsys.Close() }() // read-only handle: nothing to flush
	dir, err := fsys.Open(rel)
	if err != nil {
		return nil, openError(raw, err)
	}
	defer func() { _ = dir.Close() }()
	st, err := dir.Stat()
	if err != nil {
		return nil, openError(raw, err)
	}
	if !st.IsDir() {
		return nil, flow.Errorf(flow.EINVALID, "%q is not a folder", raw)
	}
	des, err := dir.ReadDir(-1)
	if err != nil && len(des) == 0 {
		return nil, openError(raw, err)
	}
	l := &Listing{Path: resolved, Roots: roots, Entries: []Entry{}}
	if resolved != root {
		l.Parent = filepath.Dir(resolved)
	}
	slices.SortFunc(des, func(a, b fs.DirEntry) int {
		return strings.Compare(strings.ToLower(a.Name()), strings.ToLower(b.Name()))
	})
	for _, de := range des {
		name := de.Name()
		if !opt.Hidden && strings.HasPrefix(name, ".") {
			continue
		}
		childRel := filepath.Join(rel, name)
		e := Entry{Name: name, Path: filepath.Join(resolved, name)}
		target := e.Path
		if de.Type()&fs.ModeSymlink != 0 {
			// A symlinked folder is listed only if it leads to a folder
			// inside one of the roots (a link in the home folder to a
			// known project elsewhere is fine, one to /etc is left out).
			t, err := filepath.EvalSymlinks(e.Path)
			if err != nil || !slices.ContainsFunc(roots, func(r string) bool { return within(r, t) }) {
				continue
			}
			if st, err := os.Stat(t); err != nil || !st.IsDir() {
				continue
			}
			target = t
		} else if !de.IsDir() {
			continue
		}
		if len(l.Entries) == MaxEntries {
			l.Truncated = true
			break
		}
		e.ProjectID = opt.Projects[target]
		if target == e.Path {
			markRooted(&e, fsys, childRel)
		} else {
			markEntry(&e, target)
		}
		l.Entries = append(l.Entries, e)
	}
	return l, nil
}

// mcpConfigs are the files that make a folder bring MCP servers.
var mcpConfigs = []string{".mcp.json", filepath.Join(".cursor", "mcp.json"), filepath.Join(".vscode", "mcp.json")}

func markRooted(e *Entry, fsys *os.Root, rel string) {
	if st, err := fsys.Stat(filepath.Join(rel, ".flowweaver", "workflows")); err == nil && st.IsDir() {
		e.Workflows = true
	}
	for _, c := range mcpConfigs {
		if st, err := fsys.Stat(filepath.Join(rel, c)); err == nil && st.Mode().IsRegular() {
			e.MCP = true
			break
		}
	}
}

func markEntry(e *Entry, dir string) {
	fsys, err := os.OpenRoot(dir)
	if err != nil {
		return
	}
	defer func() { _ = fsys.Close() }()
	markRooted(e, fsys, ".")
}

func outside(raw string) error {
	return flow.Errorf(flow.EFORBIDDEN, "%q is outside the folders Flow Weaver may browse (your home folder and the folders of known projects)", raw)
}

func openError(raw string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return flow.Errorf(flow.ENOTFOUND, "folder %q does not exist", raw)
	case errors.Is(err, fs.ErrPermission):
		return flow.Errorf(flow.EFORBIDDEN, "folder %q is not readable (permission denied)", raw)
	default:
		// os.Root refuses a path that escapes it with its own error.
		return flow.Errorf(flow.EFORBIDDEN, "%q is outside the folders Flow Weaver may browse", raw)
	}
}
