package hub

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// 20 projects x 3 connections, four concurrent publishers writing through
// the real store: every connection gets exactly its project's events of
// each channel, in seq order, and not one frame of another project.
func TestIsolationUnderLoad(t *testing.T) {
	const nProjects, perProject, nEvents, publishers = 20, 3, 150, 4
	var ids []string
	for i := 0; i < nProjects; i++ {
		ids = append(ids, fmt.Sprintf("p%02d", i))
	}
	e := newEnv(t, nil, ids...)
	type conn struct {
		c       *client
		project string
	}
	var conns []conn
	for _, p := range ids {
		e.cmds.addRun(p, "run-"+p)
		for j := 0; j < perProject; j++ {
			c := e.dial(p, fmt.Sprintf("ok.u.%s-%d", p, j))
			c.subscribe("project:"+p, nil, "a")
			c.subscribe("run:run-"+p, nil, "b")
			conns = append(conns, conn{c, p})
		}
	}

	// Each project gets nEvents events; even ones are notifications
	// (project: channel), odd ones node.log of the project's run (run:).
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for w := 0; w < publishers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < nEvents; i++ {
				for p := w; p < nProjects; p += publishers {
					pid := ids[p]
					ev := flow.NewEvent(pid, "notification", "", "", map[string]any{"level": "info", "message": pid})
					if i%2 == 1 {
						ev = flow.NewEvent(pid, "node.log", "run-"+pid, "", map[string]any{"runId": "run-" + pid, "lines": []string{pid}})
					}
					if err := e.db.AppendEvent(context.Background(), &ev); err != nil {
						errs <- err
						return
					}
				}
			}
		}(w)
	}

	var rwg sync.WaitGroup
	failures := make(chan string, len(conns))
	for _, cn := range conns {
		rwg.Add(1)
		go func(cn conn) {
			defer rwg.Done()
			last := map[string]int64{}
			count := map[string]int{}
			for got := 0; got < nEvents; got++ {
				f, err := cn.c.readErr()
				if err != nil {
					failures <- fmt.Sprintf("%s: read: %v", cn.project, err)
					return
				}
				if f.ProjectID != cn.project || !strings.HasSuffix(f.Channel, cn.project) || !strings.Contains(string(f.Payload), cn.project) {
					failures <- fmt.Sprintf("%s got a frame of another project: %+v", cn.project, f)
					return
				}
				if f.Seq <= last[f.Channel] {
					failures <- fmt.Sprintf("%s: seq %d after %d on %s", cn.project, f.Seq, last[f.Channel], f.Channel)
					return
				}
				wantCh := "project:" + cn.project
				if f.Event == "node.log" {
					wantCh = "run:run-" + cn.project
				}
				if f.Channel != wantCh {
					failures <- fmt.Sprintf("%s: %s on %s", cn.project, f.Event, f.Channel)
					return
				}
				last[f.Channel] = f.Seq
				count[f.Channel]++
			}
			// Nothing more may arrive: the next frame is our pong.
			cn.c.send(map[string]string{"event": "ping", "ref": "end"})
			if f, err := cn.c.readErr(); err != nil || f.Event != EventPong {
				failures <- fmt.Sprintf("%s: extra frame %+v (%v)", cn.project, f, err)
			}
			if count["project:"+cn.project] != nEvents/2 || count["run:run-"+cn.project] != nEvents/2 {
				failures <- fmt.Sprintf("%s: counts %v", cn.project, count)
			}
		}(cn)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rwg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	for _, cn := range conns {
		cn.c.close()
	}
}

