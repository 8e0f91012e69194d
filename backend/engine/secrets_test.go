package engine_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/secrets"
)

const engineSecret = "eng-Secret-Value-4f1d2c"

// withSecrets gives the env a real secrets service (real database, real
// key file) whose trust answer is trusted.
func (e *env) withSecrets(trusted bool, values map[string]string) *secrets.Service {
	e.t.Helper()
	dir := e.t.TempDir()
	svc, err := secrets.New(e.db, func(bool) ([]byte, error) {
		k, _, err := secrets.LoadKey(filepath.Join(dir), secrets.StoreFile, nil)
		return k, err
	}, secrets.Options{Trust: secrets.TrustFunc(func(context.Context, string) (bool, error) { return trusted, nil })})
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range values {
		if err := svc.Set(context.Background(), "p1", k, v); err != nil {
			e.t.Fatal(err)
		}
	}
	return svc
}

func runOnce(t *testing.T, e *env, cfg engine.Config, wf *flow.Workflow) (*flow.Run, []flow.Event) {
	t.Helper()
	e.wfs.put("p1", wf)
	en := e.engine(cfg)
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", wf.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := wait(t, en, r.ID)
	return got, runEvents(t, e.db, "p1", r.ID)
}

// A secret reaches the tool's params; the output, the log line and a line
// cut to the line limit through the middle of the value are all masked.
func TestEngineResolvesAndMasksSecrets(t *testing.T) {
	e := newEnv(t, "p1")
	svc := e.withSecrets(true, map[string]string{"TOKEN": engineSecret})
	long := strings.Repeat("x", 100) + "{{ secrets.TOKEN }}"
	got, evs := runOnce(t, e, engine.Config{Secrets: svc, MaxLineBytes: 110}, &flow.Workflow{ID: "wf", Nodes: []flow.Node{
		{ID: "echo", Tool: "echo", Params: map[string]any{"auth": "Bearer {{ secrets.TOKEN }}", "n": 3}},
		{ID: "say", Tool: "log", Params: map[string]any{"message": "token {{ secrets['TOKEN'] }}"}},
		{ID: "cut", Tool: "log", Params: map[string]any{"message": long}},
	}})
	if got.Status != flow.RunSucceeded {
		t.Fatalf("%+v", got)
	}
	if e.tt.invocations(got.ID, "echo") != 1 {
		t.Fatal("echo did not run")
	}
	out := string(node(got, "echo").Output)
	if !strings.Contains(out, `"auth":"Bearer ***"`) || !strings.Contains(out, `"n":3`) {
		t.Fatalf("echo output %s", out)
	}
	var lines []string
	for _, ev := range evs {
		if strings.Contains(string(ev.Payload), engineSecret[:8]) {
			t.Fatalf("event %s holds (part of) the value: %s", ev.Type, ev.Payload)
		}
		if ev.Type == flow.EventNodeLog {
			var p struct{ Lines []string }
			if err := json.Unmarshal(ev.Payload, &p); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, p.Lines...)
		}
	}
	if !contains(lines, "token ***") {
		t.Fatalf("log lines %q", lines)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// An untrusted project resolves no secret: the node fails before its tool
// runs, saying why.
func TestEngineUntrustedProjectResolvesNoSecret(t *testing.T) {
	e := newEnv(t, "p1")
	svc := e.withSecrets(false, map[string]string{"TOKEN": engineSecret})
	got, _ := runOnce(t, e, engine.Config{Secrets: svc}, &flow.Workflow{ID: "wf", Nodes: []flow.Node{
		{ID: "use", Tool: "echo", Params: map[string]any{"v": "{{ secrets.TOKEN }}"}},
		{ID: "plain", Tool: "echo", Params: map[string]any{"v": "no secret here"}},
	}})
	if got.Status != flow.RunFailed || !strings.Contains(node(got, "use").Error, "not trusted") {
		t.Fatalf("%+v", got)
	}
	if e.tt.invocations(got.ID, "use") != 0 {
		t.Fatal("the tool ran without its secret")
	}
	if node(got, "plain").Status != flow.NodeSucceeded {
		t.Fatalf("a node without secrets must still run: %+v", node(got, "plain"))
	}
}

// A computed secret name is refused; a missing one fails naming it.
func TestEngineSecretReferenceErrors(t *testing.T) {
	e := newEnv(t, "p1")
	svc := e.withSecrets(true, map[string]string{"TOKEN": engineSecret})
	got, _ := runOnce(t, e, engine.Config{Secrets: svc}, &flow.Workflow{ID: "wf", Nodes: []flow.Node{
		{ID: "computed", Tool: "echo", Params: map[string]any{"v": "{{ secrets[inputs.x] }}"}},
		{ID: "missing", Tool: "echo", Params: map[string]any{"v": "{{ secrets.NOPE }}"}},
	}})
	if !strings.Contains(node(got, "computed").Error, "name a secret directly") {
		t.Fatalf("computed: %+v", node(got, "computed"))
	}
	if !strings.Contains(node(got, "missing").Error, "secret NOPE is not set") {
		t.Fatalf("missing: %+v", node(got, "missing"))
	}
}

// A child workflow reads the secret itself (and it is masked in its log);
// passing one as an input is refused, since inputs are recorded.
func TestEngineSecretsInChildRuns(t *testing.T) {
	e := newEnv(t, "p1")
	svc := e.withSecrets(true, map[string]string{"TOKEN": engineSecret})
	e.wfs.put("p1", &flow.Workflow{ID: "child", Nodes: []flow.Node{{ID: "say", Tool: "log", Params: map[string]any{"message": "child {{ secrets.TOKEN }}"}}}})
	got, _ := runOnce(t, e, engine.Config{Secrets: svc}, &flow.Workflow{ID: "wf", Nodes: []flow.Node{
		{ID: "call", Tool: "workflow", Params: map[string]any{"workflowId": "child"}},
		{ID: "pass", Tool: "workflow", Params: map[string]any{"workflowId": "child", "inputs": map[string]any{"t": "{{ secrets.TOKEN }}"}}},
	}})
	if node(got, "call").Status != flow.NodeSucceeded {
		t.Fatalf("call: %+v", node(got, "call"))
	}
	if n := node(got, "pass"); n.Status != flow.NodeFailed || !strings.Contains(n.Error, "cannot be passed as inputs") {
		t.Fatalf("pass: %+v", n)
	}
	evs, err := e.db.EventsAfter(context.Background(), "p1", "project:p1", 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	rows, err := e.db.Read().QueryContext(context.Background(), "SELECT COALESCE(inputs, '') FROM runs")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var in string
		if err := rows.Scan(&in); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(in, engineSecret) {
			t.Fatalf("a run's inputs hold the value: %s", in)
		}
	}
	if out := string(node(got, "call").Output); strings.Contains(out, engineSecret) || !strings.Contains(out, "child ***") {
		t.Fatalf("child output %s", out)
	}
}
