package tools

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

func TestFileWriteRead(t *testing.T) {
	reg := NewRegistry(Options{})
	p := testProject(t)
	out, _, err := run(t, reg, p, "file.write", map[string]any{"path": "out/deep/report.md", "content": "# hi\n"})
	if err != nil {
		t.Fatal(err)
	}
	if m := out.(map[string]any); m["path"] != "out/deep/report.md" || m["size"] != 5 {
		t.Errorf("write output = %v", m)
	}
	b, err := os.ReadFile(filepath.Join(p.Path, "out", "deep", "report.md"))
	if err != nil || string(b) != "# hi\n" {
		t.Fatalf("file = %q, %v", b, err)
	}
	out, _, err = run(t, reg, p, "file.read", map[string]any{"path": "./out/../out/deep/report.md"})
	if err != nil {
		t.Fatal(err)
	}
	if m := out.(map[string]any); m["content"] != "# hi\n" || m["encoding"] != "utf-8" || m["path"] != "out/deep/report.md" || m["size"] != 5 {
		t.Errorf("read output = %v", m)
	}
	// Overwrite keeps the mode and leaves no temp file behind.
	if err := os.Chmod(filepath.Join(p.Path, "out", "deep", "report.md"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, reg, p, "file.write", map[string]any{"path": "out/deep/report.md", "content": map[string]any{"a": 1.0}}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(p.Path, "out", "deep", "report.md"))
	b, _ = os.ReadFile(filepath.Join(p.Path, "out", "deep", "report.md"))
	if string(b) != "{\n  \"a\": 1\n}\n" || fi.Mode().Perm() != 0o600 {
		t.Errorf("overwrite: %q mode %v", b, fi.Mode())
	}
	entries, _ := os.ReadDir(filepath.Join(p.Path, "out", "deep"))
	if len(entries) != 1 {
		t.Errorf("leftover files: %v", entries)
	}
}

func TestFileBinary(t *testing.T) {
	reg := NewRegistry(Options{})
	p := testProject(t)
	raw := []byte{0, 1, 0xff, 0xfe, 'x'}
	enc := base64.StdEncoding.EncodeToString(raw)
	if _, _, err := run(t, reg, p, "file.write", map[string]any{"path": "bin", "content": enc, "encoding": "base64"}); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, reg, p, "file.read", map[string]any{"path": "bin"})
	if err != nil {
		t.Fatal(err)
	}
	if m := out.(map[string]any); m["content"] != enc || m["encoding"] != "base64" {
		t.Errorf("read = %v", m)
	}
	_, _, err = run(t, reg, p, "file.write", map[string]any{"path": "bin", "content": "%%%", "encoding": "base64"})
	wantCode(t, err, flow.EINVALID, "not valid base64")
}

