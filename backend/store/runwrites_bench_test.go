package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/cputime"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/store/storetest"
)

// runWriteSet is what the engine writes for one run of a 1-node `log`
// workflow started over REST, with the sizes a real run has (taken from
// a served database): the start step (the job inserted already claimed
// by the hand-off, the run with its node row, run.queued) and the end
// step (the lease check, run.started, node.started, node.log,
// node.completed, run.completed, the node, run and job rows finished).
type runWriteSet struct {
	project string
	owner   string
	lease   time.Time
	wf      []byte
	payload []byte
}

func newRunWriteSet() runWriteSet {
	wf := []byte(`{"id":"bench","name":"bench","version":1,"nodes":[{"id":"n0","tool":"log","params":{"message":"x"},"position":{"x":0,"y":0}}],"edges":[]}`)
	return runWriteSet{
		project: "p_01a2333990bench",
		owner:   "host/4242/0123456789abcdef",
		lease:   time.Now().Add(time.Hour),
		wf:      wf,
		payload: []byte(`{"workflowId":"bench","inputs":{"trigger":{"type":"manual"}},"workflow":` + string(wf) + `}`),
	}
}

func (w runWriteSet) runID(i int) string { return fmt.Sprintf("r_%028d", i) }

func (w runWriteSet) event(typ, runID, payload string) *flow.Event {
	return &flow.Event{ProjectID: w.project, Type: typ, RunID: runID, WorkflowID: "bench", Payload: []byte(payload)}
}

// start writes run i's start step and returns its job id.
func (w runWriteSet) start(ctx context.Context, tx *store.Tx, i int) (int64, error) {
	id := w.runID(i)
	j := &store.JobRow{ProjectID: w.project, Kind: "run", Ref: id, Payload: w.payload, State: "running",
		Attempt: 1, Owner: w.owner, LeaseUntil: w.lease, MaxAttempts: 3}
	if err := tx.InsertJob(ctx, j); err != nil {
		return 0, err
	}
	r := &store.RunRow{Run: flow.Run{ID: id, ProjectID: w.project, WorkflowID: "bench", Status: flow.RunQueued,
		Inputs: map[string]any{}, Trigger: flow.ManualTrigger(), Workflow: w.wf}, JobID: j.ID}
	if err := tx.InsertRun(ctx, r, []string{"n0"}); err != nil {
		return 0, err
	}
	return j.ID, tx.AppendEvent(ctx, w.event(flow.EventRunQueued, id,
		`{"runId":"`+id+`","workflowId":"bench","status":"queued","trigger":{"type":"manual"}}`))
}

// end writes run i's end step.
func (w runWriteSet) end(ctx context.Context, tx *store.Tx, i int, job int64) error {
	id := w.runID(i)
	held, err := tx.JobLeaseHeld(ctx, job, 1, w.owner)
	if err != nil || !held {
		return fmt.Errorf("lease of job %d: held %v, %w", job, held, err)
	}
	for _, ev := range []*flow.Event{
		w.event(flow.EventRunStarted, id, `{"runId":"`+id+`","workflowId":"bench","status":"running","attempt":1}`),
		w.event(flow.EventNodeStarted, id, `{"attempt":1,"nodeId":"n0","runId":"`+id+`","tool":"log"}`),
		w.event(flow.EventNodeLog, id, `{"runId":"`+id+`","nodeId":"n0","stream":"stdout","lines":["x"]}`),
	} {
		if err := tx.AppendEvent(ctx, ev); err != nil {
			return err
		}
	}
	if err := tx.FinishNodeStartedNow(ctx, id, "n0", flow.NodeSucceeded, 1, 0, []byte(`{"message":"x"}`), ""); err != nil {
		return err
	}
	if err := tx.AppendEvent(ctx, w.event(flow.EventNodeCompleted, id,
		`{"attempt":1,"durationMs":0,"edges":[],"nodeId":"n0","output":{"message":"x"},"runId":"`+id+`"}`)); err != nil {
		return err
	}
	if err := tx.FinishRunStartedNow(ctx, id, flow.RunSucceeded, "", ""); err != nil {
		return err
	}
	if err := tx.AppendEvent(ctx, w.event(flow.EventRunCompleted, id,
		`{"runId":"`+id+`","workflowId":"bench","status":"succeeded","durationMs":0}`)); err != nil {
		return err
	}
	return tx.FinishJob(ctx, job, 1, w.owner, store.JobFinish{State: "completed"})
}

// BenchmarkRunWriteSet measures the single writer's cost of one run's
// writes (runWriteSet), one op per run. Each transaction holds the
// starts of perCommit new runs and the ends of the perCommit runs
// started in the one before, the way the engine's group commit mixes a
// run's steps with other runs'; under the REST load of compare.sh a
// commit carries about two runs' worth of steps.
func BenchmarkRunWriteSet(b *testing.B) {
	for _, perCommit := range []int{1, 2, 8} {
		b.Run(fmt.Sprintf("perCommit=%d", perCommit), func(b *testing.B) {
			ctx := context.Background()
			db := storetest.Open(b, store.Options{})
			w := newRunWriteSet()
			if err := db.CreateProject(ctx, &flow.Project{ID: w.project, Name: "bench", Path: "/bench"}); err != nil {
				b.Fatal(err)
			}
			jobs := map[int]int64{}
			next := 0
			b.ResetTimer()
			cpu0 := cputime.Process()
			for done := 0; done < b.N; done += perCommit {
				err := db.Write(ctx, func(tx *store.Tx) error {
					for i := next - perCommit; i < next; i++ {
						if i < 0 {
							continue
						}
						if err := w.end(ctx, tx, i, jobs[i]); err != nil {
							return err
						}
						delete(jobs, i)
					}
					for i := next; i < next+perCommit; i++ {
						job, err := w.start(ctx, tx, i)
						if err != nil {
							return err
						}
						jobs[i] = job
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				next += perCommit
			}
			b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
