package mcp

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/tools"
)

// BenchmarkCallEchoStdio measures the overhead of one tool call through the
// source: tools.Call -> tools/call over stdio to a real server process and
// back -> node output. p50/p99 are reported in microseconds.
//
//	go test -run '^$' -bench CallEcho -benchtime 2000x ./backend/tools/mcp/
func BenchmarkCallEchoStdio(b *testing.B) {
	benchCall(b, `{"mcpServers": {"t": {"command": "`+serverBin+`"}}}`)
}

// BenchmarkCallEchoHTTP is the same over streamable HTTP on 127.0.0.1.
func BenchmarkCallEchoHTTP(b *testing.B) {
	ts, _ := httpServer(b)
	benchCall(b, `{"mcpServers": {"t": {"url": "`+ts.URL+`"}}}`)
}

func benchCall(b *testing.B, config string) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".mcp.json"), []byte(config), 0o644); err != nil {
		b.Fatal(err)
	}
	src, err := New(Options{PollInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = src.Close() }() // benchmark teardown
	p := flow.Project{ID: "bench", Path: dir}
	call := tools.Call{Project: p, RunID: "r", NodeID: "n", Params: map[string]any{"text": "ping"}, Log: func(string, string) {}}
	ctx := context.Background()
	for range 20 { // start the server and warm up
		if _, err := src.Run(ctx, "mcp:t/echo", call); err != nil {
			b.Fatal(err)
		}
	}
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := src.Run(ctx, "mcp:t/echo", call); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, durs)
}

// BenchmarkRawSDKStdio is the baseline: the SDK client alone calling the
// same server over stdio, without the source (no filtering, no progress
// token, no output mapping).
func BenchmarkRawSDKStdio(b *testing.B) {
	ctx := context.Background()
	client := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "v0"}, nil)
	cs, err := client.Connect(ctx, &sdk.CommandTransport{Command: exec.Command(serverBin)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cs.Close() }() // benchmark teardown
	params := &sdk.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "ping"}}
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := cs.CallTool(ctx, params); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, durs)
}

func reportPercentiles(b *testing.B, durs []time.Duration) {
	slices.Sort(durs)
	pct := func(q float64) float64 {
		return float64(durs[min(len(durs)-1, int(q*float64(len(durs))))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
