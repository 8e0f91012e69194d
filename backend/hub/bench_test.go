package hub

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/flowweaver/flowweaver/backend/cputime"
	"github.com/flowweaver/flowweaver/backend/flow"
)

// BenchmarkFanout publishes durable events through the real store (every
// event is a committed SQLite transaction) to subs WebSocket clients of one
// project, paced at rate events/s (0 = as fast as possible). It reports
// deliveries/s and the publish->receive latency (from the AppendEvent call
// to the client having decoded the frame). Clients run in the same process,
// so their decoding competes for the same CPUs.
func BenchmarkFanout(b *testing.B) {
	for _, delay := range []time.Duration{0, 2 * time.Millisecond} {
		for _, bc := range []struct{ subs, rate int }{{100, 1000}, {10, 5000}, {100, 0}, {10, 0}} {
			name := fmt.Sprintf("delay=%s/subs=%d/rate=%d", delay, bc.subs, bc.rate)
			if bc.rate == 0 {
				name = fmt.Sprintf("delay=%s/subs=%d/rate=max", delay, bc.subs)
			}
			b.Run(name, func(b *testing.B) { benchFanout(b, bc.subs, bc.rate, delay) })
		}
	}
}

// BenchmarkFanoutBatch compares the two framings for 100 subscribers:
// flowweaver.v1 (one frame per message) and the opt-in flowweaver.v1.batch
// (a drained queue as newline-joined frames). Clients and server share the
// process, so cpu-us/delivery (the process's user+system time per delivery)
// is what both sides spend together.
//
//	go test ./backend/hub/ -run '^$' -bench FanoutBatch -benchtime 3000x -count 3
func BenchmarkFanoutBatch(b *testing.B) {
	for _, rate := range []int{1000, 0} {
		for _, batch := range []bool{false, true} {
			name := fmt.Sprintf("batch=%v/subs=100/rate=%d", batch, rate)
			if rate == 0 {
				name = fmt.Sprintf("batch=%v/subs=100/rate=max", batch)
			}
			b.Run(name, func(b *testing.B) {
				// A queue deep enough for the back-to-back case: this
				// measures the framing, not slow-consumer eviction (with the
				// default 1024 the in-process plain clients are sometimes
				// evicted at max rate).
				benchFanoutFraming(b, 100, rate, func(c *Config) { c.OutboundQueue = 1 << 16 }, batch)
			})
		}
	}
}

func benchFanout(b *testing.B, subs, rate int, delay time.Duration) {
	benchFanoutFraming(b, subs, rate, func(c *Config) { c.WriteDelay = delay }, false)
}

func benchFanoutFraming(b *testing.B, subs, rate int, mod func(*Config), batch bool) {
	e := newBenchEnv(b, mod)
	clients := make([]*client, subs)
	for i := range clients {
		c, err := dialFraming(e.wsURL("p1"), fmt.Sprintf("ok.u.s%d", i/16), batch)
		if err != nil {
			b.Fatal(err)
		}
		c.t = b
		if !batch {
			c.read() // welcome
			c.subscribe("project:p1", nil, "s")
		} else {
			subscribeBatch(b, c)
		}
		clients[i] = c
	}
	n := b.N
	lat := make([][]time.Duration, subs)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func(i int, c *client) {
			defer wg.Done()
			ls := make([]time.Duration, 0, n)
			for len(ls) < n {
				// Cheap client: find "t": instead of decoding the frame, so
				// the in-process clients take less of the shared CPU. A
				// batch message holds one frame per line.
				_, msg, err := c.ws.Read(context.Background())
				if err != nil {
					b.Error(err)
					return
				}
				now := time.Now().UnixNano()
				for len(msg) > 0 {
					data := msg
					if k := bytes.IndexByte(msg, '\n'); k >= 0 {
						data, msg = msg[:k], msg[k+1:]
					} else {
						msg = nil
					}
					k := bytes.Index(data, []byte(`"t":`))
					if k < 0 {
						b.Errorf("frame without t: %s", data)
						return
					}
					rest := data[k+4:]
					end := bytes.IndexAny(rest, ",}")
					sent, err := strconv.ParseInt(string(rest[:end]), 10, 64)
					if err != nil {
						b.Error(err)
						return
					}
					ls = append(ls, time.Duration(now-sent))
				}
			}
			lat[i] = ls
		}(i, c)
	}
	b.ResetTimer()
	cpu0 := cputime.Process()
	start := time.Now()
	for i := 0; i < n; i++ {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
				time.Sleep(d)
			}
		}
		ev := flow.NewEvent("p1", flow.EventNotification, "", "", map[string]any{"level": "info", "message": "benchmark event", "t": time.Now().UnixNano()})
		if err := e.db.AppendEvent(context.Background(), &ev); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cputime.Process() - cpu0
	b.StopTimer()
	var all []time.Duration
	for _, ls := range lat {
		all = append(all, ls...)
	}
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(len(all))/elapsed.Seconds(), "deliveries/s")
		b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(cpu.Microseconds())/float64(len(all)), "cpu-us/delivery")
	}
	for _, c := range clients {
		c.close()
	}
}

