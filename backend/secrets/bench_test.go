package secrets

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkMaskLine is the cost the engine adds to every log line of a
// project with secrets: 10 values (about 15 forms each), a typical line.
func BenchmarkMaskLine(b *testing.B) {
	var vals []string
	for i := range 10 {
		vals = append(vals, fmt.Sprintf("token-%02d-%s", i, strings.Repeat("q", 24)))
	}
	m := NewMasker(vals)
	line := "2026-12-01T12:00:00Z INFO build step 14/20 finished in 1.42s, cache hit ratio 0.93 (no secrets here)"
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Cut(line, 16<<10, "…")
	}
}

// BenchmarkMaskLineNoSecrets is the same line in a project without secrets.
func BenchmarkMaskLineNoSecrets(b *testing.B) {
	var m *Masker
	line := "2026-12-01T12:00:00Z INFO build step 14/20 finished in 1.42s, cache hit ratio 0.93 (no secrets here)"
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Cut(line, 16<<10, "…")
	}
}
