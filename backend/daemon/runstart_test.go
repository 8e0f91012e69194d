package daemon_test

import (
	"strings"
	"testing"
)

// TestRunStartOfAnUnknownProject: the start handler does not read the
// project itself; an unknown project is still a 404 not_found naming it,
// and nothing is started.
func TestRunStartOfAnUnknownProject(t *testing.T) {
	f := newFixture(t)
	code, res, _ := do(t, "POST", f.d.URL()+"/api/projects/nope/workflows/w/runs", f.token, `{"inputs": {}}`)
	if code != 404 || res["error"] != "not_found" || !strings.Contains(res["message"].(string), `project "nope" not found`) {
		t.Fatalf("start: %d %v", code, res)
	}
	if n := f.countRuns("nope"); n != 0 {
		t.Fatalf("%d runs", n)
	}
}