// BenchmarkIdleConnection measures what the server holds per idle
// connection: heap + stack bytes and goroutines. The clients are raw TCP
// connections that did the HTTP upgrade by hand and then stay silent, so
// (apart from one net.Conn each) the numbers are the server side.
func BenchmarkIdleConnection(b *testing.B) {
	const conns = 500
	e := newBenchEnv(b, nil)
	for i := 0; i < b.N; i++ {
		runtime.GC()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		var raws []net.Conn
		for j := 0; j < conns; j++ {
			raws = append(raws, rawUpgrade(b, e.srv.Listener.Addr().String(), fmt.Sprintf("ok.u.s%d", j/16)))
		}
		waitFor(b, "connections registered", func() bool { total, _ := e.hub.Connections(); return total == conns })
		time.Sleep(100 * time.Millisecond) // let welcome writes finish
		runtime.GC()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		g1 := runtime.NumGoroutine()
		if path := os.Getenv("HUB_HEAP_PROFILE"); path != "" {
			if f, err := os.Create(path); err == nil {
				_ = pprof.WriteHeapProfile(f)
				_ = f.Close()
			}
		}
		mem := float64((after.HeapAlloc+after.StackInuse)-(before.HeapAlloc+before.StackInuse)) / conns
		b.ReportMetric(mem, "bytes/conn")
		b.ReportMetric(float64(g1-g0)/conns, "goroutines/conn")
		for _, r := range raws {
			_ = r.Close()
		}
		waitFor(b, "connections closed", func() bool { total, _ := e.hub.Connections(); return total == 0 })
	}
}

func rawUpgrade(b testing.TB, addr, token string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	req := "GET /ws?projectId=p1 HTTP/1.1\r\nHost: " + addr + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer " + token + "\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		b.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		b.Fatalf("upgrade: %v %v", resp, err)
	}
	return c
}

// newBenchEnv is newEnv for benchmarks (one project "p1", cap raised).
func newBenchEnv(b *testing.B, mod func(*Config)) *env {
	return newEnvTB(b, func(c *Config) {
		c.MaxConnsPerSession = 1 << 20
		if mod != nil {
			mod(c)
		}
	}, "p1")
}

// dialFraming dials like dialClient, offering SubprotocolBatch when batch.
func dialFraming(url, token string, batch bool) (*client, error) {
	if !batch {
		return dialClient(url, token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPHeader:   http.Header{"Authorization": {"Bearer " + token}},
		Subprotocols: []string{SubprotocolBatch},
	})
	if err != nil {
		return nil, err
	}
	if ws.Subprotocol() != SubprotocolBatch {
		return nil, fmt.Errorf("subprotocol %q", ws.Subprotocol())
	}
	ws.SetReadLimit(-1)
	return &client{ws: ws}, nil
}

// subscribeBatch joins project:p1 on a batch connection and reads up to the
// subscribed reply (the welcome may share its message).
func subscribeBatch(b *testing.B, c *client) {
	c.send(map[string]any{"event": "subscribe", "channel": "project:p1", "ref": "s"})
	for {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		_, msg, err := c.ws.Read(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		if bytes.Contains(msg, []byte(`"event":"subscribed"`)) {
			return
		}
	}
}
