package daemon_test

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The folder browser's listing over HTTP: confined to $HOME and the
// folders of known projects, with 400 for malformed paths and 403 for
// everything outside (including through a symlink).
func TestDirListingConfinedToHomeAndProjects(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(base, "home")
	proj := filepath.Join(base, "elsewhere", "proj")
	for _, d := range []string{filepath.Join(home, "code", "app", ".flowweaver", "workflows"), filepath.Join(base, "secret"), filepath.Join(proj, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(base, "secret"), filepath.Join(home, "code", "out")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	d := boot(t)
	tok, _, _ := d.Token(time.Hour)
	list := func(path string) (int, map[string]any) {
		code, body, _ := do(t, "GET", d.URL()+"/api/fs/dirs?path="+url.QueryEscape(path), tok, "")
		return code, body
	}

	if code, _, _ := do(t, "GET", d.URL()+"/api/fs/dirs", "", ""); code != 401 {
		t.Fatalf("without a token: %d, want 401", code)
	}
	code, body := list("")
	if code != 200 || len(body["entries"].([]any)) != 1 {
		t.Fatalf("roots before any project: %d %v", code, body)
	}
	code, body = list(filepath.Join(home, "code"))
	entries, _ := body["entries"].([]any)
	if code != 200 || len(entries) != 1 {
		t.Fatalf("home/code: %d %v, want only app (out escapes)", code, body)
	}
	if app := entries[0].(map[string]any); app["name"] != "app" || app["workflows"] != true {
		t.Fatalf("app entry: %v", app)
	}
	if code, body := list(proj); code != 403 || body["error"] != "forbidden" {
		t.Fatalf("project folder before it is known: %d %v", code, body)
	}

	// Once the folder is a known project, it is a root.
	if code, p, _ := do(t, "POST", d.URL()+"/api/projects", tok, `{"path":"`+proj+`"}`); code != 201 {
		t.Fatalf("create project: %d %v", code, p)
	}
	if code, body := list(proj); code != 200 || len(body["entries"].([]any)) != 1 || body["parent"] != "" {
		t.Fatalf("known project folder: %d %v", code, body)
	}

	for path, want := range map[string]int{
		"relative/path":                    400,
		home + "/../secret":                400,
		home + "\x00":                      400,
		"/etc":                             403,
		"/":                                403,
		filepath.Join(base, "secret"):      403,
		filepath.Join(base, "elsewhere"):   403,
		filepath.Join(home, "code", "out"): 403,
		filepath.Join(home, "nope"):        404,
	} {
		if code, body := list(path); code != want || body["message"] == "" {
			t.Errorf("GET /api/fs/dirs?path=%q: %d %v, want %d with a message", path, code, body, want)
		}
	}
}
