package daemon_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const greetDeclared = `{"name": "greet",
  "inputs": {"type": "object", "properties": {
    "who": {"type": "string", "description": "whom to greet"},
    "times": {"type": "integer", "default": 2}}, "required": ["who"]},
  "triggers": [{"id": "h", "type": "webhook", "respond": "immediately"}],
  "nodes": [{"id": "say", "tool": "log", "params": {"message": "hello {{ inputs.who }}"}}], "edges": []}`

// TestRESTRunInputs: POST .../runs checks the inputs against the
// workflow's declaration: 400 bad_request naming each field, nothing
// started; a good start records the inputs with the defaults applied,
// visible in GET /api/runs/{id}.
func TestRESTRunInputs(t *testing.T) {
	f := newFixture(t)
	p := f.project("inputs")
	f.workflow(p, "greet", greetDeclared)
	url := f.d.URL() + "/api/projects/" + p + "/workflows/greet/runs"
	code, res, _ := do(t, "POST", url, f.token, `{"inputs": {"times": "often", "whom": "Bo"}}`)
	if code != 400 || res["error"] != "bad_request" || !strings.HasPrefix(fmt.Sprint(res["message"]), "invalid inputs: inputs.times must be an integer") {
		t.Fatalf("start: %d %v", code, res)
	}
	if got := fmt.Sprint(res["problems"]); got != "[map[field:inputs.times message:must be an integer, not string] map[field:inputs.who message:is required] map[field:inputs.whom message:is not a declared input]]" {
		t.Fatalf("problems %s", got)
	}
	if n := f.countRuns(p); n != 0 {
		t.Fatalf("%d runs after a refused start", n)
	}
	code, res, _ = do(t, "POST", url, f.token, `{"inputs": {"who": "Ada"}}`)
	if code != 202 {
		t.Fatalf("start: %d %v", code, res)
	}
	runID := res["runId"].(string)
	eventually(t, "the run ends", func() bool { return f.runStatus(runID) == "succeeded" })
	_, run, _ := do(t, "GET", f.d.URL()+"/api/runs/"+runID, f.token, "")
	in := run["inputs"].(map[string]any)
	if in["who"] != "Ada" || in["times"] != float64(2) {
		t.Fatalf("run inputs %v", in)
	}
	// A trigger's run gets the defaults too, and is refused like any start
	// when a required input has none.
	code, _, body := hook(t, f.triggerInfo(p, "greet", "h")["url"].(string), "application/json", `{}`)
	if code != 400 || !strings.Contains(body, "inputs.who is required") {
		t.Fatalf("webhook: %d %s", code, body)
	}
}

// TestSaveRefusesBadInputsDeclaration: a declaration that is not a usable
// JSON Schema is a 400 listing each problem, and the file is not written.
func TestSaveRefusesBadInputsDeclaration(t *testing.T) {
	f := newFixture(t)
	p := f.project("decl")
	bad := strings.Replace(greetDeclared, `"default": 2`, `"default": "two"`, 1)
	bad = strings.Replace(bad, `"required": ["who"]`, `"required": ["whom"]`, 1)
	code, res, _ := do(t, "PUT", f.d.URL()+"/api/projects/"+p+"/workflows/greet", f.token, bad)
	got := fmt.Sprint(res["problems"])
	if code != 400 || !strings.Contains(got, `field:inputs.required message:names "whom", which is not declared in properties`) {
		t.Fatalf("save: %d %v", code, res)
	}
	if code, _, _ := do(t, "GET", f.d.URL()+"/api/projects/"+p+"/workflows/greet", f.token, ""); code != 404 {
		t.Fatalf("the refused workflow was saved: %d", code)
	}
	bad = strings.Replace(greetDeclared, `"default": 2`, `"default": "two"`, 1)
	code, res, _ = do(t, "PUT", f.d.URL()+"/api/projects/"+p+"/workflows/greet", f.token, bad)
	if got := fmt.Sprint(res["problems"]); code != 400 || got != "[map[field:inputs.properties.times.default message:the default must be an integer, not string]]" {
		t.Fatalf("save: %d %v", code, res)
	}
	f.workflow(p, "greet", greetDeclared)
	_, wf, _ := do(t, "GET", f.d.URL()+"/api/projects/"+p+"/workflows/greet", f.token, "")
	if decl, _ := wf["inputs"].(map[string]any); decl == nil || decl["required"] == nil {
		t.Fatalf("GET workflow inputs %v", wf["inputs"])
	}
}

// TestWSRunStartInputs: run.start over the WebSocket is checked the same
// way: an error frame bad_request with the problems per field (what the
// run form shows), and a good start records the defaults.
func TestWSRunStartInputs(t *testing.T) {
	f := newFixture(t)
	p := f.project("wsinputs")
	f.workflow(p, "greet", greetDeclared)
	c := dial(t, f.d, f.token, p)
	c.subscribe("project:"+p, nil)
	ref := c.send("run.start", "project:"+p, map[string]any{"workflowId": "greet", "inputs": map[string]any{"times": 1.5}})
	fs := c.until(func(fr frame) bool { return fr.Ref == ref })
	last := fs[len(fs)-1]
	var e struct {
		Code     string
		Message  string
		Problems []struct{ Field, Message string }
	}
	if err := json.Unmarshal(last.Payload, &e); err != nil {
		t.Fatal(err)
	}
	if last.Event != "error" || e.Code != "bad_request" || len(e.Problems) != 2 ||
		e.Problems[0].Field != "inputs.times" || e.Problems[0].Message != "must be an integer, not number" || e.Problems[1].Field != "inputs.who" {
		t.Fatalf("WS run.start: %s %s", last.Event, last.Payload)
	}
	ref = c.send("run.start", "project:"+p, map[string]any{"workflowId": "greet", "inputs": map[string]any{"who": "Ada"}})
	fs = c.until(func(fr frame) bool { return fr.Ref == ref })
	var q struct{ RunID string }
	if last = fs[len(fs)-1]; last.Event != "run.queued" || json.Unmarshal(last.Payload, &q) != nil || q.RunID == "" {
		t.Fatalf("WS run.start: %s %s", last.Event, last.Payload)
	}
	eventually(t, "the run ends", func() bool { return f.runStatus(q.RunID) == "succeeded" })
	_, run, _ := do(t, "GET", f.d.URL()+"/api/runs/"+q.RunID, f.token, "")
	if in := run["inputs"].(map[string]any); in["who"] != "Ada" || in["times"] != float64(2) {
		t.Fatalf("run inputs %v", in)
	}
}
