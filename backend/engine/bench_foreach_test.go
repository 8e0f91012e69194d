package engine_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// BenchmarkForEach10k: one forEach over 10,000 items, each item a child
// run of a 1-node workflow (log), at concurrency 8 and 32, 16 workers.
// Reports items/s and the process's peak RSS (VmHWM).
func BenchmarkForEach10k(b *testing.B) {
	for _, conc := range []int{8, 32} {
		b.Run("concurrency="+strconv.Itoa(conc), func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "p1", Path: b.TempDir()}); err != nil {
				b.Fatal(err)
			}
			const n = 10000
			items := make([]any, n)
			for i := range items {
				items[i] = float64(i)
			}
			wfs := &workflows{}
			wfs.put("p1", &flow.Workflow{ID: "item", Name: "item", Nodes: []flow.Node{
				{ID: "say", Tool: "log", Params: map[string]any{"message": "item {{ inputs.item }}"}},
			}})
			wfs.put("p1", &flow.Workflow{ID: "loop", Name: "loop", Nodes: []flow.Node{
				{ID: "each", Tool: "forEach", Params: map[string]any{"items": "{{ inputs.items }}", "workflowId": "item", "concurrency": float64(conc)}},
			}})
			en, err := engine.New(engine.Config{DB: db, Tools: &testTools{}, Workflows: wfs})
			if err != nil {
				b.Fatal(err)
			}
			if err := en.Start(ctx); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = en.Stop(ctx) }()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				r, err := en.StartRun(ctx, "p1", "loop", map[string]any{"items": items})
				if err != nil {
					b.Fatal(err)
				}
				for {
					got, err := en.Run(ctx, "p1", r.ID)
					if err != nil {
						b.Fatal(err)
					}
					if got.Status.Terminal() {
						if got.Status != flow.RunSucceeded {
							b.Fatalf("run %s: %s", got.Status, got.Error)
						}
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			el := time.Since(start)
			b.ReportMetric(float64(n*b.N)/el.Seconds(), "items/s")
			b.ReportMetric(peakRSSMiB(), "peakRSS-MiB")
		})
	}
}

// peakRSSMiB reads the process's peak resident set (Linux; 0 elsewhere).
func peakRSSMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
