package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// startOnly is a flow.Runs that only starts runs, and does so for free: the
// benchmark measures what the handler itself costs.
type startOnly struct{ flow.Runs }

func (startOnly) StartRun(_ context.Context, projectID, workflowID string, inputs map[string]any) (*flow.Run, error) {
	return &flow.Run{ID: "r_0123456789abcdef", ProjectID: projectID, WorkflowID: workflowID, Status: flow.RunQueued}, nil
}

// BenchmarkStartRunHandler: the handler's own cost per POST .../runs
// (decode the body, answer 202), the engine's start left out.
//
//	go test ./backend/httpapi/ -run '^$' -bench StartRunHandler -benchmem
func BenchmarkStartRunHandler(b *testing.B) {
	s := New(Config{Runs: startOnly{}})
	body := `{"inputs":{}}`
	for b.Loop() {
		r := httptest.NewRequest("POST", "/api/projects/p_1/workflows/bench/runs", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.SetPathValue("id", "p_1")
		r.SetPathValue("wid", "bench")
		w := httptest.NewRecorder()
		s.startRun(w, r)
		if w.Code != http.StatusAccepted {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
