package daemon_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/daemon"
)

// secretValue is long enough that its base64 fills one line of base64(1)
// output; it has no shell metacharacters so it can sit in '...' quotes.
const secretValue = "fw-S3cret-Value-7d2b9c41e0"

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// secretForms are what must never appear anywhere: the value and its base64.
func secretForms(v string) map[string]string {
	return map[string]string{"value": v, "base64": base64.StdEncoding.EncodeToString([]byte(v))}
}

// secretFixture is a daemon whose data dir the test knows, so it can scan it.
type secretFixture struct {
	*fixture
	dataDir string
}

func newSecretFixture(t *testing.T) *secretFixture {
	t.Helper()
	dataDir := t.TempDir()
	ctx := context.Background()
	d, err := daemon.New(ctx, daemon.Config{Addr: "127.0.0.1:0", DataDir: dataDir, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopDaemon(t, d) })
	tok, _, err := d.Token(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &secretFixture{fixture: &fixture{t: t, d: d, token: tok}, dataDir: dataDir}
}

func stopDaemon(t *testing.T, d *daemon.Daemon) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// rawGet returns a route's body as it went over the wire.
func (f *secretFixture) rawGet(path string) string {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.d.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		f.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

func (f *secretFixture) setSecret(projectID, name, value string) {
	f.t.Helper()
	b, _ := json.Marshal(map[string]string{"value": value})
	code, res, _ := do(f.t, "PUT", f.d.URL()+"/api/projects/"+projectID+"/secrets/"+name, f.token, string(b))
	if code != 204 {
		f.t.Fatalf("set secret %s: %d %v", name, code, res)
	}
}

// runToEnd starts a workflow over the WebSocket and returns every frame
// of its run channel up to its end, and its log lines.
func (f *secretFixture) runToEnd(c *client, projectID, workflowID string) (string, []frame, []string) {
	f.t.Helper()
	runID := f.startRun(projectID, workflowID)
	c.subscribe("run:"+runID, ptr(0))
	var lines []string
	frames := c.until(func(fr frame) bool {
		if fr.Event == "node.log" {
			var p struct{ Lines []string }
			_ = json.Unmarshal(fr.Payload, &p)
			lines = append(lines, p.Lines...)
		}
		return fr.Channel == "run:"+runID && (fr.Event == "run.completed" || fr.Event == "run.failed" || fr.Event == "run.canceled")
	})
	c.send("unsubscribe", "run:"+runID, nil)
	return runID, frames, lines
}

// scanDir fails if any file under dir holds one of the forms in plain text.
func scanDir(t *testing.T, what, dir string, forms map[string]string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		for name, v := range forms {
			if strings.Contains(string(b), v) {
				t.Errorf("%s: %s holds the secret's %s", what, path, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("%s: no files scanned in %s", what, dir)
	}
}

func assertAbsent(t *testing.T, what, text string, forms map[string]string) {
	t.Helper()
	for name, v := range forms {
		if strings.Contains(text, v) {
			t.Errorf("%s holds the secret's %s", what, name)
		}
	}
}

// A shell node gets {{ secrets.NAME }} (it checks the value by its hash,
// so the workflow file holds no copy), and the value, its base64 and a
// value printed in two halves across log batches are *** in the logs; it
// is in no event, replayed event, run JSON, project file or database file.
func TestSecretResolvedInShellNodeAndMaskedEverywhere(t *testing.T) {
	f := newSecretFixture(t)
	projectDir := t.TempDir()
	code, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"name":"sec","path":"`+projectDir+`","trusted":true}`)
	if code != 201 {
		t.Fatalf("project: %d %v", code, p)
	}
	pid := p["id"].(string)

	for _, bad := range []struct{ name, body string }{
		{"lower", `{"value":"x"}`}, {"API_TOKEN", `{}`}, {"API_TOKEN", `{"value":""}`}, {"API_TOKEN", `{"value":3}`},
	} {
		if code, res, _ := do(t, "PUT", f.d.URL()+"/api/projects/"+pid+"/secrets/"+bad.name, f.token, bad.body); code != 400 {
			t.Fatalf("PUT %s %s: %d %v", bad.name, bad.body, code, res)
		}
	}
	if code, _, _ := do(t, "PUT", f.d.URL()+"/api/projects/nope/secrets/A", f.token, `{"value":"x"}`); code != 404 {
		t.Fatalf("secret of unknown project: %d", code)
	}
	f.setSecret(pid, "API_TOKEN", "first value, replaced below")
	f.setSecret(pid, "API_TOKEN", secretValue)

	wf := `{"name":"use","nodes":[
		{"id":"check","tool":"shell","params":{"command":"test \"$(printf %s '{{ secrets.API_TOKEN }}' | sha256sum | cut -d' ' -f1)\" = ` + sha(secretValue) + `"}},
		{"id":"echo","tool":"shell","params":{"command":"echo \"token={{ secrets.API_TOKEN }}\"; printf %s '{{ secrets.API_TOKEN }}' | base64; v='{{ secrets.API_TOKEN }}'; printf %s \"$v\" | head -c 9; sleep 0.4; printf %s \"$v\" | tail -c +10; echo; echo done"}},
		{"id":"out","tool":"log","params":{"message":"the value is {{ secrets.API_TOKEN }}"}}],
		"edges":[{"source":"check","target":"echo"},{"source":"echo","target":"out"}]}`
	f.workflow(pid, "use", wf)

	c := dial(t, f.d, f.token, pid)
	runID, frames, lines := f.runToEnd(c, pid, "use")
	if last := frames[len(frames)-1]; last.Event != "run.completed" {
		t.Fatalf("run ended %s %s; logs %q", last.Event, last.Payload, lines)
	}
	want := map[string]bool{"token=***": false, "***": false, "done": false}
	for _, l := range lines {
		if _, ok := want[l]; ok {
			want[l] = true
		}
	}
	if !want["token=***"] || !want["***"] || !want["done"] {
		t.Fatalf("log lines %q: want token=***, *** (base64 and the split value) and done", lines)
	}
	n := 0
	for _, l := range lines {
		if l == "***" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("want 2 lines that are only *** (base64, split value), got %d: %q", n, lines)
	}
	forms := secretForms(secretValue)
	for _, fr := range frames {
		assertAbsent(t, "live event "+fr.Event, string(fr.Payload), forms)
	}
	runJSON := f.rawGet("/api/runs/" + runID)
	assertAbsent(t, "run JSON", runJSON, forms)
	if !strings.Contains(runJSON, "the value is ***") {
		t.Fatalf("log node output not masked to ***: %s", runJSON)
	}

	// Every replayed event, over a fresh socket and over REST.
	c2 := dial(t, f.d, f.token, pid)
	c2.subscribe("run:"+runID, ptr(0))
	replay := c2.until(func(fr frame) bool { return fr.Event == "run.completed" })
	if len(replay) < 6 {
		t.Fatalf("replay has %d frames", len(replay))
	}
	for _, fr := range replay {
		assertAbsent(t, "replayed "+fr.Event, string(fr.Payload), forms)
	}
	assertAbsent(t, "event history", f.rawGet("/api/projects/"+pid+"/events?channel=run:"+runID), forms)
	assertAbsent(t, "project event history", f.rawGet("/api/projects/"+pid+"/events?channel=project:"+pid), forms)

	// Listing shows names and uses, never the value.
	list := f.rawGet("/api/projects/" + pid + "/secrets")
	assertAbsent(t, "secret listing", list, forms)
	var rep struct {
		Secrets []struct {
			Name      string
			UpdatedAt time.Time
			UsedBy    []struct{ Kind, WorkflowID, NodeID string }
		}
		Missing []any
	}
	if err := json.Unmarshal([]byte(list), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Secrets) != 1 || rep.Secrets[0].Name != "API_TOKEN" || rep.Secrets[0].UpdatedAt.IsZero() || len(rep.Secrets[0].UsedBy) != 3 || len(rep.Missing) != 0 {
		t.Fatalf("listing: %s", list)
	}

	// Plain-text scan of the project folder and the whole data dir, with
	// the WAL as the running server has it, then after shutdown.
	scanDir(t, "project folder", projectDir, forms)
	scanDir(t, "data dir (running)", f.dataDir, forms)
	if _, err := os.Stat(filepath.Join(f.dataDir, "flowweaver.db-wal")); err != nil {
		t.Fatalf("no WAL file to scan while running: %v", err)
	}
	stopDaemon(t, f.d)
	scanDir(t, "data dir (stopped)", f.dataDir, forms)
}

// A node whose error text carries the value (a failing command quoting its
// stderr) has it masked in the node error and the run error.
func TestSecretMaskedInNodeErrors(t *testing.T) {
	f := newSecretFixture(t)
	pid := f.project("err")
	f.setSecret(pid, "API_TOKEN", secretValue)
	f.workflow(pid, "leak", `{"name":"leak","nodes":[{"id":"bad","tool":"shell","params":{"command":"echo 'failed with {{ secrets.API_TOKEN }}' >&2; exit 3"}}],"edges":[]}`)
	c := dial(t, f.d, f.token, pid)
	runID, frames, _ := f.runToEnd(c, pid, "leak")
	if last := frames[len(frames)-1]; last.Event != "run.failed" {
		t.Fatalf("run ended %s", last.Event)
	}
	runJSON := f.rawGet("/api/runs/" + runID)
	assertAbsent(t, "run JSON", runJSON, secretForms(secretValue))
	for _, fr := range frames {
		assertAbsent(t, "event "+fr.Event, string(fr.Payload), secretForms(secretValue))
	}
	if !strings.Contains(runJSON, "failed with ***") {
		t.Fatalf("the error should quote the masked stderr: %s", runJSON)
	}
}

// Deleting a secret makes the next run fail, naming the secret, and the
// listing reports the name as missing where it is used (the Problems the
// UI shows before Run); the workflow still saves.
func TestDeletedSecretFailsNextRunByName(t *testing.T) {
	f := newSecretFixture(t)
	pid := f.project("del")
	f.setSecret(pid, "DEPLOY_KEY", secretValue)
	f.workflow(pid, "deploy", `{"name":"deploy","nodes":[{"id":"push","tool":"shell","params":{"command":"test -n '{{ secrets.DEPLOY_KEY }}'"}}],"edges":[]}`)
	c := dial(t, f.d, f.token, pid)
	if _, frames, _ := f.runToEnd(c, pid, "deploy"); frames[len(frames)-1].Event != "run.completed" {
		t.Fatalf("first run: %s", frames[len(frames)-1].Payload)
	}
	if code, _, _ := do(t, "DELETE", f.d.URL()+"/api/projects/"+pid+"/secrets/DEPLOY_KEY", f.token, ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _, _ := do(t, "DELETE", f.d.URL()+"/api/projects/"+pid+"/secrets/DEPLOY_KEY", f.token, ""); code != 404 {
		t.Fatalf("second delete: %d", code)
	}
	runID, frames, _ := f.runToEnd(c, pid, "deploy")
	if frames[len(frames)-1].Event != "run.failed" {
		t.Fatalf("run after delete: %s", frames[len(frames)-1].Event)
	}
	_, run, _ := do(t, "GET", f.d.URL()+"/api/runs/"+runID, f.token, "")
	nodeErr := run["nodes"].([]any)[0].(map[string]any)["error"].(string)
	if !strings.Contains(nodeErr, "DEPLOY_KEY") || !strings.Contains(nodeErr, "not set") {
		t.Fatalf("node error %q does not name the missing secret", nodeErr)
	}
	if !strings.Contains(run["error"].(string), "DEPLOY_KEY") {
		t.Fatalf("run error %q does not name the missing secret", run["error"])
	}
	_, rep, _ := do(t, "GET", f.d.URL()+"/api/projects/"+pid+"/secrets", f.token, "")
	missing, _ := json.Marshal(rep["missing"])
	if !strings.Contains(string(missing), `"name":"DEPLOY_KEY"`) || !strings.Contains(string(missing), `"nodeId":"push"`) {
		t.Fatalf("missing: %s", missing)
	}
}

// An MCP server's ${secret:NAME} env entry receives the value (the real
// test server returns its hash), the server's echo of it is masked, the
// listing shows the server as a use, and replacing the secret restarts the
// server with the new value.
func TestMCPServerGetsSecretAsEnv(t *testing.T) {
	f := newSecretFixture(t)
	bin := buildMCPTestServer(t, t.TempDir())
	projectDir := t.TempDir()
	cfg := `{"mcpServers": {"test": {"command": "` + bin + `", "env": {"API_TOKEN": "${secret:API_TOKEN}"}}}}`
	if err := os.WriteFile(filepath.Join(projectDir, ".mcp.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	code, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"name":"mcp","path":"`+projectDir+`","trusted":true}`)
	if code != 201 {
		t.Fatalf("project: %d %v", code, p)
	}
	pid := p["id"].(string)
	f.setSecret(pid, "API_TOKEN", secretValue)
	f.workflow(pid, "mcp", `{"name":"mcp","nodes":[
		{"id":"hash","tool":"mcp:test/envsha256","params":{"names":["API_TOKEN"]}},
		{"id":"echo","tool":"mcp:test/env","params":{"names":["API_TOKEN"]}}],"edges":[]}`)
	c := dial(t, f.d, f.token, pid)

	check := func(value string) {
		t.Helper()
		runID, frames, _ := f.runToEnd(c, pid, "mcp")
		runJSON := f.rawGet("/api/runs/" + runID)
		if frames[len(frames)-1].Event != "run.completed" {
			t.Fatalf("run: %s", runJSON)
		}
		if !strings.Contains(runJSON, sha(value)) {
			t.Fatalf("the server did not receive the secret (want hash %s): %s", sha(value), runJSON)
		}
		assertAbsent(t, "run JSON", runJSON, secretForms(value))
		for _, fr := range frames {
			assertAbsent(t, "event "+fr.Event, string(fr.Payload), secretForms(value))
		}
		if !strings.Contains(runJSON, `"API_TOKEN":"***"`) {
			t.Fatalf("the echo is not masked to ***: %s", runJSON)
		}
	}
	check(secretValue)

	list := f.rawGet("/api/projects/" + pid + "/secrets")
	if !strings.Contains(list, `"kind":"mcp","server":"test","file":".mcp.json"`) {
		t.Fatalf("listing lacks the MCP use: %s", list)
	}
	const second = "fw-Second-Value-0a9f3b"
	f.setSecret(pid, "API_TOKEN", second)
	check(second)
	scanDir(t, "project folder", projectDir, secretForms(second))
}

// An untrusted project can hold secrets but resolves none: its runs are
// refused, and its MCP server that names ${secret:X} is not started (so
// nothing is expanded). The listing still shows the secret and its use.
func TestUntrustedProjectResolvesNoSecret(t *testing.T) {
	f := newSecretFixture(t)
	bin := buildMCPTestServer(t, t.TempDir())
	projectDir := t.TempDir()
	cfg := `{"mcpServers": {"test": {"command": "` + bin + `", "env": {"API_TOKEN": "${secret:API_TOKEN}"}}}}`
	if err := os.WriteFile(filepath.Join(projectDir, ".mcp.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	code, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"name":"untrusted","path":"`+projectDir+`"}`)
	if code != 201 || p["trusted"] != false {
		t.Fatalf("project: %d %v", code, p)
	}
	pid := p["id"].(string)
	f.setSecret(pid, "API_TOKEN", secretValue)
	f.workflow(pid, "use", `{"name":"use","nodes":[{"id":"a","tool":"shell","params":{"command":"echo {{ secrets.API_TOKEN }}"}}],"edges":[]}`)
	if code, body, _ := do(t, "POST", f.d.URL()+"/api/projects/"+pid+"/workflows/use/runs", f.token, `{"inputs":{}}`); code != 403 || body["error"] != "untrusted" {
		t.Fatalf("run of an untrusted project: %d %v", code, body)
	}
	if st, cat := serverStatus(t, f.fixture, pid, "test"); st != "untrusted" {
		t.Fatalf("MCP server of an untrusted project: %q %v", st, cat)
	}
	list := f.rawGet("/api/projects/" + pid + "/secrets")
	if !strings.Contains(list, `"name":"API_TOKEN"`) || !strings.Contains(list, `"kind":"mcp"`) {
		t.Fatalf("listing: %s", list)
	}
	assertAbsent(t, "tool catalog", f.rawGet("/api/projects/"+pid+"/tools"), secretForms(secretValue))
}

// A server that prints its secret env on stderr and dies: the failure
// the tool catalog reports (with the stderr tail) shows *** instead.
func TestMCPFailureTextMasksSecrets(t *testing.T) {
	f := newSecretFixture(t)
	bin := buildMCPTestServer(t, t.TempDir())
	projectDir := t.TempDir()
	cfg := `{"mcpServers": {"test": {"command": "` + bin + `", "args": ["-fail-start-env", "API_TOKEN"], "env": {"API_TOKEN": "${secret:API_TOKEN}"}}}}`
	if err := os.WriteFile(filepath.Join(projectDir, ".mcp.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	code, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"name":"fail","path":"`+projectDir+`","trusted":true}`)
	if code != 201 {
		t.Fatalf("project: %d %v", code, p)
	}
	pid := p["id"].(string)
	f.setSecret(pid, "API_TOKEN", secretValue)
	var catalog string
	eventually(t, "the server failed with its stderr", func() bool {
		catalog = f.rawGet("/api/projects/" + pid + "/tools")
		return strings.Contains(catalog, "refusing to start")
	})
	assertAbsent(t, "tool catalog", catalog, secretForms(secretValue))
	if !strings.Contains(catalog, "API_TOKEN=***") {
		t.Fatalf("the stderr tail should show the masked value: %s", catalog)
	}
}

// Setting and deleting a secret tells the project's tabs (name only).
func TestSecretChangesAreAnnouncedWithoutValues(t *testing.T) {
	f := newSecretFixture(t)
	pid := f.project("announce")
	c := dial(t, f.d, f.token, pid)
	c.subscribe("project:"+pid, nil)
	f.setSecret(pid, "API_TOKEN", secretValue)
	fs := c.until(func(fr frame) bool { return fr.Event == "secrets.changed" })
	last := fs[len(fs)-1]
	if !strings.Contains(string(last.Payload), `"name":"API_TOKEN"`) {
		t.Fatalf("payload %s", last.Payload)
	}
	if code, _, _ := do(t, "DELETE", f.d.URL()+"/api/projects/"+pid+"/secrets/API_TOKEN", f.token, ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	fs = append(fs, c.until(func(fr frame) bool { return fr.Event == "secrets.changed" })...)
	for _, fr := range fs {
		assertAbsent(t, "frame "+fr.Event, string(fr.Payload), secretForms(secretValue))
	}
}

// A line longer than the line limit, cut by the shell tool in the middle
// of the value: the half before the cut is masked in the log line and in
// the node's stored output (its stdout tail keeps the cut line).
func TestSecretCutInHalfByTheLineLimitIsMasked(t *testing.T) {
	f := newSecretFixture(t)
	pid := f.project("long")
	f.setSecret(pid, "API_TOKEN", secretValue)
	// 16 KiB is the line limit: 16,370 bytes of x, then the value across it.
	f.workflow(pid, "long", `{"name":"long","nodes":[{"id":"big","tool":"shell","params":{"command":"head -c 16370 /dev/zero | tr '\\0' x; printf '%s\\n' '{{ secrets.API_TOKEN }}'; echo after"}}],"edges":[]}`)
	c := dial(t, f.d, f.token, pid)
	runID, frames, lines := f.runToEnd(c, pid, "long")
	if frames[len(frames)-1].Event != "run.completed" {
		t.Fatalf("run: %s", frames[len(frames)-1].Payload)
	}
	if len(lines) != 2 || !strings.Contains(lines[0], "x***") || lines[1] != "after" {
		t.Fatalf("%d lines; the cut line ends %q", len(lines), lines[0][max(0, len(lines[0])-60):])
	}
	half := secretValue[:8]
	for _, fr := range frames {
		if strings.Contains(string(fr.Payload), half) {
			t.Fatalf("event %s holds the first half of the value", fr.Event)
		}
	}
	// The stored output, not only the preview the API shows.
	row, err := f.d.Store().GetRun(context.Background(), pid, runID)
	if err != nil {
		t.Fatal(err)
	}
	out := string(row.Nodes[0].Output)
	if !strings.Contains(out, "x*** … [line truncated") || strings.Contains(out, half) {
		t.Fatalf("stored output around the cut: %q", out[max(0, strings.Index(out, "[line")-60):min(len(out), strings.Index(out, "[line")+40)])
	}
}
