package trust_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/flowweaver/flowweaver/backend/trust"
)

// What trust costs per run start (CheckRun) and per MCP entry when a
// project's config is parsed (MCPDecision): reads on the real SQLite file.
func BenchmarkCheckRun(b *testing.B) {
	p, _ := newPolicy(b)
	ctx := context.Background()
	if _, err := p.SetTrusted(ctx, "p1", true, nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.CheckRun(ctx, "p1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMCPDecision(b *testing.B) {
	p, _ := newPolicy(b)
	ctx := context.Background()
	var entries []trust.Entry
	for i := 0; i < 20; i++ {
		entries = append(entries, trust.Entry{File: ".mcp.json", Server: fmt.Sprint("s", i), Fingerprint: fmt.Sprint("sha256:", i)})
	}
	if _, err := p.SetTrusted(ctx, "p1", true, entries); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d := p.MCPDecision(ctx, "p1", entries[i%len(entries)]); d != trust.Allowed {
			b.Fatal(d)
		}
	}
}
