package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
)

const greetInputs = `{"type": "object", "properties": {
  "who": {"type": "string", "description": "whom to greet"},
  "times": {"type": "integer", "default": 2}
}, "required": ["who"]}`

func greetWorkflow(id string) *flow.Workflow {
	return &flow.Workflow{ID: id, Name: id, Inputs: json.RawMessage(greetInputs), Nodes: []flow.Node{
		{ID: "say", Tool: "log", Params: map[string]any{"message": "hello {{ inputs.who }} x{{ inputs.times }}"}},
	}}
}

func TestDeclaredInputsGetDefaultsAndReachNodes(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", greetWorkflow("greet"))
	en := e.engine(engine.Config{})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "greet", map[string]any{"who": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Inputs["times"] != int64(2) || r.Inputs["who"] != "Ada" || r.Inputs["trigger"] == nil {
		t.Fatalf("run inputs %#v: want the default times=2 and the trigger", r.Inputs)
	}
	got := wait(t, en, r.ID)
	if got.Status != flow.RunSucceeded || string(node(got, "say").Output) != `{"message":"hello Ada x2"}` {
		t.Fatalf("run %s %q: say %s", got.Status, got.Error, node(got, "say").Output)
	}
	if got.Inputs["times"] != float64(2) {
		t.Fatalf("stored inputs %#v", got.Inputs)
	}
}

func TestInvalidInputsAreRefusedBeforeAnythingIsWritten(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", greetWorkflow("greet"))
	en := e.engine(engine.Config{})
	ctx := context.Background()
	for _, c := range []struct {
		given map[string]any
		field string
	}{
		{nil, "inputs.who"},
		{map[string]any{"who": "Ada", "times": "often"}, "inputs.times"},
		{map[string]any{"who": "Ada", "whom": "Bob"}, "inputs.whom"},
	} {
		_, err := en.StartRun(ctx, "p1", "greet", c.given)
		var fe *flow.Error
		if flow.ErrorCode(err) != flow.EINVALID || !errors.As(err, &fe) {
			t.Fatalf("%v: err %v, want bad_request", c.given, err)
		}
		probs, _ := fe.Details.([]flow.Problem)
		if len(probs) == 0 || probs[0].Field != c.field || !strings.Contains(fe.Message, c.field) {
			t.Fatalf("%v: %q %+v, want the field %s named", c.given, fe.Message, probs, c.field)
		}
	}
	page, err := en.ListRuns(ctx, flow.RunFilter{ProjectID: "p1"})
	if err != nil || len(page.Runs) != 0 {
		t.Fatalf("refused starts left runs: %+v %v", page, err)
	}
}

func TestHandEditedBadDeclarationRefusesRuns(t *testing.T) {
	e := newEnv(t, "p1")
	wf := greetWorkflow("bad")
	wf.Inputs = json.RawMessage(`{"type": "object", "properties": {"n": {"type": "integer", "default": "ten"}}}`)
	e.wfs.put("p1", wf)
	en := e.engine(engine.Config{})
	_, err := en.StartRun(context.Background(), "p1", "bad", nil)
	if flow.ErrorCode(err) != flow.EINVALID || !strings.Contains(err.Error(), "inputs declaration is invalid: inputs.properties.n.default") {
		t.Fatalf("err %v", err)
	}
}

func TestChildRunInputsAreChecked(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", greetWorkflow("greet"))
	e.wfs.put("p1", &flow.Workflow{ID: "main", Name: "main", Nodes: []flow.Node{
		{ID: "ok", Tool: "workflow", Params: map[string]any{"workflowId": "greet", "inputs": map[string]any{"who": "{{ inputs.name }}"}}},
		{ID: "each", Tool: "forEach", Params: map[string]any{"workflowId": "greetItem", "items": []any{"a", "b"}}},
		{ID: "bad", Tool: "workflow", Params: map[string]any{"workflowId": "greet", "inputs": map[string]any{"times": 3}}},
	}, Edges: []flow.Edge{{Source: "ok", Target: "each"}, {Source: "each", Target: "bad"}}})
	// A forEach child's item and index are the engine's: a declaration
	// need not list them.
	item := greetWorkflow("greetItem")
	item.Inputs = json.RawMessage(`{"type": "object", "properties": {"greeting": {"type": "string", "default": "hi"}}}`)
	item.Nodes[0].Params["message"] = "{{ inputs.greeting }} {{ inputs.item }}"
	e.wfs.put("p1", item)
	en := e.engine(engine.Config{})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "main", map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err) // main declares nothing: its inputs are not checked
	}
	got := wait(t, en, r.ID)
	if n := node(got, "ok"); n.Status != flow.NodeSucceeded {
		t.Fatalf("ok %+v", n)
	}
	if n := node(got, "each"); n.Status != flow.NodeSucceeded {
		t.Fatalf("each %+v", n)
	}
	if n := node(got, "bad"); n.Status != flow.NodeFailed || !strings.Contains(n.Error, `workflow "greet": invalid inputs: inputs.who is required`) {
		t.Fatalf("bad %+v", n)
	}
	var kids []flow.Run
	for _, k := range childRuns(t, en, "p1", r.ID) {
		if k.WorkflowID == "greet" {
			kids = append(kids, k)
		}
	}
	if len(kids) != 1 || kids[0].Inputs["times"] != float64(2) || kids[0].Inputs["who"] != "Ada" {
		t.Fatalf("greet children %+v: want one, with the default applied", kids)
	}
}
