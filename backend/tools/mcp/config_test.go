package mcp

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

func envOf(m map[string]string) expandEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestExpand(t *testing.T) {
	env := envOf(map[string]string{"HOME": "/home/u", "TOKEN": "s3cret", "EMPTY": ""})
	claude := expander{dialect: dialectClaude, dir: "/work/proj", env: env}
	editor := expander{dialect: dialectEditor, dir: "/work/proj", env: env}
	cases := []struct {
		x       expander
		in, out string
		err     string
	}{
		{claude, "plain", "plain", ""},
		{claude, "Bearer ${TOKEN}", "Bearer s3cret", ""},
		{claude, "${MISSING:-fallback}", "fallback", ""},
		{claude, "${EMPTY:-fallback}", "fallback", ""},
		{claude, "${EMPTY}", "", ""},
		{claude, "${MISSING:-${TOKEN}}", "s3cret", ""},
		{claude, "${MISSING:-}", "", ""},
		{claude, "$TOKEN and $ alone", "$TOKEN and $ alone", ""},
		{claude, "${MISSING}", "", "environment variable MISSING is not set"},
		{claude, "${TOKEN", "", "unterminated"},
		{claude, "${workspaceFolder}", "", "workspaceFolder is not set"},
		{claude, "${not valid}", "", "not a valid variable reference"},
		{editor, "${workspaceFolder}/bin", "/work/proj/bin", ""},
		{editor, "${workspaceFolderBasename}", "proj", ""},
		{editor, "${userHome}/.cache", "/home/u/.cache", ""},
		{editor, "${env:TOKEN}", "s3cret", ""},
		{editor, "${env:MISSING}", "", ""},
		{editor, "${TOKEN}${pathSeparator}x", "s3cret" + string(filepath.Separator) + "x", ""},
		{editor, "${input:api-key}", "", "input variables"},
		{editor, "${command:pick}", "", "not supported"},
	}
	for _, c := range cases {
		got, err := c.x.expand("args[0]", c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "args[0]") {
				t.Errorf("expand(%q) error = %v, want one containing %q and the field", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.out {
			t.Errorf("expand(%q) = %q, %v; want %q", c.in, got, err, c.out)
		}
	}
}

func TestStripJSONC(t *testing.T) {
	in := `{
  // a comment with "quotes" and , commas
  "mcpServers": { /* block
  comment */ "a": {"command": "x // not a comment", "args": ["/*", "y",],},
  },
}`
	var v map[string]map[string]map[string]any
	if err := json.Unmarshal(stripJSONC([]byte(in)), &v); err != nil {
		t.Fatalf("%v\n%s", err, stripJSONC([]byte(in)))
	}
	a := v["mcpServers"]["a"]
	if a["command"] != "x // not a comment" || len(a["args"].([]any)) != 2 {
		t.Errorf("decoded %v", v)
	}
	if len(stripJSONC([]byte(in))) != len(in) {
		t.Error("stripping must keep offsets")
	}
}

func TestParseConfigs(t *testing.T) {
	dir := "/work/proj"
	files := []fileState{
		{exists: true, data: []byte(`{"mcpServers": {
			"shared": {"command": "a"},
			"http1": {"type": "http", "url": "https://example.test/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}},
			"bad-type": {"type": "carrier-pigeon"},
			"no-cmd": {"args": ["x"]},
			"needs-env": {"command": "a", "env": {"K": "${NOPE}"}},
			"cwd": {"command": "./bin/srv", "cwd": "sub", "timeout": 1500, "env": {"N": 3, "GONE": null}}
		}}`)},
		{exists: true, data: []byte(`{"mcpServers": {"shared": {"command": "b"}, "inferred": {"url": "http://127.0.0.1:1/mcp"}}}`)},
		{exists: true, data: []byte(`{"servers": {"vs": {"type": "stdio", "command": "${workspaceFolder}/run", "args": ["${env:TOKEN}"]}}}`)},
	}
	got := parseConfigs(dir, files, envOf(map[string]string{"TOKEN": "t0k"}), nil)
	if len(got.problems) != 1 || got.problems[0].Server != "shared" || got.problems[0].Status != StatusIgnored ||
		got.problems[0].File != ".cursor/mcp.json" || !strings.Contains(got.problems[0].Error, ".mcp.json, which takes precedence") {
		t.Errorf("problems = %+v", got.problems)
	}
	if got.servers["shared"].Command != "a" {
		t.Errorf(".mcp.json must win: %+v", got.servers["shared"])
	}
	if h := got.servers["http1"]; h.Type != typeHTTP || h.Headers["Authorization"] != "Bearer t0k" {
		t.Errorf("http1 = %+v", h)
	}
	if got.servers["inferred"].Type != typeHTTP {
		t.Errorf("url without type is streamable HTTP: %+v", got.servers["inferred"])
	}
	for name, want := range map[string]string{"bad-type": "unknown type", "no-cmd": `needs either "command"`, "needs-env": "NOPE is not set"} {
		if err := got.errs[name]; err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), ".mcp.json: server \""+name) {
			t.Errorf("%s: err = %v, want %q", name, err, want)
		}
	}
	c := got.servers["cwd"]
	if c.Cwd != filepath.Join(dir, "sub") || c.TimeoutMs != 1500 || c.Env["N"] != "3" || len(c.Unset) != 1 || c.Unset[0] != "GONE" {
		t.Errorf("cwd = %+v", c)
	}
	vs := got.servers["vs"]
	if vs.Command != "/work/proj/run" || vs.Args[0] != "t0k" || vs.File != ".vscode/mcp.json" || vs.Cwd != dir {
		t.Errorf("vs = %+v", vs)
	}
}

