//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// kill -9 of serve while chains of log nodes execute on workers. log
// nodes start as soon as their upstream node ended, before that end is
// committed (self-contained nodes, docs/queue.md): whatever the crash cut
// off, every run resumes from its committed checkpoints and succeeds, and
// each run's durable log has every node's node.completed exactly once, in
// chain order, then one run.completed. The chain begins with a delay node
// (self-contained, but not instant), so its runs are not immediate and go
// through the queue and its workers. The test repeats the crash until one
// of them hit a run mid-execution (its job counts a crash: a worker of the
// killed server had it).
func TestKill9MidChainsResumesEveryRunInOrder(t *testing.T) {
	const nodes = 10
	e := newCrashEnv(t, "true")
	e.putChain(nodes, `{"id":"n1","tool":"delay","params":{"ms":1}}`)
	dbPath := filepath.Join(e.dataDir, "flowweaver.db")
	for cycle := 1; ; cycle++ {
		e.startRunsThenKill9(200)
		e.waitAllRunsEnded()
		e.s.stop(t, syscall.SIGTERM)
		interrupted := checkChains(t, dbPath, e.projectID, nodes)
		if interrupted > 0 {
			t.Logf("cycle %d: %d runs were interrupted mid-execution and resumed", cycle, interrupted)
			return
		}
		if cycle == 8 {
			t.Skip("no crash in 8 cycles hit a run mid-execution; nothing was tested")
		}
		e.s = startServe(t, e.dataDir)
	}
}

// kill -9 of serve while runs of a chain of log nodes are started. Those
// runs are immediate (docs/queue.md): each is executed before its start
// commits and written whole, so the crash leaves no half of one. Every run
// whose start was answered 202 is in the database, succeeded, with every
// node's checkpoint and its events in order; the database holds no other
// kind of run, and none has anything left to resume.
func TestKill9DuringImmediateRunsLeavesOnlyWholeRuns(t *testing.T) {
	const nodes = 10
	e := newCrashEnv(t, "true")
	e.putChain(nodes, "")
	accepted := e.startRunsThenKill9(200)
	e.waitAllRunsEnded()
	e.s.stop(t, syscall.SIGTERM)
	dbPath := filepath.Join(e.dataDir, "flowweaver.db")
	checkChains(t, dbPath, e.projectID, nodes) // every run whole, succeeded, in order
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	immediate := 0
	for _, id := range accepted {
		r, err := db.GetRun(ctx, e.projectID, id)
		if err != nil {
			t.Fatalf("run %s was accepted (202) but is not in the database: %v", id, err)
		}
		if r.JobID == 0 {
			immediate++
		}
	}
	if immediate == 0 {
		t.Fatalf("none of %d accepted runs was immediate", len(accepted))
	}
	t.Logf("%d runs accepted, %d of them immediate", len(accepted), immediate)
}

// putChain saves workflow "chain" of nodes log nodes n1 -> n2 -> ...; first,
// when not empty, is the JSON of n1 instead.
func (e *crashEnv) putChain(nodes int, first string) {
	e.t.Helper()
	var wf strings.Builder
	wf.WriteString(`{"name":"chain","nodes":[`)
	for i := 1; i <= nodes; i++ {
		if i > 1 {
			wf.WriteString(",")
		}
		if i == 1 && first != "" {
			wf.WriteString(first)
			continue
		}
		fmt.Fprintf(&wf, `{"id":"n%d","tool":"log","params":{"message":"step %d"}}`, i, i)
	}
	wf.WriteString(`],"edges":[`)
	for i := 2; i <= nodes; i++ {
		if i > 2 {
			wf.WriteString(",")
		}
		fmt.Fprintf(&wf, `{"source":"n%d","target":"n%d"}`, i-1, i)
	}
	wf.WriteString(`]}`)
	if code, res := sendJSON(e.t, "PUT", e.s.url+"/api/projects/"+e.projectID+"/workflows/chain", e.tok, wf.String()); code != 200 {
		e.t.Fatalf("workflow: %d %v", code, res)
	}
}

