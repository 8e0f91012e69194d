package daemon_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// markerServer writes an .mcp.json whose server "name" first leaves a
// marker file, then runs the real MCP test server. The marker is how the
// tests see whether anything of the folder was executed.
func markerServer(t *testing.T, bin, name string) string {
	t.Helper()
	marker := filepath.Join(t.TempDir(), name+".started")
	return marker + "\x00" + `"` + name + `": {"command": "sh", "args": ["-c", "touch '` + marker + `'; exec '` + bin + `'"]}`
}

func writeMCP(t *testing.T, dir string, entries ...string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, ".mcp.json"), []byte(`{"mcpServers": {`+strings.Join(entries, ",")+`}}`), 0o644); err != nil {
		t.Fatal(err)
	}
}

func splitMarker(s string) (marker, entry string) {
	marker, entry, _ = strings.Cut(s, "\x00")
	return marker, entry
}

// processGone waits until pid no longer exists.
func processGone(pid int) bool {
	deadline := time.Now().Add(hangGuard)
	for processExists(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// waitFor polls cond until it holds or hangGuard passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serverStatus returns the status of one MCP server from the REST catalog.
func serverStatus(t *testing.T, f *fixture, projectID, server string) (string, map[string]any) {
	t.Helper()
	code, cat, _ := do(t, "GET", f.d.URL()+"/api/projects/"+projectID+"/tools", f.token, "")
	if code != 200 {
		t.Fatalf("tools: %d %v", code, cat)
	}
	servers, _ := cat["servers"].([]any)
	for _, s := range servers {
		m := s.(map[string]any)
		if m["server"] == server {
			return m["status"].(string), cat
		}
	}
	return "", cat
}

// An untrusted project whose .mcp.json would leave a marker: opening it,
// listing its tools (REST and WebSocket), subscribing to tools:, and trying
// to run (REST and WebSocket) execute nothing; the servers are listed as
// "untrusted", runs answer 403 untrusted. Once trusted, the server starts.
func TestUntrustedProjectRunsNothingUntilTrusted(t *testing.T) {
	f := newFixture(t)
	bin := buildMCPTestServer(t, t.TempDir())
	dir := t.TempDir()
	marker, entry := splitMarker(markerServer(t, bin, "test"))
	writeMCP(t, dir, entry)
	shellMarker := filepath.Join(t.TempDir(), "shell.ran")
	wf := `{"name":"w","nodes":[{"id":"a","tool":"shell","params":{"command":"touch '` + shellMarker + `'"}}],"edges":[]}`
	if err := os.MkdirAll(filepath.Join(dir, ".flowweaver", "workflows"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".flowweaver", "workflows", "w.json"), []byte(wf), 0o644); err != nil {
		t.Fatal(err)
	}

	code, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"path":"`+dir+`"}`)
	if code != 201 || p["trusted"] != false {
		t.Fatalf("create: %d %v (want trusted false by default)", code, p)
	}
	id := p["id"].(string)

	st, cat := serverStatus(t, f, id, "test")
	b, _ := json.Marshal(cat)
	if st != "untrusted" || !strings.Contains(string(b), `"name":"shell"`) {
		t.Fatalf("REST catalog of an untrusted project: %s", b)
	}

	c := dial(t, f.d, f.token, id)
	sub := c.subscribe("tools:"+id, nil)
	if !strings.Contains(string(sub.Payload), `"untrusted"`) {
		t.Fatalf("tools: snapshot: %s", sub.Payload)
	}
	ref := c.send("tools.list", "", nil)
	fs := c.until(func(fr frame) bool { return fr.Ref == ref })
	if last := fs[len(fs)-1]; last.Event != "tools.list" || !strings.Contains(string(last.Payload), `"status":"untrusted"`) ||
		!strings.Contains(string(last.Payload), `"name":"shell"`) {
		t.Fatalf("WS tools.list: %s %s", last.Event, last.Payload)
	}

	code, body, _ := do(t, "POST", f.d.URL()+"/api/projects/"+id+"/workflows/w/runs", f.token, `{"inputs":{}}`)
	if code != 403 || body["error"] != "untrusted" || body["message"] == "" {
		t.Fatalf("REST run of an untrusted project: %d %v", code, body)
	}
	c.subscribe("project:"+id, nil)
	ref = c.send("run.start", "project:"+id, map[string]any{"workflowId": "w"})
	fs = c.until(func(fr frame) bool { return fr.Ref == ref })
	var e struct{ Code, Message string }
	if err := json.Unmarshal(fs[len(fs)-1].Payload, &e); err != nil {
		t.Fatal(err)
	}
	if fs[len(fs)-1].Event != "error" || e.Code != "untrusted" {
		t.Fatalf("WS run.start of an untrusted project: %s %s", fs[len(fs)-1].Event, fs[len(fs)-1].Payload)
	}
	code, runs, _ := do(t, "GET", f.d.URL()+"/api/projects/"+id+"/runs", f.token, "")
	if code != 200 || len(runs["runs"].([]any)) != 0 {
		t.Fatalf("a refused run was recorded: %d %v", code, runs)
	}

	// The review shows exactly what would run, unexpanded.
	code, rv, _ := do(t, "GET", f.d.URL()+"/api/projects/"+id+"/trust", f.token, "")
	rb, _ := json.Marshal(rv)
	if code != 200 || rv["trusted"] != false || !strings.Contains(string(rb), `"command":"sh"`) ||
		!strings.Contains(string(rb), "touch") || !strings.Contains(string(rb), `"approval":"new"`) ||
		!strings.Contains(string(rb), `"id":"w"`) || !strings.Contains(string(rb), shellMarker) {
		t.Fatalf("review: %d %s", code, rb)
	}

	// Give anything that was (wrongly) started time to leave its mark.
	time.Sleep(500 * time.Millisecond)
	if exists(marker) || exists(shellMarker) {
		t.Fatalf("something of the untrusted folder ran (mcp marker %v, shell marker %v)", exists(marker), exists(shellMarker))
	}

	// Trust: the open project's server starts without anybody asking.
	code, p, _ = do(t, "PUT", f.d.URL()+"/api/projects/"+id+"/trust", f.token, `{"trusted":true}`)
	if code != 200 || p["trusted"] != true {
		t.Fatalf("trust: %d %v", code, p)
	}
	waitFor(t, "the MCP server to start after trust", func() bool { return exists(marker) })
	waitFor(t, "the server to be ready", func() bool { st, _ := serverStatus(t, f, id, "test"); return st == "ready" })
	c.until(func(fr frame) bool {
		return fr.Event == "project.trust" && strings.Contains(string(fr.Payload), `"trusted":true`)
	})
	f.startRun(id, "w")
	waitFor(t, "the shell node to run", func() bool { return exists(shellMarker) })
}

// ${env:X} and ${X} of an untrusted project's MCP config are never
// expanded: a URL server whose URL and headers carry a variable of the
// daemon's environment is not contacted, and its preview shows the
// reference as written. After trust it is contacted with the value.
func TestUntrustedConfigIsNotExpanded(t *testing.T) {
	const secret = "s3cret-value-of-the-user"
	t.Setenv("FW_TRUST_TEST_SECRET", secret)
	var hits atomic.Int64
	var sawSecret atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if strings.Contains(r.URL.RawQuery, secret) || r.Header.Get("X-Token") == secret {
			sawSecret.Store(true)
		}
		http.Error(w, "no MCP here", http.StatusNotFound)
	}))
	defer srv.Close()
	f := newFixture(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ".vscode"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := `{"servers": {"leak": {"type": "http", "url": "` + srv.URL + `/mcp?k=${env:FW_TRUST_TEST_SECRET}", "headers": {"X-Token": "${FW_TRUST_TEST_SECRET}"}}}}`
	if err := os.WriteFile(filepath.Join(dir, ".vscode", "mcp.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	_, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"path":"`+dir+`"}`)
	id := p["id"].(string)
	c := dial(t, f.d, f.token, id)
	c.subscribe("tools:"+id, nil)
	st, cat := serverStatus(t, f, id, "leak")
	_, rv, _ := do(t, "GET", f.d.URL()+"/api/projects/"+id+"/trust", f.token, "")
	rb, _ := json.Marshal(rv)
	cb, _ := json.Marshal(cat)
	if st != "untrusted" || strings.Contains(string(rb)+string(cb), secret) {
		t.Fatalf("status %q; review %s; catalog %s", st, rb, cb)
	}
	if !strings.Contains(string(rb), `${env:FW_TRUST_TEST_SECRET}`) || !strings.Contains(string(rb), `"variables":["FW_TRUST_TEST_SECRET"]`) ||
		!strings.Contains(string(rb), `"headers":["X-Token"]`) {
		t.Fatalf("the review does not show the reference as written: %s", rb)
	}
	time.Sleep(500 * time.Millisecond)
	if hits.Load() != 0 {
		t.Fatalf("the URL of an untrusted config was contacted %d times", hits.Load())
	}
	do(t, "PUT", f.d.URL()+"/api/projects/"+id+"/trust", f.token, `{"trusted":true}`)
	waitFor(t, "the trusted server to be contacted", func() bool { return hits.Load() > 0 })
	if !sawSecret.Load() {
		t.Fatal("after trust the variable was not expanded")
	}
}

