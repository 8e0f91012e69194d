package tools

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// fakeSource is a real Source implementation for routing tests (tools/mcp
// provides the production one).
type fakeSource struct {
	tools   []flow.Tool
	listErr error
	panics  bool
	calls   []string
}

func (s *fakeSource) Tools(ctx context.Context, p flow.Project) ([]flow.Tool, error) {
	if s.panics {
		panic("boom")
	}
	return s.tools, s.listErr
}

func (s *fakeSource) Run(ctx context.Context, name string, call Call) (any, error) {
	s.calls = append(s.calls, name)
	call.Log("stdout", "from "+name)
	return map[string]any{"tool": name}, nil
}

var builtinNames = []string{"delay", "shell", "http", "file.read", "file.write", "transform", "log", "respond", "if", "switch", "workflow", "forEach"}

func TestListToolsAndSchemas(t *testing.T) {
	reg := NewRegistry(Options{})
	good := &fakeSource{tools: []flow.Tool{{Name: "mcp:git/status"}, {Name: "mcp:fs/read"}, {Name: "noprefix"}}}
	if err := reg.Register("mcp:", good); err != nil {
		t.Fatal(err)
	}
	bad := &fakeSource{listErr: flow.Errorf(flow.EUNAVAILABLE, "server x is down")}
	if err := reg.Register("ext:", bad); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register("boom:", &fakeSource{panics: true}); err != nil {
		t.Fatal(err)
	}
	list, err := reg.ListTools(context.Background(), testProject(t))
	var names []string
	for _, tl := range list {
		names = append(names, tl.Name)
	}
	want := append(append([]string{}, builtinNames...), "mcp:fs/read", "mcp:git/status")
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("tools = %v, want %v", names, want)
	}
	fails := Failures(err)
	if len(fails) != 3 || fails[0].Prefix != "mcp:" || !strings.Contains(fails[0].Message, "noprefix") ||
		fails[1].Prefix != "ext:" || fails[1].Message != "server x is down" ||
		fails[2].Prefix != "boom:" || !strings.Contains(fails[2].Message, "panic") {
		t.Errorf("failures = %+v", fails)
	}
	if b, _ := json.Marshal(fails[1]); string(b) != `{"source":"ext:","message":"server x is down"}` {
		t.Errorf("failure JSON = %s", b)
	}

	cat := reg.Catalog(context.Background(), testProject(t))
	if len(cat.Tools) != len(list) || len(cat.Unavailable) != 3 {
		t.Errorf("catalog = %d tools, %d unavailable", len(cat.Tools), len(cat.Unavailable))
	}
	if b, _ := json.Marshal(reg2Catalog(t)); !strings.HasPrefix(string(b), `{"tools":[{"name":"delay"`) || strings.Contains(string(b), "unavailable") {
		t.Errorf("catalog JSON = %.80s", b)
	}

	// Every built-in schema is a draft 2020-12 object schema with a title
	// and description per property and a required list.
	for _, tl := range list[:len(builtinNames)] {
		if tl.Source != "builtin" || tl.Title == "" || tl.Description == "" {
			t.Errorf("%s: incomplete description %+v", tl.Name, tl)
		}
		var s struct {
			Schema     string `json:"$schema"`
			Type       string
			Properties map[string]struct{ Title, Description string }
			Required   []string
		}
		if err := json.Unmarshal(tl.InputSchema, &s); err != nil {
			t.Fatalf("%s: schema: %v", tl.Name, err)
		}
		if s.Schema != "https://json-schema.org/draft/2020-12/schema" || s.Type != "object" || s.Required == nil || len(s.Properties) == 0 {
			t.Errorf("%s: schema = %s", tl.Name, tl.InputSchema)
		}
		for name, prop := range s.Properties {
			if prop.Title == "" || prop.Description == "" {
				t.Errorf("%s.%s lacks title/description", tl.Name, name)
			}
		}
		for _, r := range s.Required {
			if _, ok := s.Properties[r]; !ok {
				t.Errorf("%s: required %q not a property", tl.Name, r)
			}
		}
	}

	// No failing source: nil error.
	reg2 := NewRegistry(Options{})
	if _, err := reg2.ListTools(context.Background(), testProject(t)); err != nil {
		t.Errorf("err = %v", err)
	}
}

