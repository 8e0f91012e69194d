package workflow

import (
	"reflect"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

func TestTriggersFormat(t *testing.T) {
	off := false
	wf := &flow.Workflow{Name: "Nightly", Nodes: []flow.Node{{ID: "a", Tool: "log", Params: map[string]any{"message": "hi"}}}, Edges: []flow.Edge{},
		Triggers: []flow.Trigger{
			{ID: "nightly", Type: "schedule", Cron: "0 3 * * *", Timezone: "Europe/Berlin"},
			{ID: "deploy", Type: "webhook", Respond: "onCompleted", Enabled: &off},
			{ID: "sources", Type: "files", Glob: "src/**/*.go", DebounceMs: 300, Label: "Go sources"},
		}}
	data, err := Encode(wf)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "name": "Nightly",
  "triggers": [
    {"id": "nightly", "type": "schedule", "cron": "0 3 * * *", "timezone": "Europe/Berlin"},
    {"id": "deploy", "type": "webhook", "enabled": false, "respond": "onCompleted"},
    {"id": "sources", "type": "files", "label": "Go sources", "glob": "src/**/*.go", "debounceMs": 300}
  ],
  "nodes": [`
	if !strings.HasPrefix(string(data), want) {
		t.Fatalf("encoded:\n%s\nwant prefix:\n%s", data, want)
	}
	back, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Triggers, wf.Triggers) {
		t.Fatalf("round trip: %+v", back.Triggers)
	}
	// No triggers: no section, so older files keep their bytes.
	wf.Triggers = nil
	data, _ = Encode(wf)
	if strings.Contains(string(data), "triggers") {
		t.Fatalf("empty triggers written:\n%s", data)
	}
}

func TestTriggersValidatedWithTheRest(t *testing.T) {
	wf := &flow.Workflow{Name: "x", Nodes: []flow.Node{{ID: "a", Tool: "log"}, {ID: "a", Tool: "log"}},
		Triggers: []flow.Trigger{{ID: "s", Type: "schedule", Cron: "bad"}, {ID: "s", Type: "files", Glob: "{a"}}}
	problems := Validate("wf", wf, nil, 0)
	var fields []string
	for _, p := range problems {
		fields = append(fields, p.Field)
	}
	got := strings.Join(fields, " ")
	if got != "nodes[1].id triggers[0].cron triggers[1].id triggers[1].glob" {
		t.Fatalf("problems: %v", problems)
	}
}