// After trust, an entry added or changed later (a git pull) is not started
// until approved; approving it by fingerprint starts it; revoking trust
// stops the running servers, forgets the approvals and refuses runs again.
func TestChangedEntryWaitsForApprovalAndRevokeStops(t *testing.T) {
	f := newFixture(t)
	bin := buildMCPTestServer(t, t.TempDir())
	dir := t.TempDir()
	m1, e1 := splitMarker(markerServer(t, bin, "one"))
	writeMCP(t, dir, e1)
	code, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"path":"`+dir+`","trusted":true}`)
	if code != 201 || p["trusted"] != true {
		t.Fatalf("create trusted: %d %v", code, p)
	}
	id := p["id"].(string)
	if st, cat := serverStatus(t, f, id, "one"); st != "ready" || !exists(m1) {
		t.Fatalf("approved server: %q %v", st, cat)
	}

	// A pull adds a server: it waits, and listing tools does not start it.
	m2, e2 := splitMarker(markerServer(t, bin, "two"))
	writeMCP(t, dir, e1, e2)
	st, cat := serverStatus(t, f, id, "two")
	if st != "pending_approval" {
		t.Fatalf("added entry: %q %v", st, cat)
	}
	code, body, _ := do(t, "POST", f.d.URL()+"/api/projects/"+id+"/trust/approvals", f.token, `{"fingerprint":"sha256:nope"}`)
	if code != 409 || body["error"] != "conflict" {
		t.Fatalf("approving an unknown fingerprint: %d %v", code, body)
	}
	time.Sleep(300 * time.Millisecond)
	if exists(m2) {
		t.Fatal("an entry added after trust started without approval")
	}
	_, rv, _ := do(t, "GET", f.d.URL()+"/api/projects/"+id+"/trust", f.token, "")
	var fp2 string
	for _, s := range rv["mcpServers"].([]any) {
		m := s.(map[string]any)
		want := map[string]string{"one": "approved", "two": "new"}[m["server"].(string)]
		if m["approval"] != want {
			t.Fatalf("approval of %v: %v, want %s", m["server"], m["approval"], want)
		}
		if m["server"] == "two" {
			fp2 = m["fingerprint"].(string)
		}
	}
	code, _, _ = do(t, "POST", f.d.URL()+"/api/projects/"+id+"/trust/approvals", f.token, `{"fingerprint":"`+fp2+`"}`)
	if code != 200 {
		t.Fatalf("approve: %d", code)
	}
	waitFor(t, "the approved server to start", func() bool { return exists(m2) })

	// Changing an approved entry makes it wait again, and stops the old one.
	_ = os.Remove(m1)
	changed := strings.Replace(e1, "touch", "FOO=1 touch", 1)
	writeMCP(t, dir, changed, e2)
	waitFor(t, "the changed entry to wait for approval", func() bool { st, _ := serverStatus(t, f, id, "one"); return st == "pending_approval" })
	time.Sleep(300 * time.Millisecond)
	if exists(m1) {
		t.Fatal("a changed entry restarted without approval")
	}
	_, rv, _ = do(t, "GET", f.d.URL()+"/api/projects/"+id+"/trust", f.token, "")
	for _, s := range rv["mcpServers"].([]any) {
		if m := s.(map[string]any); m["server"] == "one" && m["approval"] != "changed" {
			t.Fatalf("changed entry: %v", m)
		}
	}

	// Revoke: the running server is stopped, runs are refused again.
	f.workflow(id, "w", `{"name":"w","nodes":[{"id":"a","tool":"log","params":{"message":"x"}}],"edges":[]}`)
	f.startRun(id, "w")
	_, before, _ := do(t, "GET", f.d.URL()+"/api/projects/"+id+"/tools", f.token, "")
	var pid float64
	for _, s := range before["servers"].([]any) {
		if m := s.(map[string]any); m["server"] == "two" {
			pid, _ = m["pid"].(float64)
		}
	}
	if pid <= 0 {
		t.Fatalf("no pid for the running server: %v", before["servers"])
	}
	code, p, _ = do(t, "PUT", f.d.URL()+"/api/projects/"+id+"/trust", f.token, `{"trusted":false}`)
	if code != 200 || p["trusted"] != false {
		t.Fatalf("revoke: %d %v", code, p)
	}
	if !processGone(int(pid)) {
		t.Fatalf("MCP server %v still runs after revoke returned", pid)
	}
	for _, name := range []string{"one", "two"} {
		if st, _ := serverStatus(t, f, id, name); st != "untrusted" {
			t.Fatalf("%s after revoke: %q", name, st)
		}
	}
	if code, body, _ := do(t, "POST", f.d.URL()+"/api/projects/"+id+"/workflows/w/runs", f.token, `{}`); code != 403 || body["error"] != "untrusted" {
		t.Fatalf("run after revoke: %d %v", code, body)
	}
	// Trusting again starts from a fresh review: nothing stays approved.
	_, rv, _ = do(t, "GET", f.d.URL()+"/api/projects/"+id+"/trust", f.token, "")
	for _, s := range rv["mcpServers"].([]any) {
		if m := s.(map[string]any); m["approval"] != "new" {
			t.Fatalf("approval kept after revoke: %v", m)
		}
	}
}

// Revoking trust while a run is active cancels it: the shell node that
// sleeps is stopped and no later node runs.
func TestRevokeCancelsActiveRun(t *testing.T) {
	f := newFixture(t)
	_, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"path":"`+t.TempDir()+`","trusted":true}`)
	id := p["id"].(string)
	after := filepath.Join(t.TempDir(), "after.ran")
	started := filepath.Join(t.TempDir(), "sleep.started")
	f.workflow(id, "w", `{"name":"w","nodes":[
		{"id":"sleep","tool":"shell","params":{"command":"touch '`+started+`'; sleep 60"}},
		{"id":"after","tool":"shell","params":{"command":"touch '`+after+`'"}}],
		"edges":[{"source":"sleep","target":"after"}]}`)
	runID := f.startRun(id, "w")
	waitFor(t, "the sleeping node to start", func() bool { return exists(started) })
	if code, _, _ := do(t, "PUT", f.d.URL()+"/api/projects/"+id+"/trust", f.token, `{"trusted":false}`); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	waitFor(t, "the run to end", func() bool {
		_, r, _ := do(t, "GET", f.d.URL()+"/api/runs/"+runID, f.token, "")
		return r["status"] == "canceled" || r["status"] == "failed" || r["status"] == "succeeded"
	})
	_, r, _ := do(t, "GET", f.d.URL()+"/api/runs/"+runID, f.token, "")
	if r["status"] != "canceled" || exists(after) {
		t.Fatalf("run after revoke: %v (after node ran: %v)", r["status"], exists(after))
	}
}

