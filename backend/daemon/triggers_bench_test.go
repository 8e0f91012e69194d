package daemon_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/daemon"
)

// hookClient is one keep-alive HTTP client for webhook benchmarks.
var hookClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

func postHook(b *testing.B, url string) int {
	resp, err := hookClient.Post(url, "application/json", bytes.NewReader([]byte(`{"n":1}`)))
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// newBenchFixture is a fixture on a daemon with the default worker pool.
func newBenchFixture(b *testing.B) *fixture {
	ctx := context.Background()
	d, err := daemon.New(ctx, daemon.Config{Addr: "127.0.0.1:0", DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		_ = d.Stop(ctx)
	})
	tok, _, err := d.Token(time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	return &fixture{t: b, d: d, token: tok}
}

// BenchmarkWebhookRoundTrip measures POST /hooks/<key> -> run (1-node log
// workflow) committed, executed, finished -> the answer (respond:
// onCompleted), one request at a time, and reports p50/p99.
//
//	go test -run '^$' -bench WebhookRoundTrip -benchtime 2000x ./backend/daemon/
func BenchmarkWebhookRoundTrip(b *testing.B) {
	f := newBenchFixture(b)
	p := f.project("bench")
	f.workflow(p, "hook", `{"name":"hook","triggers":[{"id":"h","type":"webhook","respond":"onCompleted"}],
	  "nodes":[{"id":"a","tool":"log","params":{"message":"{{ inputs.trigger.body.n }}"}}],"edges":[]}`)
	url := f.triggerInfo(p, "hook", "h")["url"].(string)
	for range 20 { // warm up connections and statement caches
		postHook(b, url)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if code := postHook(b, url); code != 200 {
			b.Fatalf("status %d", code)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkWebhookSustained fires webhooks with respond: immediately from
// 32 concurrent clients and reports accepted runs/s, then waits until
// every run finished and reports completed runs/s over the whole span.
//
//	go test -run '^$' -bench WebhookSustained -benchtime 20000x ./backend/daemon/
func BenchmarkWebhookSustained(b *testing.B) {
	f := newBenchFixture(b) // default workers (16), as `flowweaver serve` runs
	p := f.project("bench")
	f.workflow(p, "hook", `{"name":"hook","triggers":[{"id":"h","type":"webhook","respond":"immediately"}],
	  "nodes":[{"id":"a","tool":"log","params":{"message":"{{ inputs.trigger.body.n }}"}}],"edges":[]}`)
	url := f.triggerInfo(p, "hook", "h")["url"].(string)
	const clients = 32
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if code := postHook(b, url); code != 202 {
					b.Errorf("status %d", code)
					return
				}
			}
		}()
	}
	wg.Wait()
	accepted := time.Since(start)
	// Every accepted run must also finish: the queue drains.
	for {
		var q struct {
			Queued, Running int
		}
		_, m, _ := do(b, "GET", f.d.URL()+"/api/queue", f.token, "")
		q.Queued, q.Running = int(m["queued"].(float64)), int(m["running"].(float64))
		if q.Queued == 0 && q.Running == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	done := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/accepted.Seconds(), "accepted-runs/s")
	b.ReportMetric(float64(b.N)/done.Seconds(), "completed-runs/s")
	b.ReportMetric(0, "ns/op")
}