func TestRegistryRouting(t *testing.T) {
	reg := NewRegistry(Options{})
	src := &fakeSource{tools: []flow.Tool{{Name: "mcp:git/status", Title: "Git status"}}}
	if err := reg.Register("mcp:", src); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "mcp:x:", "m", "log"} {
		if err := reg.Register(bad, &fakeSource{}); err == nil {
			t.Errorf("Register(%q) accepted", bad)
		}
	}
	if err := reg.Add(logTool{}); err == nil {
		t.Error("duplicate built-in accepted")
	}

	out, rec, err := run(t, reg, testProject(t), "mcp:git/status", nil)
	if err != nil || out.(map[string]any)["tool"] != "mcp:git/status" || len(rec.get("stdout")) != 1 {
		t.Errorf("source run: %v %v %v", out, err, rec.get("stdout"))
	}
	_, _, err = run(t, reg, testProject(t), "nope", nil)
	wantCode(t, err, flow.EINVALID, `unknown tool "nope"`)
	_, _, err = run(t, reg, testProject(t), "mcp:", nil)
	wantCode(t, err, flow.EINVALID, `unknown tool "mcp:"`)

	for name, want := range map[string]bool{"shell": true, "file.read": true, "mcp:any/thing": true, "mcp:": false, "shel": false, "": false} {
		if reg.Has(name) != want {
			t.Errorf("Has(%q) = %v", name, !want)
		}
	}
	d, err := reg.Describe(context.Background(), testProject(t), "mcp:git/status")
	if err != nil || d.Title != "Git status" {
		t.Errorf("Describe source tool = %+v, %v", d, err)
	}
	d, err = reg.Describe(context.Background(), testProject(t), "delay")
	if err != nil || d.Name != "delay" || !strings.Contains(string(d.InputSchema), `"ms"`) {
		t.Errorf("Describe delay = %+v, %v", d, err)
	}
	_, err = reg.Describe(context.Background(), testProject(t), "mcp:git/nope")
	wantCode(t, err, flow.ENOTFOUND, "unknown tool")
	_, err = reg.Describe(context.Background(), testProject(t), "nope")
	wantCode(t, err, flow.ENOTFOUND, "unknown tool")
}

type panicTool struct{}

func (panicTool) Describe() flow.Tool { return flow.Tool{Name: "panic"} }
func (panicTool) Run(context.Context, Call) (any, error) {
	panic("tool bug")
}

func TestRunRecoversPanic(t *testing.T) {
	reg := NewRegistry(Options{})
	if err := reg.Add(panicTool{}); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, reg, testProject(t), "panic", nil)
	if err == nil || flow.ErrorCode(err) != flow.EINTERNAL || !strings.Contains(err.Error(), "tool bug") {
		t.Errorf("err = %v", err)
	}
}

func TestParamProblems(t *testing.T) {
	reg := NewRegistry(Options{})
	if p := reg.ParamProblems("delay", map[string]any{"ms": "{{ inputs.wait }}"}); p != nil {
		t.Errorf("reference rejected: %v", p)
	}
	p := reg.ParamProblems("delay", map[string]any{"ms": -1.0, "extra": 1.0})
	if len(p) != 2 || !strings.Contains(p[0], "ms must be at least 0") || !strings.Contains(p[1], `"extra" is not a param`) {
		t.Errorf("problems = %v", p)
	}
	if p := reg.ParamProblems("shell", map[string]any{}); len(p) != 1 || !strings.Contains(p[0], "command is required") {
		t.Errorf("problems = %v", p)
	}
	if p := reg.ParamProblems("mcp:x/y", map[string]any{"anything": 1}); p != nil {
		t.Errorf("source tool checked: %v", p)
	}
}