// PUT /trust needs a boolean; an unknown project is 404; creating an empty
// folder from the app makes a trusted project; a non-empty one is refused.
func TestTrustBadInputAndCreatedFolders(t *testing.T) {
	f := newFixture(t)
	_, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"path":"`+t.TempDir()+`"}`)
	id := p["id"].(string)
	for _, bad := range []string{`{}`, `{"trusted":"yes"}`, `not json`, `{"trusted":true,"approve":"x"}`} {
		if code, body, _ := do(t, "PUT", f.d.URL()+"/api/projects/"+id+"/trust", f.token, bad); code != 400 || body["error"] != "bad_request" {
			t.Errorf("%s: %d %v", bad, code, body)
		}
	}
	if _, p, _ := do(t, "GET", f.d.URL()+"/api/projects/"+id, f.token, ""); p["trusted"] != false {
		t.Fatalf("bad input changed trust: %v", p)
	}
	if code, _, _ := do(t, "PUT", f.d.URL()+"/api/projects/nope/trust", f.token, `{"trusted":true}`); code != 404 {
		t.Fatalf("unknown project: %d", code)
	}
	if code, body, _ := do(t, "POST", f.d.URL()+"/api/projects/"+id+"/trust/approvals", f.token, `{"fingerprint":"x"}`); code != 409 && code != 403 {
		t.Fatalf("approval on an untrusted project: %d %v", code, body)
	}

	parent := t.TempDir()
	newDir := filepath.Join(parent, "fresh")
	code, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"path":"`+newDir+`","create":true}`)
	if code != 201 || p["trusted"] != true {
		t.Fatalf("create folder: %d %v", code, p)
	}
	if st, err := os.Stat(newDir); err != nil || !st.IsDir() {
		t.Fatalf("folder not created: %v", err)
	}
	full := filepath.Join(parent, "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, ".mcp.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"path":"`+full+`","create":true}`); code != 409 {
		t.Fatalf("create on a non-empty folder: %d %v", code, body)
	}
	if code, body, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"path":"`+filepath.Join(parent, "no", "such")+`","create":true}`); code != 400 {
		t.Fatalf("create without parent: %d %v", code, body)
	}
}