func TestBrokenFiles(t *testing.T) {
	for _, c := range []struct{ data, want string }{
		{"{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\"\n  }\n", "invalid JSON"},
		{"{\"mcpServers\": {\"a\": {\"command\": \"x\"}} garbage", "line 1, column"},
		{"[1, 2]", "expected a JSON object"},
		{`{"mcpServers": ["a"]}`, `"mcpServers" must be an object`},
		{`{"mcpServers": {"a": "npx server"}}`, "expected an object"},
		{`{"mcpServers": {"a": {"command": "x", "args": "--flag"}}}`, `field "args": expected an array, got string`},
	} {
		got := parseConfigs("/p", []fileState{{exists: true, data: []byte(c.data)}, {}, {}}, envOf(nil), nil)
		msg := ""
		for _, pb := range got.problems {
			msg += pb.Error
		}
		for _, err := range got.errs {
			msg += err.Error()
		}
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, ".mcp.json") {
			t.Errorf("%q: got %q, want %q", c.data, msg, c.want)
		}
	}
	// An empty file or one without servers declares nothing and is fine.
	for _, data := range []string{"", "  \n", `{}`, `{"mcpServers": null}`} {
		got := parseConfigs("/p", []fileState{{exists: true, data: []byte(data)}, {}, {}}, envOf(nil), nil)
		if len(got.problems)+len(got.errs)+len(got.servers) != 0 {
			t.Errorf("%q: %+v", data, got)
		}
	}
}

func TestBrokenConfigFileIsReportedAndRecovers(t *testing.T) {
	src, rec := newTestSource(t, Options{})
	p := testProject(t, "{\n  \"mcpServers\": {\n    \"t\": {\"command\": \"x\",}\n    oops\n}")
	writeFile(t, p.Path, ".cursor/mcp.json", `{"mcpServers": {"c": {"command": "`+serverBin+`"}}}`)
	list, err := src.Tools(context.Background(), p)
	if err != nil {
		t.Fatalf("a broken file must not fail the listing: %v", err)
	}
	if findTool(list, "mcp:c/echo") == nil {
		t.Errorf("the valid file's servers are still listed: %v", toolNames(list))
	}
	st := src.Status(p.ID)
	if len(st) < 1 || st[0].Server != "" || st[0].File != ".mcp.json" || st[0].Status != StatusFailed || !strings.Contains(st[0].Error, "line 4, column 5") {
		t.Errorf("Status = %+v", st)
	}
	if f := src.Failures(p.ID); len(f) != 1 || f[0].Prefix != "mcp:" || !strings.Contains(f[0].Message, ".mcp.json: invalid JSON") {
		t.Errorf("Failures = %+v", f)
	}
	found := false
	for _, s := range rec.statuses() {
		found = found || (s.File == ".mcp.json" && s.Status == StatusFailed && strings.Contains(s.Error, "invalid JSON"))
	}
	if !found {
		t.Errorf("no tools.status event for the broken file: %+v", rec.statuses())
	}

	// Fixing the file brings its server in and announces the change.
	changed := rec.count(flow.EventToolsChanged)
	writeFile(t, p.Path, ".mcp.json", stdioConfig(map[string][]string{"t": nil}))
	list, err = src.Tools(context.Background(), p)
	if err != nil || findTool(list, "mcp:t/echo") == nil {
		t.Fatalf("after the fix: %v %v", toolNames(list), err)
	}
	if rec.count(flow.EventToolsChanged) <= changed {
		t.Error("no tools.changed after the fix")
	}
	for _, s := range src.Status(p.ID) {
		if s.Status == StatusFailed {
			t.Errorf("still failing after the fix: %+v", s)
		}
	}
	if f := src.Failures(p.ID); len(f) != 0 {
		t.Errorf("Failures after the fix = %+v", f)
	}
}

