package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/tools"
)

// benchRuns starts b.N runs of wf from 8 goroutines and waits until every
// run.completed event has been committed and handed to the publish hook
// (OnCommit), so the figure is durable, published runs per second.
func benchRuns(b *testing.B, wf *flow.Workflow, workers int) {
	benchRunsWith(b, wf, workers, &testTools{}, false)
}

// benchRunsWith is benchRuns with the tools that run the nodes. warm: one
// run is started and waited for before the timer starts, as in a server
// that has been up for a moment (the queue's first claim came up short,
// so runs may be handed off).
func benchRunsWith(b *testing.B, wf *flow.Workflow, workers int, tt engine.ToolRunner, warm bool) {
	ctx := context.Background()
	var completed atomic.Int64
	done := make(chan struct{})
	var target atomic.Int64
	var warmID atomic.Value // the warm-up run's id: not counted
	warmID.Store("")
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{OnCommit: func(evs []flow.Event) {
		for _, ev := range evs {
			if (ev.Type == flow.EventRunCompleted || ev.Type == flow.EventRunFailed) && ev.RunID != warmID.Load().(string) {
				if completed.Add(1) == target.Load() {
					close(done)
				}
			}
		}
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "p1", Path: b.TempDir()}); err != nil {
		b.Fatal(err)
	}
	// As in the app, the workflow comes decoded from its file and shared
	// while it is unchanged (workflow.Service.Shared).
	wfs := &sharedWorkflows{}
	wfs.set(decodedLikeAFile(b, wf))
	en, err := engine.New(engine.Config{DB: db, Tools: tt, Workflows: wfs,
		Queue: queue.Config{Workers: workers, ProjectLimit: -1}})
	if err != nil {
		b.Fatal(err)
	}
	if err := en.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = en.Stop(ctx) }()
	if warm {
		r, err := en.StartRun(ctx, "p1", wf.ID, nil)
		if err != nil {
			b.Fatal(err)
		}
		warmID.Store(r.ID)
		for {
			got, err := en.Run(ctx, "p1", r.ID)
			if err != nil {
				b.Fatal(err)
			}
			if got.Status.Terminal() {
				break
			}
			time.Sleep(time.Millisecond)
		}
		completed.Store(0) // its end may have been counted before its id was known
	}
	target.Store(int64(b.N))
	b.ResetTimer()
	var wg sync.WaitGroup
	const starters = 8
	for g := 0; g < starters; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < b.N; i += starters {
				if _, err := en.StartRun(ctx, "p1", wf.ID, nil); err != nil {
					b.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("only %d of %d runs finished", completed.Load(), b.N)
	}
	b.StopTimer()
	commits, steps := en.BatchStats()
	b.ReportMetric(float64(steps)/float64(commits), "steps/commit")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(wf.Nodes)), "µs/node")
}

func BenchmarkRun1NodeLog(b *testing.B) {
	for _, w := range []int{8, 16, 32} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) { benchRuns(b, chain("one", "log"), w) })
	}
}

func BenchmarkRun10NodeChain(b *testing.B) {
	benchRuns(b, chain("ten", "log", "log", "log", "log", "log", "log", "log", "log", "log", "log"), 32)
}

// BenchmarkRunImmediate: the same runs with the real built-in tools,
// whose log is instant: every run is executed as it starts and written
// whole with its start (immediate.go). The two benchmarks above measure
// runs that go through the queue and its workers.
func BenchmarkRunImmediate(b *testing.B) {
	reg := tools.NewRegistry(tools.Options{})
	b.Run("1-node", func(b *testing.B) { benchRunsWith(b, chain("one", "log"), 16, reg, true) })
	b.Run("10-node", func(b *testing.B) {
		benchRunsWith(b, chain("ten", "log", "log", "log", "log", "log", "log", "log", "log", "log", "log"), 16, reg, true)
	})
}

// BenchmarkLog1MLines: one node logs 1,000,000 lines; measured until the
// run.completed event is published, by which point every line was committed
// as node.log events and handed to the publish hook in order.
func BenchmarkLog1MLines(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		var lines, events atomic.Int64
		done := make(chan struct{})
		db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{OnCommit: func(evs []flow.Event) {
			for _, ev := range evs {
				switch ev.Type {
				case flow.EventNodeLog:
					events.Add(1)
					var p struct{ Lines []string }
					_ = json.Unmarshal(ev.Payload, &p)
					lines.Add(int64(len(p.Lines)))
				case flow.EventRunCompleted:
					close(done)
				}
			}
		}})
		if err != nil {
			b.Fatal(err)
		}
		if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "p1", Path: b.TempDir()}); err != nil {
			b.Fatal(err)
		}
		wfs := &workflows{}
		wfs.put("p1", &flow.Workflow{ID: "wf", Nodes: []flow.Node{{ID: "l", Tool: "lines", Params: map[string]any{"n": 1000000}}}})
		en, err := engine.New(engine.Config{DB: db, Tools: &testTools{}, Workflows: wfs})
		if err != nil {
			b.Fatal(err)
		}
		if err := en.Start(ctx); err != nil {
			b.Fatal(err)
		}
		startT := time.Now()
		if _, err := en.StartRun(ctx, "p1", "wf", nil); err != nil {
			b.Fatal(err)
		}
		<-done
		el := time.Since(startT)
		if err := en.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		_ = db.Close()
		if lines.Load() != 1000000 {
			b.Fatalf("%d lines published", lines.Load())
		}
		b.ReportMetric(el.Seconds(), "s/1M-lines")
		b.ReportMetric(float64(events.Load()), "log-events")
	}
}

// BenchmarkRun1NodeLogDeclaredInputs is BenchmarkRun1NodeLog/workers=16
// on a workflow that declares two inputs with defaults: the cost of
// runInputs (cached compiled schema, defaults, validation) on the run-start path.
func BenchmarkRun1NodeLogDeclaredInputs(b *testing.B) {
	wf := chain("one", "log")
	wf.Inputs = json.RawMessage(`{"type": "object", "properties": {"who": {"type": "string", "default": "x"}, "n": {"type": "integer", "default": 2}}}`)
	benchRuns(b, wf, 16)
}
