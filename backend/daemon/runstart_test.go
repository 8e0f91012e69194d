package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/workflow"
)

// runWorkflow returns the workflow snapshot a run recorded at its start.
func (f *fixture) runWorkflow(runID string) map[string]any {
	f.t.Helper()
	code, run, _ := do(f.t, "GET", f.d.URL()+"/api/runs/"+runID, f.token, "")
	wf, _ := run["workflow"].(map[string]any)
	if code != 200 || wf == nil {
		f.t.Fatalf("run %s: %d %v", runID, code, run)
	}
	return wf
}

func logMessage(wf map[string]any) any {
	return wf["nodes"].([]any)[0].(map[string]any)["params"].(map[string]any)["message"]
}

// TestRunStartsSnapshotTheFileAsItIsNow: a run snapshots the workflow file
// as it is on disk at its start, also when the file was edited by another
// program between two runs in a way that keeps its size and mtime (an
// in-place write with the old mtime put back). Covered twice: while the
// file is "racily clean" (just written, so re-read) and after RacyWindow,
// when an unchanged stat is trusted and only the edit's ctime shows it.
func TestRunStartsSnapshotTheFileAsItIsNow(t *testing.T) {
	f := newFixture(t)
	p := f.project("edits")
	_, proj, _ := do(t, "GET", f.d.URL()+"/api/projects/"+p, f.token, "")
	path := filepath.Join(proj["path"].(string), ".flowweaver", "workflows", "w.json")
	f.workflow(p, "w", `{"name": "w", "nodes": [{"id": "say", "tool": "log", "params": {"message": "first"}}], "edges": []}`)

	edit := func(from, to string) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(strings.Replace(string(b), from, to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(message string, version float64) {
		t.Helper()
		for i := 0; i < 2; i++ { // the second start of the same file may come from memory
			wf := f.runWorkflow(f.startRun(p, "w"))
			if logMessage(wf) != message || wf["version"] != version {
				t.Fatalf("start %d: message %v version %v, want %q version %v", i+1, logMessage(wf), wf["version"], message, version)
			}
		}
	}

	expect("first", 1)
	edit("first", "again")
	edited := time.Now() // not before the edit's ctime (its mtime is older)
	expect("again", 2)

	// Wait until the last change is older than RacyWindow: from now on a
	// file whose stat did not change is not read again.
	time.Sleep(time.Until(edited.Add(workflow.RacyWindow + 100*time.Millisecond)))
	expect("again", 2)
	edit("again", "third")
	expect("third", 3)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	code, res, _ := do(t, "POST", f.d.URL()+"/api/projects/"+p+"/workflows/w/runs", f.token, `{}`)
	if code != 404 || res["error"] != "not_found" {
		t.Fatalf("start of a removed workflow: %d %v", code, res)
	}
}

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
