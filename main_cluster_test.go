//go:build linux

package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/pgtest"
)

// markWorkflow's one shell node appends "<runId> <serve pid>" to marks.txt.
const markWorkflow = `{"name":"mark","nodes":[{"id":"mark","tool":"shell","params":{"command":"echo \"$FLOWWEAVER_RUN_ID $PPID\" >> \"$FLOWWEAVER_PROJECT_DIR/marks.txt\""}}]}`

// waitRunsDone waits until every run in ids has finished, as node sees it.
func (e *clusterEnv) waitRunsDone(node *server, ids map[string]bool) map[string]string {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		all := e.runs(node)
		done := 0
		for id := range ids {
			switch all[id] {
			case "succeeded", "failed", "canceled":
				done++
			}
		}
		if done == len(ids) {
			return all
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d of %d runs finished", done, len(ids))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestTwoServesExecuteEachOf1000RunsExactlyOnce: 1,000 runs started
// through both nodes of one database; each one's shell node ran exactly
// once, on one of the two nodes, and both nodes worked.
func TestTwoServesExecuteEachOf1000RunsExactlyOnce(t *testing.T) {
	e := newClusterEnv(t, pgtest.DB(t), 2)
	e.workflow("mark", markWorkflow)
	const total = 1000
	var mu sync.Mutex
	ids := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := e.nodes[c%2]
			for range total / 8 {
				id, _, err := e.tryStartRun(node, "mark")
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				ids[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(ids) != total {
		t.Fatalf("%d distinct run ids for %d starts", len(ids), total)
	}
	status := e.waitRunsDone(e.nodes[1], ids)
	perRun := map[string]int{}
	perNode := map[string]int{}
	for _, m := range e.marks() {
		perRun[m[0]]++
		perNode[m[1]]++
	}
	for id := range ids {
		if status[id] != "succeeded" {
			t.Errorf("run %s: %s", id, status[id])
		}
		if perRun[id] != 1 {
			t.Errorf("run %s executed %d times", id, perRun[id])
		}
	}
	if len(perRun) != total {
		t.Errorf("%d runs executed, %d started", len(perRun), total)
	}
	pids := map[string]bool{strconv.Itoa(e.nodes[0].cmd.Process.Pid): true, strconv.Itoa(e.nodes[1].cmd.Process.Pid): true}
	for pid, n := range perNode {
		if !pids[pid] {
			t.Errorf("%d runs executed by process %s, which is neither node", n, pid)
		}
	}
	if len(perNode) != 2 {
		t.Errorf("runs per node %v: want both nodes to execute runs", perNode)
	}
	t.Logf("runs per serve process: %v", perNode)
}

// gatedWorkflow: "first" marks itself, "second" marks its start, waits for
// the file "gate" in the project folder, then marks its end.
const gatedWorkflow = `{"name":"gated","nodes":[` +
	`{"id":"first","tool":"shell","params":{"command":"echo \"first $FLOWWEAVER_RUN_ID $PPID\" >> marks.txt"}},` +
	`{"id":"second","tool":"shell","params":{"command":"echo \"second-start $FLOWWEAVER_RUN_ID $PPID\" >> marks.txt; while [ ! -e gate ]; do sleep 0.05; done; echo \"second-end $FLOWWEAVER_RUN_ID $PPID\" >> marks.txt"}}],` +
	`"edges":[{"source":"first","target":"second"}]}`

// TestSocketOnNodeBSeesEveryEventOfRunsOnNodeA: runs executed by node A
// (node B starts once A holds them) stream to a socket on node B live,
// every event in order, exactly as the log holds them.
func TestSocketOnNodeBSeesEveryEventOfRunsOnNodeA(t *testing.T) {
	e := newClusterEnv(t, pgtest.DB(t), 1)
	e.workflow("gated", gatedWorkflow)
	const runs = 8
	var ids []string
	for range runs {
		id, _, err := e.tryStartRun(e.nodes[0], "gated")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	waitUntil(t, "node A holds every run", func() bool {
		n := 0
		for _, m := range e.marks() {
			if m[0] == "second-start" {
				n++
			}
		}
		return n == runs
	})
	b := e.addNode()
	ws := dialNode(t, b, e.tok, e.projectID)
	after := map[string]int64{}
	for _, id := range ids {
		sub := ws.subscribe("run:" + id)
		var p struct {
			LastSeq int64 `json:"lastSeq"`
		}
		_ = jsonUnmarshal(sub.Payload, &p)
		after[id] = p.LastSeq
	}
	ws.subscribe("project:" + e.projectID)
	if err := os.WriteFile(filepath.Join(e.projectDir, "gate"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		ws.waitFrame("run.completed of "+id, func(f wsFrame) bool { return f.Channel == "run:"+id && f.Event == "run.completed" })
	}
	aPID := strconv.Itoa(e.nodes[0].cmd.Process.Pid)
	for _, m := range e.marks() {
		if m[len(m)-1] != aPID {
			t.Fatalf("mark %v not from node A (pid %s)", m, aPID)
		}
	}
	for _, id := range ids {
		var want []wsFrame
		for _, ev := range e.logEvents(e.nodes[0], "run:"+id) {
			if ev.Seq > after[id] {
				want = append(want, ev)
			}
		}
		if len(want) == 0 {
			t.Fatalf("run %s: nothing logged after the subscription", id)
		}
		checkSameEvents(t, "run "+id, ws.channelFrames("run:"+id), want)
	}
}

// TestKill9OfNodeAMidRunNodeBFinishesIt: node A runs "first" and is
// killed with -9 in "second"; node B rescues the run once A's heartbeat is
// stale and finishes it without running "first" again.
func TestKill9OfNodeAMidRunNodeBFinishesIt(t *testing.T) {
	e := newClusterEnv(t, pgtest.DB(t), 1)
	e.workflow("gated", gatedWorkflow)
	runID, _, err := e.tryStartRun(e.nodes[0], "gated")
	if err != nil {
		t.Fatal(err)
	}
	countMarks := func(kind string) (n int, pids []string) {
		for _, m := range e.marks() {
			if m[0] == kind && m[1] == runID {
				n++
				pids = append(pids, m[2])
			}
		}
		return n, pids
	}
	waitUntil(t, "node A in the second node", func() bool { n, _ := countMarks("second-start"); return n == 1 })
	a := e.nodes[0]
	aPID := strconv.Itoa(a.cmd.Process.Pid)
	b := e.addNode()
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	waitUntil(t, "node B re-runs the second node", func() bool { n, _ := countMarks("second-start"); return n == 2 })
	if err := os.WriteFile(filepath.Join(e.projectDir, "gate"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	var run map[string]any
	for {
		_, run = getJSON(t, b.url+"/api/runs/"+runID, e.tok)
		if s := run["status"]; s == "succeeded" || s == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run never finished on node B: %v", run)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if run["status"] != "succeeded" {
		t.Fatalf("run %v", run)
	}
	bPID := strconv.Itoa(b.cmd.Process.Pid)
	if n, pids := countMarks("first"); n != 1 || pids[0] != aPID {
		t.Errorf("first ran %d times by %v, want once by node A (%s)", n, pids, aPID)
	}
	if _, pids := countMarks("second-start"); pids[0] != aPID || pids[1] != bPID {
		t.Errorf("second started by %v, want A (%s) then B (%s)", pids, aPID, bPID)
	}
	if n, pids := countMarks("second-end"); n != 1 || pids[0] != bPID {
		t.Errorf("second ended %d times by %v, want once by node B (%s)", n, pids, bPID)
	}
}

// TestPostgresRestartUnderLoadLosesNothingAcknowledged: runs are started
// on two nodes without pause while PostgreSQL restarts twice (fast, then
// a crash); the nodes reconnect by themselves, every acknowledged run
// finishes, and a socket on node B that stayed open saw each one end.
func TestPostgresRestartUnderLoadLosesNothingAcknowledged(t *testing.T) {
	pgtest.Skip(t)
	ctx := context.Background()
	srv, err := pgtest.Start(ctx, pgtest.Options{SynchronousCommit: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()
	e := newClusterEnv(t, pgtest.DBOn(t, srv), 2)
	e.workflow("mark", markWorkflow)
	ws := dialNode(t, e.nodes[1], e.tok, e.projectID)
	ws.subscribe("project:" + e.projectID)

	var mu sync.Mutex
	acked := map[string]bool{}
	refused := map[int]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				id, code, err := e.tryStartRun(e.nodes[c%2], "mark")
				mu.Lock()
				if err == nil {
					acked[id] = true
				} else {
					refused[code]++
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	ackedNow := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	for _, how := range []pgtest.Shutdown{pgtest.ShutdownFast, pgtest.ShutdownKill} {
		before := ackedNow()
		waitUntil(t, "runs acknowledged before the restart", func() bool { return ackedNow() >= before+30 })
		if err := srv.Restart(ctx, how); err != nil {
			t.Fatal(err)
		}
		after := ackedNow()
		waitUntil(t, "runs acknowledged after the restart", func() bool { return ackedNow() >= after+30 })
	}
	close(stop)
	wg.Wait()
	t.Logf("%d runs acknowledged, refused by status: %v", len(acked), refused)
	for code := range refused {
		if code != 503 && code != 0 {
			t.Errorf("%d start(s) refused with HTTP %d during the outage, want 503 (retry)", refused[code], code)
		}
	}
	status := e.waitRunsDone(e.nodes[0], acked)
	perRun := map[string]int{}
	for _, m := range e.marks() {
		perRun[m[0]]++
	}
	for id := range acked {
		if status[id] != "succeeded" {
			t.Errorf("acknowledged run %s: %s", id, status[id])
		}
		if perRun[id] == 0 {
			t.Errorf("acknowledged run %s never executed", id)
		}
	}
	for id := range acked {
		ws.waitFrame("run.completed of "+id+" on node B's socket", func(f wsFrame) bool {
			return f.Event == "run.completed" && f.Channel == "project:"+e.projectID && string(f.Payload) != "" && containsRun(f.Payload, id)
		})
	}
}
