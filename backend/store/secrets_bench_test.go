package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// BenchmarkSecretsRead is what every run execution pays to read its
// project's secrets (none here: the common case), on the real SQLite file.
func BenchmarkSecretsRead(b *testing.B) {
	ctx := context.Background()
	db := openTest(b, filepath.Join(b.TempDir(), "fw.db"), Options{})
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "p1", Path: "/p1"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := db.Secrets(ctx, "p1"); err != nil {
			b.Fatal(err)
		}
	}
}
