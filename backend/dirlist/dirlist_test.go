package dirlist_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flowweaver/flowweaver/backend/dirlist"
	"github.com/flowweaver/flowweaver/backend/flow"
)

// tree builds, under a temp dir:
//
//	home/            a root
//	  code/app/      with .flowweaver/workflows and .mcp.json
//	  code/plain/
//	  code/notes.txt a file
//	  code/.hidden/
//	  code/inside -> home/code/plain   (symlink that stays in)
//	  code/escape -> outside/          (symlink that leaves)
//	outside/secret/  not a root
//	proj/            a known project root outside home
func tree(t *testing.T) (base string, roots []string) {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"home/code/app/.flowweaver/workflows", "home/code/plain", "home/code/.hidden", "outside/secret", "proj/sub"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"home/code/app/.mcp.json", "home/code/notes.txt"} {
		if err := os.WriteFile(filepath.Join(base, f), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(base, "home/code/plain"), filepath.Join(base, "home/code/inside")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "outside"), filepath.Join(base, "home/code/escape")); err != nil {
		t.Fatal(err)
	}
	roots = dirlist.ResolveRoots([]string{filepath.Join(base, "home"), filepath.Join(base, "proj"), filepath.Join(base, "home/code/app"), filepath.Join(base, "missing"), ""})
	return base, roots
}

func names(l *dirlist.Listing) []string {
	var out []string
	for _, e := range l.Entries {
		out = append(out, e.Name)
	}
	return out
}

func TestResolveRootsDropsMissingAndNested(t *testing.T) {
	base, roots := tree(t)
	want := []string{filepath.Join(base, "home"), filepath.Join(base, "proj")}
	if !slices.Equal(roots, want) {
		t.Fatalf("roots = %v, want %v", roots, want)
	}
}

func TestListRootsWhenPathEmpty(t *testing.T) {
	base, roots := tree(t)
	l, err := dirlist.List(roots, "", dirlist.Options{Projects: map[string]string{filepath.Join(base, "proj"): "p_1"}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Path != "" || l.Parent != "" || len(l.Entries) != 2 || l.Entries[1].ProjectID != "p_1" {
		t.Fatalf("roots listing = %+v", l)
	}
}

func TestListOnlyFoldersWithMarkers(t *testing.T) {
	base, roots := tree(t)
	code := filepath.Join(base, "home/code")
	l, err := dirlist.List(roots, code, dirlist.Options{Projects: map[string]string{filepath.Join(code, "plain"): "p_plain"}})
	if err != nil {
		t.Fatal(err)
	}
	// notes.txt is a file, .hidden is hidden, escape leaves the roots.
	if got, want := names(l), []string{"app", "inside", "plain"}; !slices.Equal(got, want) {
		t.Fatalf("entries = %v, want %v", got, want)
	}
	app := l.Entries[0]
	if !app.Workflows || !app.MCP || app.Path != filepath.Join(code, "app") {
		t.Fatalf("app = %+v, want workflows and mcp markers", app)
	}
	if l.Entries[2].Workflows || l.Entries[2].MCP || l.Entries[2].ProjectID != "p_plain" {
		t.Fatalf("plain = %+v", l.Entries[2])
	}
	// The symlink resolves to the known project.
	if l.Entries[1].ProjectID != "p_plain" {
		t.Fatalf("inside = %+v, want the project of its target", l.Entries[1])
	}
	if l.Parent != filepath.Join(base, "home") || l.Path != code {
		t.Fatalf("path/parent = %q/%q", l.Path, l.Parent)
	}
	l, err = dirlist.List(roots, code, dirlist.Options{Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names(l), ".hidden") {
		t.Fatalf("hidden listing = %v, want .hidden", names(l))
	}
}

func TestListAtRootHasNoParent(t *testing.T) {
	base, roots := tree(t)
	l, err := dirlist.List(roots, filepath.Join(base, "proj"), dirlist.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Parent != "" || !slices.Equal(names(l), []string{"sub"}) {
		t.Fatalf("proj listing = %+v", l)
	}
}

func TestListHostilePaths(t *testing.T) {
	base, roots := tree(t)
	cases := []struct {
		name, path, code string
	}{
		{"relative", "home/code", flow.EINVALID},
		{"dot dot climbing out", filepath.Join(base, "home") + "/../outside", flow.EINVALID},
		{"dot dot staying in", filepath.Join(base, "home/code") + "/../code", flow.EINVALID},
		{"NUL byte", filepath.Join(base, "home") + "\x00/etc", flow.EINVALID},
		{"absolute elsewhere", filepath.Join(base, "outside"), flow.EFORBIDDEN},
		{"system folder", "/etc", flow.EFORBIDDEN},
		{"the filesystem root", "/", flow.EFORBIDDEN},
		{"parent of a root", base, flow.EFORBIDDEN},
		{"a sibling sharing a prefix", filepath.Join(base, "home") + "x", flow.EFORBIDDEN},
		{"symlink escaping", filepath.Join(base, "home/code/escape"), flow.EFORBIDDEN},
		{"below a symlink escaping", filepath.Join(base, "home/code/escape/secret"), flow.EFORBIDDEN},
		{"missing outside", filepath.Join(base, "outside/nope"), flow.EFORBIDDEN},
		{"missing inside", filepath.Join(base, "home/nope"), flow.ENOTFOUND},
		{"a file", filepath.Join(base, "home/code/notes.txt"), flow.EINVALID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := dirlist.List(roots, c.path, dirlist.Options{})
			if got := flow.ErrorCode(err); got != c.code {
				t.Fatalf("List(%q) = %+v, %v; want code %s", c.path, l, err, c.code)
			}
		})
	}
}

func TestListWithNoRootsRefusesEverything(t *testing.T) {
	l, err := dirlist.List(nil, "/tmp", dirlist.Options{})
	if flow.ErrorCode(err) != flow.EFORBIDDEN {
		t.Fatalf("List without roots = %+v, %v; want forbidden", l, err)
	}
	l, err = dirlist.List(nil, "", dirlist.Options{})
	if err != nil || len(l.Entries) != 0 || l.Roots == nil {
		t.Fatalf("roots listing without roots = %+v, %v", l, err)
	}
}

func TestListUnreadableFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every folder")
	}
	base, roots := tree(t)
	locked := filepath.Join(base, "home/locked")
	if err := os.Mkdir(locked, 0o000); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(locked, 0o755) })
	_, err := dirlist.List(roots, locked, dirlist.Options{})
	if flow.ErrorCode(err) != flow.EFORBIDDEN {
		t.Fatalf("unreadable folder: %v, want forbidden", err)
	}
}
