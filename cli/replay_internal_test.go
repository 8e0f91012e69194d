package cli

import (
	"context"
	"testing"
	"time"
)

// `logs --follow` reads the run's status, then replays its events, then
// follows what comes after them. A run that ends between the first two
// steps has its end in the replay, and nothing comes after it: the replay
// must say so, or the follow waits forever for an end it already printed
// (seen once in CI, on a busy machine). replayRun reports the end of a run
// that ended, and only of that run.
func TestReplayOfAnEndedRunReportsItsEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, a, projectID := inProcessProject(ctx, t, "two", map[string]any{"name": "two", "nodes": []any{
		map[string]any{"id": "a", "tool": "shell", "params": map[string]any{"command": "echo one"}},
		map[string]any{"id": "b", "tool": "shell", "params": map[string]any{"command": "echo two"}},
	}, "edges": []any{map[string]any{"source": "a", "target": "b"}}})
	first, err := a.startRun(ctx, projectID, "two", nil)
	if err != nil {
		t.Fatal(err)
	}
	for {
		r, _, err := a.run(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		if terminal(r.Status) {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the run never ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rec := &recorder{}
	since, ended, err := replayRun(ctx, a, projectID, first, rec)
	if err != nil {
		t.Fatal(err)
	}
	if !ended || since == 0 || len(rec.events) == 0 || rec.events[len(rec.events)-1].Seq != since {
		t.Fatalf("replay of an ended run: ended %v, since %d, %d events", ended, since, len(rec.events))
	}
	if st := endStatus(rec.events[len(rec.events)-1], first); st != "succeeded" {
		t.Fatalf("the last replayed event ends the run as %q, want succeeded", st)
	}
	if st := endStatus(rec.events[len(rec.events)-1], "r_other"); st != "" {
		t.Fatalf("the run's end ends another run as %q", st)
	}
}