// Trust approves what the user was shown: an entry that appears between
// the review and the click ("approve" lists the reviewed fingerprints)
// waits for its own approval. Reopening with trusted:true trusts an
// untrusted project; trusted:false never revokes.
func TestTrustApprovesOnlyWhatWasShown(t *testing.T) {
	f := newFixture(t)
	bin := buildMCPTestServer(t, t.TempDir())
	dir := t.TempDir()
	m1, e1 := splitMarker(markerServer(t, bin, "shown"))
	writeMCP(t, dir, e1)
	_, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"path":"`+dir+`"}`)
	id := p["id"].(string)
	_, rv, _ := do(t, "GET", f.d.URL()+"/api/projects/"+id+"/trust", f.token, "")
	shown := rv["mcpServers"].([]any)[0].(map[string]any)["fingerprint"].(string)

	// Meanwhile a second entry lands in the folder.
	m2, e2 := splitMarker(markerServer(t, bin, "sneaked"))
	writeMCP(t, dir, e1, e2)
	code, p, _ := do(t, "PUT", f.d.URL()+"/api/projects/"+id+"/trust", f.token, `{"trusted":true,"approve":["`+shown+`"]}`)
	if code != 200 || p["trusted"] != true {
		t.Fatalf("trust: %d %v", code, p)
	}
	if st, _ := serverStatus(t, f, id, "sneaked"); st != "pending_approval" {
		t.Fatalf("entry added after the review: %q", st)
	}
	waitFor(t, "the reviewed server to start", func() bool { return exists(m1) })
	time.Sleep(300 * time.Millisecond)
	if exists(m2) {
		t.Fatal("an entry the user never saw was started")
	}

	// Reopening: false does not revoke; true on an untrusted project trusts it.
	if code, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"path":"`+dir+`","trusted":false}`); code != 200 || p["trusted"] != true {
		t.Fatalf("reopen with trusted:false: %d %v", code, p)
	}
	other := t.TempDir()
	_, p, _ = do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"path":"`+other+`"}`)
	if code, again, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"path":"`+other+`","trusted":true}`); code != 200 || again["trusted"] != true || again["id"] != p["id"] {
		t.Fatalf("reopen with trusted:true: %d %v", code, again)
	}
	if _, list, _ := do(t, "GET", f.d.URL()+"/api/projects", f.token, ""); !strings.Contains(fmt.Sprint(list), "trusted:true") {
		t.Fatalf("listing lacks trusted: %v", list)
	}
}
