package trigger

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
	"go.uber.org/goleak"
)

func (h *harness) hookServer() *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("/hooks/{key}", h.svc)
	srv := httptest.NewServer(mux)
	h.t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, u, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (h *harness) hookURL(srv *httptest.Server, workflowID, triggerID string) string {
	h.t.Helper()
	list, err := h.svc.List(context.Background(), h.project.ID, workflowID, srv.URL)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, i := range list {
		if i.ID == triggerID {
			return i.URL
		}
	}
	h.t.Fatalf("no trigger %s", triggerID)
	return ""
}

// A webhook whose workflow is all instant nodes (transform, respond) is
// answered from a run executed as it started (immediate): on SQLite it has
// no queue job, and the answer is the respond node's.
func TestWebhookOnCompletedInstantRunIsImmediate(t *testing.T) {
	h := newHarness(t)
	h.save("instant", &flow.Workflow{Name: "instant", Nodes: []flow.Node{
		{ID: "greet", Tool: "transform", Params: map[string]any{"expression": `"hi " + inputs.trigger.body.name`}},
		{ID: "reply", Tool: "respond", Params: map[string]any{"status": 201, "body": "{{ nodes.greet.output }}"}},
	}, Edges: []flow.Edge{{Source: "greet", Target: "reply"}},
		Triggers: []flow.Trigger{{ID: "h", Type: "webhook", Respond: "onCompleted"}}})
	srv := h.hookServer()
	u := h.hookURL(srv, "instant", "h")
	for range 2 { // the first may come before the queue's first claim, which immediate runs wait for
		if code, body := post(t, u, `{"name":"Ada"}`); code != 201 || body != "hi Ada" {
			t.Fatalf("answer: %d %q", code, body)
		}
	}
	rs := h.runs()
	row, err := h.db.GetRun(context.Background(), h.project.ID, rs[len(rs)-1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if row.Status != flow.RunSucceeded || (h.db.Dialect() == store.SQLite && row.JobID != 0) {
		t.Fatalf("second run: %s with job %d, want succeeded and immediate (no job)", row.Status, row.JobID)
	}
}

// A run that outlasts the wait answers 202 with its id; it goes on.
func TestWebhookOnCompletedTimesOutWith202(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.WebhookWait = 300 * time.Millisecond })
	h.save("slow", &flow.Workflow{Name: "slow", Nodes: []flow.Node{{ID: "d", Tool: "delay", Params: map[string]any{"ms": 2000}}},
		Triggers: []flow.Trigger{{ID: "h", Type: "webhook", Respond: "onCompleted"}}})
	srv := h.hookServer()
	code, body := post(t, h.hookURL(srv, "slow", "h"), "{}")
	if code != 202 || !strings.Contains(body, `"status":"running"`) || !strings.Contains(body, `"runId":"r_`) {
		t.Fatalf("answer: %d %s", code, body)
	}
	h.waitIdle()
	if r := h.runs(); len(r) != 1 || r[0].Status != flow.RunSucceeded {
		t.Fatalf("runs: %+v", r)
	}
}

func TestWebhookUntrustedProjectFiresNothing(t *testing.T) {
	h := newHarness(t)
	h.save("w", &flow.Workflow{Name: "w", Nodes: []flow.Node{logNode("a")},
		Triggers: []flow.Trigger{{ID: "h", Type: "webhook"}}})
	srv := h.hookServer()
	u := h.hookURL(srv, "w", "h")
	h.trusted.Store(false)
	code, body := post(t, u, "{}")
	if code != 403 || !strings.Contains(body, `"error":"untrusted"`) {
		t.Fatalf("answer: %d %s", code, body)
	}
	if n := len(h.runs()); n != 0 {
		t.Fatalf("%d runs in an untrusted project", n)
	}
}

func TestServiceStartStopLeaksNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := newHarness(t)
	h.save("w", &flow.Workflow{Name: "w", Nodes: []flow.Node{logNode("a")}, Triggers: []flow.Trigger{
		{ID: "s", Type: "schedule", Cron: "@every 1s"}, {ID: "f", Type: "files", Glob: "**/*.txt", DebounceMs: 50}}})
	h.start()
	h.watching(1)
	h.write("a.txt", "x")
	h.waitRuns(2)
	h.close()
}

// Without a respond node the answer is the output of the node that
// finished last. Quick nodes whose ends were committed together share
// their finish time; then the graph decides (downstream wins), not the
// order the nodes are listed in.
func TestWebhookAnswerIsTheLastNodeWhenEndsTie(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_000).UTC()
	earlier := at.Add(-time.Millisecond)
	// Listed downstream first, as a user may draw them.
	wf := `{"id":"wf","nodes":[{"id":"note","tool":"log"},{"id":"shape","tool":"transform"},{"id":"fetch","tool":"http"}],` +
		`"edges":[{"source":"fetch","target":"shape"},{"source":"shape","target":"note"}]}`
	for _, c := range []struct {
		name string
		ends map[string]time.Time
		want string
	}{
		{"all tie", map[string]time.Time{"fetch": at, "shape": at, "note": at}, `"note"`},
		{"downstream ties", map[string]time.Time{"fetch": earlier, "shape": at, "note": at}, `"note"`},
		{"one is later", map[string]time.Time{"fetch": at, "shape": earlier, "note": earlier}, `"fetch"`},
	} {
		r := &store.RunRow{Run: flow.Run{ID: "r1", Status: flow.RunSucceeded, Workflow: []byte(wf)}}
		for _, id := range []string{"note", "shape", "fetch"} { // the run's nodes come in listed order
			end := c.ends[id]
			r.Nodes = append(r.Nodes, flow.NodeRun{NodeID: id, Status: flow.NodeSucceeded, FinishedAt: &end, Output: []byte(`"` + id + `"`)})
		}
		rec := httptest.NewRecorder()
		writeResult(rec, r)
		if got := strings.TrimSpace(rec.Body.String()); got != c.want {
			t.Errorf("%s: answered %s, want %s", c.name, got, c.want)
		}
	}
}