func TestFileLimits(t *testing.T) {
	reg := NewRegistry(Options{MaxFileRead: 10, MaxFileWrite: 10})
	p := testProject(t)
	if err := os.WriteFile(filepath.Join(p.Path, "big"), []byte(strings.Repeat("x", 11)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, reg, p, "file.read", map[string]any{"path": "big"})
	wantCode(t, err, flow.EPAYLOADTOOLARGE, "limit of 10")
	_, _, err = run(t, reg, p, "file.write", map[string]any{"path": "w", "content": strings.Repeat("y", 11)})
	wantCode(t, err, flow.EPAYLOADTOOLARGE, "limit of 10")
	if _, err := os.Stat(filepath.Join(p.Path, "w")); err == nil {
		t.Error("oversized content was written")
	}
}

func TestFileErrors(t *testing.T) {
	reg := NewRegistry(Options{})
	p := testProject(t)
	if err := os.Mkdir(filepath.Join(p.Path, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.Path, "plain"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("plain", filepath.Join(p.Path, "inlink")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		tool   string
		params map[string]any
		code   string
		msg    string
	}{
		{"file.read", map[string]any{}, flow.EINVALID, "path is required"},
		{"file.read", map[string]any{"path": 3.0}, flow.EINVALID, "path must be a string"},
		{"file.read", map[string]any{"path": "nope"}, flow.ENOTFOUND, `"nope" does not exist`},
		{"file.read", map[string]any{"path": "dir"}, flow.EINVALID, "is a directory"},
		{"file.write", map[string]any{"path": "x"}, flow.EINVALID, "content is required"},
		{"file.write", map[string]any{"path": "x", "content": "a", "encoding": "latin1"}, flow.EINVALID, "encoding must be one of utf-8, base64"},
		{"file.write", map[string]any{"path": "x", "content": "a", "mode": "0777"}, flow.EINVALID, `"mode" is not a param of file.write`},
		{"file.write", map[string]any{"path": "dir", "content": "a"}, flow.EINVALID, "is a directory"},
		{"file.write", map[string]any{"path": ".", "content": "a"}, flow.EINVALID, "project folder itself"},
		{"file.write", map[string]any{"path": "plain/child", "content": "a"}, flow.EINVALID, "not a directory"},
		{"file.write", map[string]any{"path": "inlink", "content": "a"}, flow.EINVALID, "is a symbolic link"},
	}
	for _, c := range cases {
		_, _, err := run(t, reg, p, c.tool, c.params)
		t.Run(c.tool+" "+c.msg, func(t *testing.T) { wantCode(t, err, c.code, c.msg) })
	}
	// A symlink inside the project is followed for reading.
	out, _, err := run(t, reg, p, "file.read", map[string]any{"path": "inlink"})
	if err != nil || out.(map[string]any)["content"] != "x" {
		t.Errorf("read through in-project link: %v %v", out, err)
	}
	if b, _ := os.ReadFile(filepath.Join(p.Path, "plain")); string(b) != "x" {
		t.Errorf("plain changed: %q", b)
	}
}

// TestFileHostilePaths is the confinement table of the contract: every
// path that leaves the project folder fails with a clear error and nothing
// is read or written outside it.
func TestFileHostilePaths(t *testing.T) {
	reg := NewRegistry(Options{})
	p := testProject(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("top secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(secret, filepath.Join(p.Path, "abs-link")))
	rel, err := filepath.Rel(p.Path, secret)
	must(err)
	must(os.Symlink(rel, filepath.Join(p.Path, "rel-link")))
	must(os.Symlink(outside, filepath.Join(p.Path, "dir-link")))
	must(os.Mkdir(filepath.Join(p.Path, "sub"), 0o755))
	must(os.Symlink("../../", filepath.Join(p.Path, "sub", "up-link")))
	must(os.Symlink(filepath.Join(outside, "new"), filepath.Join(p.Path, "dangling-link")))

	cases := []struct {
		path string
		code string
		msg  string
	}{
		{"../x", flow.EFORBIDDEN, "leaves the project folder"},
		{"a/../../x", flow.EFORBIDDEN, "leaves the project folder"},
		{"..", flow.EFORBIDDEN, "leaves the project folder"},
		{"/etc/passwd", flow.EFORBIDDEN, "is absolute"},
		{secret, flow.EFORBIDDEN, "is absolute"},
		{"abs-link", flow.EFORBIDDEN, "outside the project folder"},
		{"rel-link", flow.EFORBIDDEN, "outside the project folder"},
		{"dir-link/secret", flow.EFORBIDDEN, "outside the project folder"},
		{"dir-link/new/file", flow.EFORBIDDEN, "outside the project folder"},
		{"sub/up-link/x", flow.EFORBIDDEN, "outside the project folder"},
		{"dangling-link", flow.EFORBIDDEN, "outside the project folder"},
		{"", flow.EINVALID, "path is empty"},
		{"a\x00b", flow.EINVALID, "NUL byte"},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.path, "/", "|"), func(t *testing.T) {
			for _, tool := range []string{"file.read", "file.write"} {
				params := map[string]any{"path": c.path}
				if tool == "file.write" {
					params["content"] = "pwned"
				}
				out, _, err := run(t, reg, p, tool, params)
				if out != nil {
					t.Errorf("%s returned output %v", tool, out)
				}
				wantCode(t, err, c.code, c.msg)
			}
		})
	}
	// Nothing changed outside: only the secret, unchanged.
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Errorf("files outside the project: %v", entries)
	}
	if b, _ := os.ReadFile(secret); string(b) != "top secret" {
		t.Errorf("secret changed: %q", b)
	}
	// The links themselves are untouched.
	if target, _ := os.Readlink(filepath.Join(p.Path, "abs-link")); target != secret {
		t.Errorf("abs-link now points to %q", target)
	}
}
