package workflow

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// go test ./backend/workflow/ -run '^$' -bench . -benchtime 2s

// BenchmarkSave: a durable save (fsync of file and directory, index row and
// event in one transaction), alternating two contents so every save writes.
func BenchmarkSave(b *testing.B) {
	e := newEnv(b, Options{})
	wf := validWorkflow()
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		wf.Nodes[1].Params["ms"] = float64(i % 2)
		if _, err := e.svc.Save(ctx, e.project.ID, "build", wf, -1, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGet: what a Get costs that cannot use the cache (open, read,
// hash, compare with the index, decode, validate); BenchmarkGetCached is
// the same Get of an unchanged file.
func BenchmarkGet(b *testing.B) {
	e := newEnv(b, Options{})
	ctx := context.Background()
	e.save("build", validWorkflow(), -1)
	for b.Loop() {
		e.svc.ForgetProject(e.project.ID)
		if _, err := e.svc.Get(ctx, e.project.ID, "build"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSyncUnchanged: one watcher poll of a project with 100 unchanged
// workflow files (ReadDir + stats + one index query).
func BenchmarkSyncUnchanged(b *testing.B) {
	e := newEnv(b, Options{Now: func() time.Time { return time.Now().Add(time.Hour) }}) // nothing racy
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		e.save(fmt.Sprintf("wf%03d", i), validWorkflow(), -1)
	}
	for b.Loop() {
		if err := e.svc.Sync(ctx, e.project.ID); err != nil {
			b.Fatal(err)
		}
	}
}