func TestEnvExpansionReachesTheServer(t *testing.T) {
	env := map[string]string{"FW_GREETING": "hello", "FW_TOKEN": "t0k", "HOME": "/home/test"}
	src, _ := newTestSource(t, Options{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Environ:   func() []string { return []string{"PATH=/usr/bin:/bin", "FW_BASE=base", "FW_DROP=x"} },
	})
	p := testProject(t, `{"mcpServers": {"t": {
		"command": "`+serverBin+`",
		"args": ["greeting=${FW_GREETING}", "${FW_MISSING:-dflt}"],
		"env": {"GREETING": "${FW_GREETING}, world", "TOKEN": "Bearer ${FW_TOKEN}", "FALLBACK": "${FW_NONE:-none}", "FW_DROP": null},
		"cwd": "sub"}}}`)
	writeFile(t, p.Path, "sub/.keep", "")
	writeFile(t, p.Path, ".vscode/mcp.json", `{"servers": {"v": {"type": "stdio", "command": "`+serverBin+`",
		"args": ["${workspaceFolderBasename}", "${env:FW_TOKEN}", "${userHome}"], "cwd": "${workspaceFolder}"}}}`)

	out := mustRun(t, src, p, "mcp:t/env", map[string]any{"names": []string{"GREETING", "TOKEN", "FALLBACK", "FW_BASE", "FW_DROP"}})
	want := map[string]any{"GREETING": "hello, world", "TOKEN": "Bearer t0k", "FALLBACK": "none", "FW_BASE": "base", "FW_DROP": ""}
	if b, _ := json.Marshal(out["structured"]); string(b) != mustJSON(want) {
		t.Errorf("env = %s, want %s", b, mustJSON(want))
	}
	info := mustRun(t, src, p, "mcp:t/info", nil)["structured"].(map[string]any)
	if mustJSON(info["args"]) != `["greeting=hello","dflt"]` || info["cwd"] != filepath.Join(p.Path, "sub") {
		t.Errorf("info = %v", info)
	}
	vinfo := mustRun(t, src, p, "mcp:v/info", nil)["structured"].(map[string]any)
	if mustJSON(vinfo["args"]) != mustJSON([]string{filepath.Base(p.Path), "t0k", "/home/test"}) || vinfo["cwd"] != p.Path {
		t.Errorf("vscode info = %v", vinfo)
	}

	// A missing variable without default fails that server with a clear reason.
	writeFile(t, p.Path, ".mcp.json", `{"mcpServers": {"t": {"command": "`+serverBin+`", "env": {"K": "${FW_UNSET}"}}}}`)
	if _, err := src.Tools(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(context.Background(), src, p, "mcp:t/echo", nil)
	if flow.ErrorCode(err) != flow.EINVALID || !strings.Contains(flow.ErrorMessage(err), "FW_UNSET is not set") {
		t.Errorf("missing variable: %v", err)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestPrecedenceAcrossFiles(t *testing.T) {
	src, _ := newTestSource(t, Options{})
	p := testProject(t, stdioConfig(map[string][]string{"dup": {"from-mcp-json"}}))
	writeFile(t, p.Path, ".vscode/mcp.json", `{"servers": {"dup": {"command": "`+serverBin+`", "args": ["from-vscode"]}}}`)
	info := mustRun(t, src, p, "mcp:dup/info", nil)["structured"].(map[string]any)
	if mustJSON(info["args"]) != `["from-mcp-json"]` {
		t.Errorf(".mcp.json must win, server got %v", info["args"])
	}
	var ignored *ServerStatus
	for _, s := range src.Status(p.ID) {
		if s.Status == StatusIgnored {
			ignored = &s
		}
	}
	if ignored == nil || ignored.Server != "dup" || ignored.File != ".vscode/mcp.json" {
		t.Errorf("Status = %+v", src.Status(p.ID))
	}
}

func TestConfigChangeRestartsServer(t *testing.T) {
	src, rec := newTestSource(t, Options{PollInterval: 20 * 1e6})
	p := testProject(t, stdioConfig(map[string][]string{"t": {"v1"}, "gone": nil}))
	if _, err := src.Tools(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	pid := serverPID(t, src, p, "t")
	gonePID := serverPID(t, src, p, "gone")
	changed := rec.count(flow.EventToolsChanged)

	// The poller notices the edit without anyone asking.
	writeFile(t, p.Path, ".mcp.json", stdioConfig(map[string][]string{"t": {"v2"}}))
	waitGone(t, pid, gonePID)
	waitUntil(t, "tools.changed", func() bool { return rec.count(flow.EventToolsChanged) > changed })
	info := mustRun(t, src, p, "mcp:t/info", nil)["structured"].(map[string]any)
	if mustJSON(info["args"]) != `["v2"]` {
		t.Errorf("server runs with %v", info["args"])
	}
	if _, _, err := run(context.Background(), src, p, "mcp:gone/echo", nil); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Errorf("removed server: %v", err)
	}
}
