package workflow

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

func TestInputsFormat(t *testing.T) {
	// Written as a client sends it: on one line, properties in the order
	// the user declared them (not sorted: the run form keeps this order).
	decl := `{"type":"object","properties":{"who":{"type":"string","description":"whom to greet <b>&</b>"},"times":{"type":"integer","default":2}},"required":["who"]}`
	wf := &flow.Workflow{Name: "Greet", Inputs: json.RawMessage(decl),
		Nodes: []flow.Node{{ID: "a", Tool: "log", Params: map[string]any{"message": "hi {{ inputs.who }}"}}}, Edges: []flow.Edge{}}
	data, err := Encode(wf)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "name": "Greet",
  "inputs": {
    "type": "object",
    "properties": {
      "who": {
        "type": "string",
        "description": "whom to greet <b>&</b>"
      },
      "times": {
        "type": "integer",
        "default": 2
      }
    },
    "required": [
      "who"
    ]
  },
  "nodes": [`
	if !strings.HasPrefix(string(data), want) {
		t.Fatalf("encoded:\n%s\nwant prefix:\n%s", data, want)
	}
	back, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Encode(back)
	if err != nil || string(again) != string(data) {
		t.Fatalf("a round trip changed bytes:\n%s", again)
	}
	// The API shape carries the declaration as a JSON object.
	api, _ := json.Marshal(back)
	if !strings.Contains(string(api), `"inputs":{"type":"object","properties":{"who"`) {
		t.Fatalf("API JSON %s", api)
	}
	// No declaration (absent or null): no section, older files keep their bytes.
	for _, none := range []json.RawMessage{nil, json.RawMessage("null")} {
		wf.Inputs = none
		data, _ = Encode(wf)
		if strings.Contains(string(data), `"inputs"`) {
			t.Fatalf("empty inputs written:\n%s", data)
		}
	}
	back, err = Decode([]byte(`{"name": "x", "inputs": null, "nodes": [], "edges": []}`))
	if err != nil || back.Inputs != nil {
		t.Fatalf("null inputs decoded as %q, %v", back.Inputs, err)
	}
}

func TestInputsValidatedWithTheRest(t *testing.T) {
	wf := &flow.Workflow{Name: "x", Nodes: []flow.Node{{ID: "a", Tool: "log"}},
		Inputs: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer","default":"ten"},"my-x":{"type":"string"}},"required":["m"]}`)}
	problems := Validate("wf", wf, nil, 0)
	var fields []string
	for _, p := range problems {
		fields = append(fields, p.Field+": "+p.Message)
	}
	got := strings.Join(fields, "\n")
	for _, want := range []string{`inputs.required: names "m", which is not declared in properties`, "inputs.properties.my-x: input names must start"} {
		if !strings.Contains(got, want) {
			t.Fatalf("problems:\n%s\nwant %s", got, want)
		}
	}
	// Fixed names and required, the wrong default is the one problem left.
	wf.Inputs = json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer","default":"ten"}}}`)
	problems = Validate("wf", wf, nil, 0)
	if len(problems) != 1 || problems[0].Field != "inputs.properties.n.default" || problems[0].Message != "the default must be an integer, not string" {
		t.Fatalf("problems %+v", problems)
	}
	wf.Inputs = json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer","default":10}}}`)
	if problems = Validate("wf", wf, nil, 0); problems != nil {
		t.Fatalf("a good declaration has problems %+v", problems)
	}
}