func TestDelay(t *testing.T) {
	fire := make(chan time.Time, 1)
	var asked time.Duration
	reg := NewRegistry(Options{After: func(d time.Duration) <-chan time.Time { asked = d; return fire }})
	fire <- time.Now()
	out, _, err := run(t, reg, testProject(t), "delay", map[string]any{"ms": 1500.0})
	if err != nil || asked != 1500*time.Millisecond || out.(map[string]any)["ms"] != int64(1500) {
		t.Errorf("delay: %v %v asked %v", out, err, asked)
	}
	// A string from a {{ }} template is accepted.
	fire <- time.Now()
	if _, _, err := run(t, reg, testProject(t), "delay", map[string]any{"ms": "20"}); err != nil || asked != 20*time.Millisecond {
		t.Errorf("string ms: %v asked %v", err, asked)
	}

	for _, c := range []struct {
		params map[string]any
		msg    string
	}{
		{map[string]any{}, "ms is required"},
		{map[string]any{"ms": 1.5}, "ms must be an integer, got a number 1.5"},
		{map[string]any{"ms": "soon"}, `ms must be an integer, got a string "soon"`},
		{map[string]any{"ms": -5.0}, "ms must be at least 0"},
		{map[string]any{"ms": 1e12}, "ms must be at most 604800000"},
	} {
		_, _, err := run(t, reg, testProject(t), "delay", c.params)
		wantCode(t, err, flow.EINVALID, c.msg)
	}

	// Cancel ends the wait (the timer never fires here).
	ctx, cancel := context.WithCancel(context.Background())
	go cancel()
	_, err = reg.Run(ctx, "delay", Call{Params: map[string]any{"ms": 60000.0}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	wantCode(t, err, flow.EUNAVAILABLE, "delay: canceled")
}

func TestDelayRealTimer(t *testing.T) {
	reg := NewRegistry(Options{})
	if _, _, err := run(t, reg, testProject(t), "delay", map[string]any{"ms": 1.0}); err != nil {
		t.Fatal(err)
	}
}

func TestLog(t *testing.T) {
	reg := NewRegistry(Options{})
	out, rec, err := run(t, reg, testProject(t), "log", map[string]any{"message": "line 1\r\nline 2\n"})
	if err != nil || out.(map[string]any)["message"] != "line 1\r\nline 2\n" {
		t.Fatalf("log: %v %v", out, err)
	}
	if got := rec.get("stdout"); strings.Join(got, "|") != "line 1|line 2" {
		t.Errorf("lines = %q", got)
	}
	_, rec, _ = run(t, reg, testProject(t), "log", map[string]any{"message": map[string]any{"a": []any{1.0}}})
	if got := rec.get("stdout"); len(got) != 1 || got[0] != `{"a":[1]}` {
		t.Errorf("lines = %q", got)
	}
	_, _, err = run(t, reg, testProject(t), "log", map[string]any{})
	wantCode(t, err, flow.EINVALID, "message is required")
	// Log may be nil: the registry substitutes a no-op.
	if _, err := reg.Run(context.Background(), "log", Call{Params: map[string]any{"message": "x"}}); err != nil {
		t.Error(err)
	}
}

func reg2Catalog(t *testing.T) Catalog {
	return NewRegistry(Options{}).Catalog(context.Background(), testProject(t))
}

// The built-in tools that only produce output and log lines are
// self-contained (the engine may start them before their upstream
// checkpoints commit); tools with effects outside the run, tools of
// sources and added tools are not.
func TestSelfContainedTools(t *testing.T) {
	reg := NewRegistry(Options{})
	for name, want := range map[string]bool{"log": true, "transform": true, "respond": true, "delay": true,
		"shell": false, "http": false, "file.read": false, "file.write": false, "workflow": false, "forEach": false,
		"mcp:x:y": false, "nope": false} {
		if got := reg.SelfContained(name); got != want {
			t.Errorf("SelfContained(%q) = %v, want %v", name, got, want)
		}
	}
}

// Instant tools are the self-contained ones that return at once: delay
// waits, so a run with a delay node is never executed before its start
// commits.
func TestInstantTools(t *testing.T) {
	reg := NewRegistry(Options{})
	for name, want := range map[string]bool{"log": true, "transform": true, "respond": true, "delay": false,
		"shell": false, "http": false, "file.read": false, "file.write": false, "workflow": false, "forEach": false,
		"mcp:x:y": false, "nope": false} {
		if got := reg.Instant(name); got != want {
			t.Errorf("Instant(%q) = %v, want %v", name, got, want)
		}
	}
}
