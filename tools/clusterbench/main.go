// Command clusterbench measures Flow Weaver from the outside, on real
// `flowweaver serve` processes: runs per second with one or more nodes
// (PostgreSQL, started here as a throwaway cluster, or SQLite), and the
// cross-node event latency (a notification published through node A's
// REST API until its frame arrives on a WebSocket of node B).
//
//	go build -o build/bin/flowweaver . && go run ./tools/clusterbench -mode runs -store postgres -nodes 2
//	go run ./tools/clusterbench -mode latency -nodes 2
//
// The numbers it prints are quoted in docs/benchmarks.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/flowweaver/flowweaver/backend/pgtest"
)

func main() {
	mode := flag.String("mode", "runs", "runs (runs/s) or latency (cross-node event latency)")
	storeKind := flag.String("store", "postgres", "postgres (a throwaway PostgreSQL 15 cluster) or sqlite (one node only)")
	durability := flag.String("pg-durability", "fsync", "fsync: every commit flushed to disk (production settings); os: commits written to the OS but not flushed (fsync off), like SQLite's WAL with synchronous=NORMAL")
	nodes := flag.Int("nodes", 2, "serve processes")
	runs := flag.Int("runs", 2000, "runs to start (mode runs)")
	clients := flag.Int("clients", 16, "concurrent HTTP clients starting runs")
	events := flag.Int("events", 2000, "notifications to publish (mode latency)")
	rate := flag.Int("rate", 200, "notifications per second (mode latency)")
	bin := flag.String("bin", "build/bin/flowweaver", "the flowweaver binary")
	flag.Parse()
	opts := pgtest.Options{Durable: true}
	if *durability == "os" {
		opts = pgtest.Options{SynchronousCommit: true}
	} else if *durability != "fsync" {
		fmt.Fprintln(os.Stderr, "clusterbench: -pg-durability is fsync or os")
		os.Exit(2)
	}
	if err := run(*mode, *storeKind, opts, *nodes, *runs, *clients, *events, *rate, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(1)
	}
}

func run(mode, storeKind string, pgOpts pgtest.Options, nodes, runs, clients, events, rate int, bin string) error {
	ctx := context.Background()
	dsn := ""
	switch storeKind {
	case "postgres":
		srv, err := pgtest.Start(ctx, pgOpts)
		if err != nil {
			return err
		}
		defer func() { _ = srv.Stop() }()
		if dsn, err = srv.CreateDatabase(ctx, "bench"); err != nil {
			return err
		}
	case "sqlite":
		if nodes != 1 {
			return errors.New("SQLite serves one node per data dir: use -nodes 1")
		}
	default:
		return fmt.Errorf("unknown -store %q", storeKind)
	}
	c, err := startCluster(bin, dsn, nodes)
	if err != nil {
		return err
	}
	defer c.stop()
	switch mode {
	case "runs":
		label := storeKind
		if storeKind == "postgres" {
			label += map[bool]string{true: " (fsync on)", false: " (fsync off)"}[pgOpts.Durable]
		}
		return c.benchRuns(runs, clients, label)
	case "latency":
		if nodes < 2 {
			return errors.New("latency needs -nodes 2 or more")
		}
		return c.benchLatency(events, rate)
	}
	return fmt.Errorf("unknown -mode %q", mode)
}

// cluster is the serve processes, a token and one project.
type cluster struct {
	procs   []*exec.Cmd
	urls    []string
	dirs    []string
	tok     string
	project string
}

func startCluster(bin, dsn string, n int) (*cluster, error) {
	c := &cluster{}
	for range n {
		dir, err := os.MkdirTemp("", "clusterbench-node")
		if err != nil {
			return nil, err
		}
		c.dirs = append(c.dirs, dir)
		args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--secrets-key", "file"}
		if dsn != "" {
			args = append(args, "--db", dsn)
		}
		cmd := exec.Command(bin, args...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			c.stop()
			return nil, fmt.Errorf("start %s: %w", bin, err)
		}
		c.procs = append(c.procs, cmd)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "flowweaver listening on "); ok {
				c.urls = append(c.urls, u)
				break
			}
		}
		go func() { _, _ = io.Copy(io.Discard, out) }()
		if len(c.urls) != len(c.procs) {
			c.stop()
			return nil, errors.New("serve exited before listening")
		}
	}
	tok, err := exec.Command(bin, "token", "--data-dir", c.dirs[0], "--ttl", "2h").Output()
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("token: %w", err)
	}
	c.tok = strings.TrimSpace(string(tok))
	projectDir, err := os.MkdirTemp("", "clusterbench-project")
	if err != nil {
		return nil, err
	}
	c.dirs = append(c.dirs, projectDir)
	var p struct {
		ID string `json:"id"`
	}
	if err := c.call("POST", c.urls[0]+"/api/projects", `{"name":"bench","path":"`+projectDir+`","trusted":true}`, 201, &p); err != nil {
		c.stop()
		return nil, err
	}
	c.project = p.ID
	wf := `{"name":"one","nodes":[{"id":"log","tool":"log","params":{"message":"hi"}}]}`
	if err := c.call("PUT", c.urls[0]+"/api/projects/"+c.project+"/workflows/one", wf, 200, nil); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *cluster) stop() {
	for _, p := range c.procs {
		_ = p.Process.Signal(os.Interrupt)
	}
	for _, p := range c.procs {
		_ = p.Wait()
	}
	for _, d := range c.dirs {
		_ = os.RemoveAll(d)
	}
}

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: time.Minute}