// startRunsThenKill9 starts runs of "chain" from 8 clients and kills the
// server with -9 once n were accepted, then starts a new one. It returns
// the ids of the runs whose start was answered 202.
func (e *crashEnv) startRunsThenKill9(n int) []string {
	e.t.Helper()
	url := e.s.url + "/api/projects/" + e.projectID + "/workflows/chain/runs"
	var (
		mu       sync.Mutex
		accepted int
		ids      []string
		wg       sync.WaitGroup
	)
	enough := make(chan struct{})
	var once sync.Once
	client := &http.Client{Timeout: 10 * time.Second}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-enough:
					return
				default:
				}
				req, _ := http.NewRequest("POST", url, strings.NewReader(`{}`))
				req.Header.Set("Authorization", "Bearer "+e.tok)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				var started struct {
					RunID string `json:"runId"`
				}
				err = json.NewDecoder(resp.Body).Decode(&started)
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted && err == nil {
					mu.Lock()
					accepted++
					ids = append(ids, started.RunID)
					if accepted >= n {
						once.Do(func() { close(enough) })
					}
					mu.Unlock()
				}
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		e.t.Fatal("runs were not accepted")
	}
	e.kill9AndRestart()
	wg.Wait()
	return ids
}

// waitAllRunsEnded waits until the project has no queued or running run.
func (e *crashEnv) waitAllRunsEnded() {
	e.t.Helper()
	waitUntil(e.t, "every run to end", func() bool {
		_, res := getJSON(e.t, e.s.url+"/api/queue", e.tok)
		q, _ := res["queued"].(float64)
		r, _ := res["running"].(float64)
		rt, _ := res["retryable"].(float64)
		return res != nil && q == 0 && r == 0 && rt == 0
	})
}

// checkChains opens the stopped server's database and checks every run of
// the project; it returns how many runs had an attempt interrupted.
func checkChains(t *testing.T, dbPath, projectID string, nodes int) int {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	rows, err := db.Read().QueryContext(ctx, "SELECT id FROM runs WHERE project_id = ?", projectID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	_ = rows.Close()
	if len(ids) == 0 {
		t.Fatal("no runs")
	}
	interrupted := 0
	for _, id := range ids {
		r, err := db.GetRun(ctx, projectID, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != flow.RunSucceeded || len(r.Nodes) != nodes {
			t.Fatalf("run %s: %s with %d nodes", id, r.Status, len(r.Nodes))
		}
		for _, n := range r.Nodes {
			if n.Status != flow.NodeSucceeded {
				t.Fatalf("run %s: node %s %s", id, n.NodeID, n.Status)
			}
		}
		evs, err := db.EventsAfter(ctx, projectID, "run:"+id, 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		next, ended := 1, false
		for _, ev := range evs {
			var p struct {
				NodeID string `json:"nodeId"`
			}
			_ = json.Unmarshal(ev.Payload, &p)
			switch {
			case ended:
				t.Fatalf("run %s: %s after run.completed", id, ev.Type)
			case ev.Type == flow.EventNodeCompleted:
				if p.NodeID != fmt.Sprintf("n%d", next) {
					t.Fatalf("run %s: node.completed of %s where n%d's was due", id, p.NodeID, next)
				}
				next++
			case ev.Type == flow.EventRunCompleted:
				if next != nodes+1 {
					t.Fatalf("run %s: run.completed after %d of %d nodes completed", id, next-1, nodes)
				}
				ended = true
			}
		}
		if !ended {
			t.Fatalf("run %s: no run.completed", id)
		}
		if r.JobID == 0 {
			continue // an immediate run: it never waited for a worker, nothing could interrupt it
		}
		var crashes int
		if err := db.Read().QueryRowContext(ctx, "SELECT crashes FROM jobs WHERE ref = ?", id).Scan(&crashes); err != nil {
			t.Fatal(err)
		}
		if crashes > 0 {
			interrupted++
		}
	}
	return interrupted
}
