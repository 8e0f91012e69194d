package daemon_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildMCPTestServer builds the repo's real MCP test server (written with
// the SDK's server API) into dir.
func buildMCPTestServer(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "mcptestserver")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/flowweaver/flowweaver/backend/tools/mcp/internal/testserver/mcptestserver")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build MCP test server: %v\n%s", err, out)
	}
	return bin
}

// A project's .mcp.json server shows up in tools.list, a workflow mixing
// built-in and MCP nodes runs over the WebSocket with references flowing
// between them, and no MCP server process outlives the daemon.
func TestMCPWorkflowOverWebSocket(t *testing.T) {
	f := newFixture(t)
	bin := buildMCPTestServer(t, t.TempDir())
	projectDir := t.TempDir()
	cfg := `{"mcpServers": {"test": {"command": "` + bin + `", "env": {"GREETING": "${FW_TEST_GREETING:-hello from env}"}}}}`
	if err := os.WriteFile(filepath.Join(projectDir, ".mcp.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	code, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"name":"mcp","path":"`+projectDir+`","trusted":true}`)
	if code != 201 {
		t.Fatalf("project: %d %v", code, p)
	}
	a := p["id"].(string)
	c := dial(t, f.d, f.token, a)

	ref := c.send("tools.list", "", nil)
	fs := c.until(func(fr frame) bool { return fr.Ref == ref })
	var list struct {
		Tools []struct{ Name, Source string }
	}
	if err := json.Unmarshal(fs[len(fs)-1].Payload, &list); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, tl := range list.Tools {
		names[tl.Name] = tl.Source
	}
	if names["mcp:test/echo"] == "" || names["mcp:test/info"] == "" || names["shell"] != "builtin" {
		t.Fatalf("tools.list: %s", fs[len(fs)-1].Payload)
	}

	f.workflow(a, "mixed", `{"name":"mixed","nodes":[
		{"id":"greet","tool":"log","params":{"message":"hi from a built-in"}},
		{"id":"echo","tool":"mcp:test/echo","params":{"text":"{{ nodes.greet.output.message }}"}},
		{"id":"env","tool":"mcp:test/env","params":{"names":["GREETING"]}},
		{"id":"info","tool":"mcp:test/info","params":{}},
		{"id":"after","tool":"shell","params":{"command":"echo got: '{{ nodes.echo.output.text }}'"}}],
		"edges":[{"source":"greet","target":"echo"},{"source":"echo","target":"after"},{"source":"greet","target":"env"},{"source":"greet","target":"info"}]}`)
	c.subscribe("project:"+a, nil)
	ref = c.send("run.start", "project:"+a, map[string]any{"workflowId": "mixed", "inputs": map[string]any{}})
	fs = c.until(func(fr frame) bool { return fr.Ref == ref })
	var queued struct{ RunID string }
	if err := json.Unmarshal(fs[len(fs)-1].Payload, &queued); err != nil {
		t.Fatal(err)
	}
	if fs[len(fs)-1].Event != "run.queued" || queued.RunID == "" {
		t.Fatalf("run.start reply: %+v %s", fs[len(fs)-1], fs[len(fs)-1].Payload)
	}
	c.subscribe("run:"+queued.RunID, ptr(0))
	var logs []string
	end := c.until(func(fr frame) bool {
		if fr.Event == "node.log" {
			var p struct{ Lines []string }
			if err := json.Unmarshal(fr.Payload, &p); err != nil {
				t.Fatal(err)
			}
			logs = append(logs, p.Lines...)
		}
		return fr.Channel == "run:"+queued.RunID && strings.HasPrefix(fr.Event, "run.") &&
			fr.Event != "run.queued" && fr.Event != "run.started"
	})
	if last := end[len(end)-1]; last.Event != "run.completed" {
		_, run, _ := do(t, "GET", f.d.URL()+"/api/runs/"+queued.RunID, f.token, "")
		t.Fatalf("run ended with %s: %v", last.Event, run)
	}
	if !strings.Contains(strings.Join(logs, "\n"), "got: hi from a built-in") {
		t.Fatalf("the MCP output did not flow to the shell node: %q", logs)
	}
	_, run, _ := do(t, "GET", f.d.URL()+"/api/runs/"+queued.RunID, f.token, "")
	var pid int
	for _, n := range run["nodes"].([]any) {
		m := n.(map[string]any)
		out, _ := json.Marshal(m["output"])
		switch m["nodeId"] {
		case "env":
			if !strings.Contains(string(out), "hello from env") {
				t.Fatalf("env expansion: %s", out)
			}
		case "info":
			var o struct {
				Structured struct{ PID int }
			}
			if err := json.Unmarshal(out, &o); err != nil {
				t.Fatal(err)
			}
			pid = o.Structured.PID
		}
	}
	if pid <= 0 {
		t.Fatalf("no pid from the info tool: %v", run["nodes"])
	}
	if !processExists(pid) {
		t.Fatalf("MCP server %d not running during the daemon's life", pid)
	}

	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := f.d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(hangGuard)
	for processExists(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("MCP server %d outlived the daemon", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A broken .mcp.json is reported in the tool list; built-ins still work.
func TestMCPBrokenConfigReported(t *testing.T) {
	f := newFixture(t)
	projectDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(projectDir, ".mcp.json"), []byte(`{"mcpServers": {"x": {"command": }`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"path":"`+projectDir+`"}`)
	if code != 201 {
		t.Fatalf("project: %d", code)
	}
	code, cat, _ := do(t, "GET", f.d.URL()+"/api/projects/"+p["id"].(string)+"/tools", f.token, "")
	b, _ := json.Marshal(cat)
	if code != 200 || !strings.Contains(string(b), `"name":"shell"`) || !strings.Contains(string(b), ".mcp.json") {
		t.Fatalf("catalog: %d %s", code, b)
	}
}
