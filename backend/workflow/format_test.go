package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

const exampleFile = `{
  "name": "Build and test",
  "nodes": [
    {
      "id": "build",
      "tool": "shell",
      "params": {
        "command": "go build ./... && echo <ok>"
      }
    },
    {
      "id": "pause",
      "tool": "delay",
      "params": {
        "ms": 200
      }
    },
    {
      "id": "call",
      "tool": "http",
      "label": "Notify",
      "retry": {"max": 2, "backoffMs": 500},
      "timeoutMs": 600000,
      "params": {
        "body": "",
        "headers": {
          "Accept": "application/json",
          "X-Token": "t"
        },
        "method": "POST",
        "url": "http://127.0.0.1:9/hook"
      }
    }
  ],
  "edges": [
    {"source": "build", "target": "pause"},
    {"source": "pause", "target": "call"}
  ],
  "layout": {
    "build": {"x": 0, "y": 0},
    "call": {"x": 320.5, "y": -40}
  }
}
`

func TestEncodeExactFormat(t *testing.T) {
	wf := &flow.Workflow{
		Name: "Build and test",
		Nodes: []flow.Node{
			{ID: "build", Tool: "shell", Params: map[string]any{"command": "go build ./... && echo <ok>"}, Position: &flow.Position{}},
			{ID: "pause", Tool: "delay", Params: map[string]any{"ms": 200}},
			{ID: "call", Tool: "http", Label: "Notify", Retry: &flow.RetryPolicy{Max: 2, BackoffMs: 500}, TimeoutMs: 600000,
				Position: &flow.Position{X: 320.5, Y: -40},
				Params: map[string]any{"url": "http://127.0.0.1:9/hook", "method": "POST", "body": "",
					"headers": map[string]any{"X-Token": "t", "Accept": "application/json"}}},
		},
		Edges: []flow.Edge{{Source: "build", Target: "pause"}, {Source: "pause", Target: "call"}},
	}
	got, err := Encode(wf)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != exampleFile {
		t.Fatalf("encoded:\n%s\nwant:\n%s", got, exampleFile)
	}
	if !json.Valid(got) {
		t.Fatal("not valid JSON")
	}
}

func TestDecodeEncodeRoundTrip(t *testing.T) {
	wf, err := Decode([]byte(exampleFile))
	if err != nil {
		t.Fatal(err)
	}
	if wf.Nodes[2].Position == nil || wf.Nodes[2].Position.X != 320.5 || wf.Nodes[1].Position != nil {
		t.Fatalf("layout not applied: %+v", wf.Nodes)
	}
	again, err := Encode(wf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, []byte(exampleFile)) {
		t.Fatalf("round trip changed the file:\n%s", again)
	}
}

func TestEncodeEmptyWorkflow(t *testing.T) {
	got, err := Encode(&flow.Workflow{Name: "new"})
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"name\": \"new\",\n  \"nodes\": [],\n  \"edges\": [],\n  \"layout\": {}\n}\n"
	if string(got) != want {
		t.Fatalf("%q", got)
	}
}

func TestDecodeAcceptsPositionInNodes(t *testing.T) {
	// The API shape (position on the node) is accepted in a hand-written
	// file; the layout section wins when both are given.
	src := `{"name":"x","nodes":[{"id":"a","tool":"log","position":{"x":1,"y":2}},{"id":"b","tool":"log","position":{"x":1,"y":2}}],
	"edges":[],"layout":{"b":{"x":9,"y":9}}}`
	wf, err := Decode([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if *wf.Nodes[0].Position != (flow.Position{X: 1, Y: 2}) || *wf.Nodes[1].Position != (flow.Position{X: 9, Y: 9}) {
		t.Fatalf("%+v %+v", wf.Nodes[0].Position, wf.Nodes[1].Position)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"empty", "", "empty or cut short"},
		{"cut", `{"name": "x", "nodes": [`, "cut short"},
		{"syntax", "{\n  \"name\": \"x\",\n  nodes: []\n}", "line 3, column 3"},
		{"unknown key", `{"name": "x", "parms": {}}`, `unknown field "parms"`},
		{"wrong type", "{\n\"name\": 5}", "line 2"},
		{"trailing", `{"name": "x"} {}`, "after the workflow"},
		{"not object", `[1]`, "must be"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	wf, err := ParseJSON([]byte(`{"name":"x","version":3,"nodes":[{"id":"a","tool":"log","position":{"x":1,"y":2},"selected":true}],"edges":[]}`))
	if err != nil || wf.Nodes[0].Position.Y != 2 || wf.Version != 3 {
		t.Fatalf("%+v %v", wf, err)
	}
	_, err = ParseJSON([]byte(`{"name":"x","nodes":[{"id":"a","tool":"log","retry":{"max":"two"}}]}`))
	var fe *flow.Error
	if !errors.As(err, &fe) || fe.Code != flow.EINVALID {
		t.Fatalf("%v", err)
	}
	if ps := fe.Details.([]flow.Problem); len(ps) != 1 || ps[0].Field != "nodes.retry.max" {
		t.Fatalf("%+v", fe.Details)
	}
	for _, bad := range []string{``, `null x`, `[`, `{"name":1}`, `{} {}`} {
		if _, err := ParseJSON([]byte(bad)); flow.ErrorCode(err) != flow.EINVALID {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestParseCacheHandsOutCopies(t *testing.T) {
	var c parseCache
	data := []byte(exampleFile)
	a, err := c.decode("h", data)
	if err != nil {
		t.Fatal(err)
	}
	a.Nodes[2].Params["headers"].(map[string]any)["Accept"] = "changed"
	a.Nodes[0].Position.X = 99
	a.Nodes[2].Retry.Max = 9
	a.Edges[0].Source = "x"
	b, _ := c.decode("h", data)
	if b.Nodes[2].Params["headers"].(map[string]any)["Accept"] != "application/json" || b.Nodes[0].Position.X != 0 ||
		b.Nodes[2].Retry.Max != 2 || b.Edges[0].Source != "build" {
		t.Fatalf("cache entry was modified through a returned workflow: %+v", b)
	}
	if enc, _ := Encode(b); string(enc) != exampleFile {
		t.Fatal("clone differs from the original")
	}
}
