package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// `flowweaver token` on a data dir that was never used is an error that
// says so, and leaves nothing behind: no directory, no key.
func TestTokenNeverCreatesADataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "never-started")
	out, err := exec.Command(binary, "token", "--data-dir", dir).CombinedOutput()
	if err == nil {
		t.Fatalf("token on a missing data dir succeeded: %s", out)
	}
	if want := "no Flow Weaver data in " + dir + "; start it once first"; !strings.Contains(string(out), want) {
		t.Fatalf("token output %q, want it to contain %q", out, want)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("token created %s (stat: %v)", dir, err)
	}
	// An existing but empty dir gets no key either.
	empty := t.TempDir()
	if out, err := exec.Command(binary, "token", "--data-dir", empty).CombinedOutput(); err == nil {
		t.Fatalf("token on an empty data dir succeeded: %s", out)
	}
	if _, err := os.Stat(filepath.Join(empty, "jwt.key")); !os.IsNotExist(err) {
		t.Fatalf("token created a key in %s (stat: %v)", empty, err)
	}
}

// `flowweaver open` prints a fresh one-time login URL of the running
// server: each one works once, and a second call gives another.
func TestOpenPrintsAFreshLoginURL(t *testing.T) {
	dataDir := t.TempDir()
	s := startServe(t, dataDir)
	codes := map[string]bool{}
	for i := 0; i < 2; i++ {
		cmd := exec.Command(binary, "open", "--no-browser", "--data-dir", dataDir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("open: %v: %s", err, out)
		}
		line := strings.TrimSpace(string(out))
		prefix := "open " + s.url + "/#code="
		if !strings.HasPrefix(line, prefix) {
			t.Fatalf("open printed %q, want %q…", line, prefix)
		}
		code := strings.TrimPrefix(line, prefix)
		if codes[code] {
			t.Fatalf("open printed the same code twice: %q", code)
		}
		codes[code] = true
		if st, body := sendJSON(t, "POST", s.url+"/api/auth/login", "", `{"code":"`+code+`"}`); st != 200 || body["token"] == nil {
			t.Fatalf("login with the printed code: %d %v", st, body)
		}
		if st, _ := sendJSON(t, "POST", s.url+"/api/auth/login", "", `{"code":"`+code+`"}`); st != 401 {
			t.Fatalf("second login with the same code: %d, want 401", st)
		}
	}
	s.stop(t, os.Interrupt)
	// No server: a clear error, not a URL that leads nowhere.
	out, err := exec.Command(binary, "open", "--no-browser", "--data-dir", dataDir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no Flow Weaver server is running") {
		t.Fatalf("open without a server: %v: %s", err, out)
	}
}

// `flowweaver serve --help` shows flags the way the README writes them.
func TestServeHelpUsesDoubleDashFlags(t *testing.T) {
	out, err := exec.Command(binary, "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("serve --help: %v: %s", err, out)
	}
	for _, flag := range []string{"--addr", "--data-dir", "--workers", "--allow-remote", "--dev"} {
		if !strings.Contains(string(out), flag) {
			t.Errorf("serve --help does not show %s:\n%s", flag, out)
		}
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "-") && !strings.HasPrefix(f[0], "--") {
			t.Errorf("single-dash flag in serve --help: %q", line)
		}
	}
}

// go.mod lists the modules the code imports as direct requirements:
// `go mod tidy` has nothing to change.
func TestGoModIsTidy(t *testing.T) {
	out, err := exec.Command("go", "mod", "tidy", "-e", "-diff").CombinedOutput()
	if err != nil {
		t.Fatalf("go mod tidy -diff wants changes (run `go mod tidy -e`):\n%s", out)
	}
}

// `make build` run twice does not reinstall node_modules the second time.
func TestMakeDoesNotReinstallNodeModules(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	if _, err := os.Stat("frontend/node_modules/.package-lock.json"); err != nil {
		t.Skip("frontend dependencies are not installed here")
	}
	out, err := exec.Command("make", "-n", "frontend-deps").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n frontend-deps: %v: %s", err, out)
	}
	if strings.Contains(string(out), "npm ci") {
		t.Fatalf("make would reinstall node_modules although nothing changed:\n%s", out)
	}
}

// A save reports the params that do not fit their tool's schema (the
// registry's ParamProblems) without refusing the save.
func TestSaveReportsParamProblems(t *testing.T) {
	dataDir, projectDir := t.TempDir(), t.TempDir()
	s := startServe(t, dataDir)
	defer s.stop(t, os.Interrupt)
	out, err := exec.Command(binary, "token", "--data-dir", dataDir).Output()
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(out))
	code, p := sendJSON(t, "POST", s.url+"/api/projects", tok, `{"name":"params","path":"`+projectDir+`","trusted":true}`)
	if code != 201 {
		t.Fatalf("project: %d %v", code, p)
	}
	url := s.url + "/api/projects/" + p["id"].(string) + "/workflows/w"
	code, body := sendJSON(t, "PUT", url, tok, `{"name":"W","nodes":[{"id":"sh","tool":"shell","params":{}},{"id":"wait","tool":"delay","params":{"ms":"{{ inputs.ms }}"}}],"edges":[]}`)
	if code != 200 || body["version"] != float64(1) {
		t.Fatalf("save with a missing param: %d %v (want 200: saved as a draft)", code, body)
	}
	probs, _ := body["problems"].([]any)
	if len(probs) != 1 {
		t.Fatalf("problems = %v, want exactly the missing command of sh", body["problems"])
	}
	pr := probs[0].(map[string]any)
	if pr["node"] != "sh" || !strings.Contains(pr["message"].(string), "command is required") {
		t.Fatalf("problem = %v", pr)
	}
	code, body = sendJSON(t, "PUT", url, tok, `{"name":"W","nodes":[{"id":"sh","tool":"shell","params":{"command":"true"}}],"edges":[]}`)
	if code != 200 || body["problems"] != nil {
		t.Fatalf("save of valid params: %d %v (want no problems)", code, body)
	}
}
