package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// BenchmarkFinishLookupWithBacklog is the descendants lookup every run's
// finishing transaction does, with 5,000 other runs queued (the state of
// the database while 16 REST clients start runs faster than workers end
// them). Before the CROSS JOIN plan it scanned the whole backlog per call.
func BenchmarkFinishLookupWithBacklog(b *testing.B) {
	ctx := context.Background()
	db := openTest(b, filepath.Join(b.TempDir(), "fw.db"), Options{})
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "p1", Path: "/p1"}); err != nil {
		b.Fatal(err)
	}
	err := db.Write(ctx, func(tx *Tx) error {
		for i := range 5000 {
			r := &RunRow{Run: flow.Run{ID: fmt.Sprintf("r%05d", i), ProjectID: "p1", WorkflowID: "w",
				Status: flow.RunQueued, Workflow: []byte(`{}`)}}
			if err := tx.InsertRun(ctx, r, []string{"n1"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		err := db.Write(ctx, func(tx *Tx) error {
			ids, _, err := tx.UnfinishedDescendants(ctx, fmt.Sprintf("r%05d", i%5000))
			if err == nil && len(ids) != 0 {
				err = fmt.Errorf("run without children has descendants %v", ids)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