func (c *cluster) call(method, url, body string, want int, out any) error {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// socket subscribes to the project channel on node i and calls onFrame
// with each durable frame and its arrival time, until ctx ends.
func (c *cluster) socket(ctx context.Context, i int, onFrame func(event string, payload []byte, at time.Time)) error {
	url := strings.Replace(c.urls[i], "http://", "ws://", 1) + "/ws?projectId=" + c.project
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + c.tok}}})
	if err != nil {
		return err
	}
	ws.SetReadLimit(1 << 22)
	sub, _ := json.Marshal(map[string]any{"event": "subscribe", "channel": "project:" + c.project, "ref": "s"})
	if err := ws.Write(ctx, websocket.MessageText, sub); err != nil {
		return err
	}
	subscribed := make(chan struct{})
	go func() {
		defer ws.CloseNow()
		var once sync.Once
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			at := time.Now()
			var f struct {
				Event   string          `json:"event"`
				Ref     string          `json:"ref"`
				Seq     int64           `json:"seq"`
				Payload json.RawMessage `json:"payload"`
			}
			if json.Unmarshal(b, &f) != nil {
				continue
			}
			if f.Ref == "s" {
				once.Do(func() { close(subscribed) })
			}
			if f.Seq > 0 {
				onFrame(f.Event, f.Payload, at)
			}
		}
	}()
	select {
	case <-subscribed:
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("no subscribed reply")
	}
}

// benchRuns starts runs through every node round-robin and counts
// run.completed on a socket of the last node (which, on a cluster, sees
// the other nodes' runs through the fan-out).
func (c *cluster) benchRuns(runs, clients int, storeKind string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var done atomic.Int64
	all := make(chan struct{})
	if err := c.socket(ctx, len(c.urls)-1, func(event string, _ []byte, _ time.Time) {
		if event == "run.completed" && done.Add(1) == int64(runs) {
			close(all)
		}
	}); err != nil {
		return err
	}
	start := time.Now()
	var next atomic.Int64
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(runs) {
					return
				}
				url := c.urls[int(i)%len(c.urls)] + "/api/projects/" + c.project + "/workflows/one/runs"
				if err := c.call("POST", url, `{}`, 202, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	accepted := time.Since(start)
	select {
	case err := <-errs:
		return err
	default:
	}
	select {
	case <-all:
	case <-time.After(10 * time.Minute):
		return fmt.Errorf("%d of %d runs completed", done.Load(), runs)
	}
	total := time.Since(start)
	fmt.Printf("| %s | %d node(s) | %d runs | %d clients | accepted in %.2fs | all completed in %.2fs | %.0f runs/s |\n",
		storeKind, len(c.urls), runs, clients, accepted.Seconds(), total.Seconds(), float64(runs)/total.Seconds())
	return nil
}

// benchLatency publishes notifications through node 0 at a steady rate and
// times each one's frame on a socket of node 0 (same node) and of node 1.
func (c *cluster) benchLatency(events, rate int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	sent := map[string]time.Time{}
	lat := map[int][]time.Duration{}
	var got atomic.Int64
	all := make(chan struct{})
	for _, node := range []int{0, 1} {
		if err := c.socket(ctx, node, func(event string, payload []byte, at time.Time) {
			if event != "notification" {
				return
			}
			var p struct {
				Message string `json:"message"`
			}
			_ = json.Unmarshal(payload, &p)
			mu.Lock()
			if t0, ok := sent[p.Message]; ok {
				lat[node] = append(lat[node], at.Sub(t0))
			}
			mu.Unlock()
			if got.Add(1) == int64(2*events) {
				close(all)
			}
		}); err != nil {
			return err
		}
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range events {
		<-tick.C
		msg := fmt.Sprintf("n%d", i)
		body, _ := json.Marshal(map[string]string{"message": msg})
		mu.Lock()
		sent[msg] = time.Now()
		mu.Unlock()
		go func() {
			_ = c.call("POST", c.urls[0]+"/api/projects/"+c.project+"/notifications", string(bytes.TrimSpace(body)), 202, nil)
		}()
	}
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("%d of %d frames arrived", got.Load(), 2*events)
	}
	for _, node := range []int{0, 1} {
		d := lat[node]
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		where := map[int]string{0: "same node (A→A)", 1: "cross-node (A→B)"}[node]
		fmt.Printf("| %s | %d events at %d/s | p50 %.2f ms | p99 %.2f ms | max %.2f ms |\n", where, len(d), rate,
			ms(d[len(d)/2]), ms(d[len(d)*99/100]), ms(d[len(d)-1]))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
