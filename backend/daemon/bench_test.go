package daemon_test

import (
	"encoding/json"
	"testing"
	"time"
)

// BenchmarkShellMillionLinesToClient measures the time from starting a run
// whose shell node prints 1,000,000 lines until a WebSocket client that
// subscribed to the run has received every line (as node.log frames) and
// run.completed: the full path tool -> batcher -> SQLite -> hub -> socket.
//
//	go test -run '^$' -bench ShellMillionLines -benchtime 1x ./backend/daemon/
func BenchmarkShellMillionLinesToClient(b *testing.B) {
	f := newFixture(b)
	a := f.project("bench")
	f.workflow(a, "lines", `{"name":"lines","nodes":[{"id":"seq","tool":"shell","params":{"command":"seq 1000000"}}],"edges":[]}`)
	c := dial(f.t, f.d, f.token, a)
	c.subscribe("project:"+a, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		run := f.startRun(a, "lines")
		c.subscribe("run:"+run, ptr(0))
		lines := 0
		for {
			fr := c.read()
			if fr.Channel != "run:"+run {
				continue
			}
			if fr.Event == "node.log" {
				var p struct{ Lines []string }
				if err := json.Unmarshal(fr.Payload, &p); err != nil {
					b.Fatal(err)
				}
				lines += len(p.Lines)
			}
			if fr.Event == "run.completed" || fr.Event == "run.failed" {
				if fr.Event != "run.completed" || lines != 1_000_000 {
					b.Fatalf("%s after %d lines", fr.Event, lines)
				}
				break
			}
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/1M-lines")
		b.ReportMetric(1e6/time.Since(start).Seconds(), "lines/s")
	}
}