// Clients drop at random points without a close handshake and come back
// with since = the last seq they saw: across all their sessions they see
// every event of the channel exactly once, in order.
func TestResumeAfterDrops(t *testing.T) {
	const nEvents, resumers = 2000, 3
	e := newEnv(t, func(c *Config) { c.ReplayPage = 64; c.MaxConnsPerSession = 1000 }, "p1")
	e.cmds.addRun("p1", "r1")

	var pub sync.WaitGroup
	pub.Add(1)
	go func() {
		defer pub.Done()
		types := []string{"run.started", "node.log", "notification", "node.completed"}
		for i := 0; i < nEvents; i++ {
			typ := types[i%len(types)]
			run := "r1"
			if typ == "notification" {
				run = ""
			}
			ev := flow.NewEvent("p1", typ, run, "", map[string]any{"runId": run, "i": i})
			if err := e.db.AppendEvent(context.Background(), &ev); err != nil {
				t.Error(err)
				return
			}
		}
	}()

	results := make([][]int64, resumers)
	var wg sync.WaitGroup
	for r := 0; r < resumers; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 7)) //nolint:gosec // G115: r is a loop index, never negative
			channel := "project:p1"
			if r == 2 {
				channel = "run:r1"
			}
			var seen []int64
			since := int64(0)
			for sessions := 0; ; sessions++ {
				c, err := dialClient(e.wsURL("p1"), "ok.u.r"+fmt.Sprint(r))
				if err != nil {
					t.Error(err)
					return
				}
				c.t = t
				if _, err := c.readErr(); err != nil { // welcome
					t.Error(err)
					return
				}
				c.send(map[string]any{"event": "subscribe", "channel": channel, "payload": map[string]any{"since": since}, "ref": "s"})
				f, err := c.readErr()
				if err != nil || f.Event != EventSubscribed || !strings.Contains(string(f.Payload), `"recovered":true`) {
					t.Errorf("subscribe: %+v %v", f, err)
					return
				}
				var lastSeq struct {
					LastSeq int64 `json:"lastSeq"`
				}
				_ = jsonUnmarshal(f.Payload, &lastSeq)
				done := false
				start, startSince := len(seen), since
				for k := rng.IntN(300); k >= 0; k-- {
					f, err := c.readErr()
					if err != nil {
						t.Errorf("read: %v", err)
						return
					}
					if f.Channel != channel || f.Seq == 0 {
						t.Errorf("unexpected frame %+v", f)
						return
					}
					if len(seen) > 0 && f.Seq <= seen[len(seen)-1] {
						t.Logf("resumer %d session %d since %d: dup %d (frame %d of session, lastSeq %d) payload %s", r, sessions, startSince, f.Seq, len(seen)-start, lastSeq.LastSeq, f.Payload)
					}
					seen = append(seen, f.Seq)
					since = f.Seq
					if f.Seq >= finalSeq(channel, nEvents) {
						done = true
						break
					}
				}
				_ = c.ws.CloseNow() // drop: no close handshake
				if done {
					break
				}
			}
			results[r] = seen
		}(r)
	}
	wg.Wait()
	pub.Wait()

	for r, seen := range results {
		channel := "project:p1"
		if r == 2 {
			channel = "run:r1"
		}
		want := expectedSeqs(channel, nEvents)
		for i := 1; i < len(seen); i++ {
			if seen[i] <= seen[i-1] {
				t.Errorf("resumer %d: seq %d after %d at %d", r, seen[i], seen[i-1], i)
			}
		}
		if len(seen) != len(want) {
			t.Fatalf("resumer %d (%s): %d events, want %d", r, channel, len(seen), len(want))
		}
		for i := range want {
			if seen[i] != want[i] {
				t.Fatalf("resumer %d: event %d has seq %d, want %d (gap or duplicate)", r, i, seen[i], want[i])
			}
		}
	}
}

// expectedSeqs lists the seqs of the resume test's events on channel: seq
// i+1 is event i; types cycle run.started, node.log, notification,
// node.completed. project: carries run.* and notification, run:r1 run.*
// and node.*.
func expectedSeqs(channel string, n int) []int64 {
	var out []int64
	for i := 0; i < n; i++ {
		if (channel == "run:r1" && i%4 != 2) || (channel == "project:p1" && (i%4 == 0 || i%4 == 2)) {
			out = append(out, int64(i+1))
		}
	}
	return out
}

func finalSeq(channel string, n int) int64 {
	s := expectedSeqs(channel, n)
	return s[len(s)-1]
}
