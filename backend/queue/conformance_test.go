package queue_test

// Queue guarantees that matter once several pools (on PostgreSQL: several
// nodes) share one database. Like the rest of this package's tests they run
// on the backend FW_STORE selects.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/store/storetest"
)

// nodeDBs returns n handles on one fresh database, as n nodes would open
// it. SQLite allows one process per data dir, so its nodes share the one
// handle; on PostgreSQL each has its own connection pool.
func nodeDBs(t testing.TB, n int, projects ...string) []*store.DB {
	t.Helper()
	dsn := storetest.DSN(t)
	first := storetest.OpenDSN(t, dsn, store.Options{})
	for _, p := range projects {
		if err := first.CreateProject(context.Background(), &flow.Project{ID: p, Name: p, Path: "/work/" + p}); err != nil {
			t.Fatal(err)
		}
	}
	dbs := []*store.DB{first}
	for len(dbs) < n {
		if storetest.Backend() == store.SQLite {
			dbs = append(dbs, first)
			continue
		}
		dbs = append(dbs, storetest.OpenDSN(t, dsn, store.Options{}))
	}
	return dbs
}

// TestClaimExclusivityAcrossPools: four pools on their own connections
// drain 600 jobs of three projects; every job runs exactly once and ends
// completed, and no project ever has more jobs running than its limit.
func TestClaimExclusivityAcrossPools(t *testing.T) {
	dbs := nodeDBs(t, 4, "p1", "p2", "p3")
	const jobs, limit = 600, 3
	var mu sync.Mutex
	runs := map[int64]int{}
	running := map[string]int{}
	maxRunning := map[string]int{}
	var pools []*queue.Queue
	for i, db := range dbs {
		q := newQueue(t, db, queue.Config{Workers: 4, ProjectLimit: limit, Owner: fmt.Sprintf("node%d/1/pool", i), // pid 1 exists: alive
			PollInterval: 20 * time.Millisecond})
		q.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error {
			mu.Lock()
			runs[j.ID]++
			running[j.ProjectID]++
			maxRunning[j.ProjectID] = max(maxRunning[j.ProjectID], running[j.ProjectID])
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			running[j.ProjectID]--
			mu.Unlock()
			return nil
		}})
		pools = append(pools, q)
	}
	var ids []int64
	for i := range jobs {
		ids = append(ids, enqueue(t, dbs[0], pools[0], queue.NewJob{ProjectID: fmt.Sprint("p", 1+i%3), Kind: "k"}))
	}
	for _, q := range pools {
		if err := q.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		waitState(t, pools[0], id, queue.Completed)
	}
	for _, q := range pools {
		stop(t, q)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		if runs[id] != 1 {
			t.Fatalf("job %d ran %d times", id, runs[id])
		}
	}
	for p, n := range maxRunning {
		if n > limit {
			t.Fatalf("project %s had %d jobs running at once, limit %d", p, n, limit)
		}
	}
}

// TestRescueOfSilentNode: a node claims a job and then goes silent (its
// process on another machine froze or lost its network: no heartbeat, and
// its lease is still far from expiring). Another node's rescuer leaves the
// job alone while the node's heartbeat is fresh, takes it back once the
// heartbeat is stale, and runs it; the silent node's late completion is
// fenced off.
func TestRescueOfSilentNode(t *testing.T) {
	dbs := nodeDBs(t, 2, "p1")
	const stale = 2 * time.Second
	silent := "otherhost/4242/silent" // another host: no pid check can tell
	survivor := newQueue(t, dbs[1], queue.Config{LeaseDuration: time.Hour, NodeStaleAfter: stale, PollInterval: 20 * time.Millisecond})
	ran := make(chan int, 1)
	survivor.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error { ran <- j.Attempt; return nil }})
	id := enqueue(t, dbs[0], survivor, queue.NewJob{ProjectID: "p1", Kind: "k"})

	ctx := context.Background()
	st := queue.NewStore(dbs[0])
	if err := st.BeatNode(ctx, silent); err != nil {
		t.Fatal(err)
	}
	now := st.Now()
	claimed, err := st.Claim(ctx, silent, 1, now, now.Add(time.Hour), 0)
	if err != nil || len(claimed) != 1 || claimed[0].ID != id {
		t.Fatalf("claim by the soon-silent node: %v %+v", err, claimed)
	}
	// Fresh heartbeat: nothing to rescue (checked only when the beat and
	// the rescue were closer together than the stale limit, which a very
	// loaded machine may not manage).
	before := time.Now()
	if err := st.BeatNode(ctx, silent); err != nil {
		t.Fatal(err)
	}
	n, err := survivor.Rescue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(before) < stale && n != 0 {
		t.Fatalf("rescued %d jobs of a node with a fresh heartbeat", n)
	}
	if err := survivor.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer stop(t, survivor)
	// Start rescues once; after that the survivor's rescue loop (every
	// LeaseDuration/3 = 20 min here) is too slow for a test: rescue by
	// hand until the node is stale.
	deadline := time.Now().Add(30 * time.Second)
	for j := getJob(t, survivor, id); j.Owner == silent; j = getJob(t, survivor, id) {
		if time.Now().After(deadline) {
			t.Fatal("the job of a silent node was never rescued")
		}
		time.Sleep(50 * time.Millisecond)
		if _, err := survivor.Rescue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case attempt := <-ran:
		if attempt != 2 {
			t.Fatalf("rescued job ran as attempt %d", attempt)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("rescued job did not run")
	}
	j := waitState(t, survivor, id, queue.Completed)
	if j.Crashes != 1 || j.Errors != 0 || !strings.Contains(j.LastError, silent) {
		t.Fatalf("after rescue: %+v", j)
	}
	if got := queue.Interruption(&j); got != "server restarted" {
		t.Fatalf("interruption %q", got)
	}
	// The silent node wakes up and reports completion: fenced.
	err = dbs[0].Write(ctx, func(tx *store.Tx) error {
		return st.Finish(ctx, tx, claimed[0].Lease(), queue.Finish{State: queue.Completed})
	})
	if !errors.Is(err, queue.ErrLeaseLost) {
		t.Fatalf("late finish of the silent node: %v", err)
	}
}

// TestEnqueueAndAppendCommitTogether: a job and the events of the same
// transaction exist together or not at all.
func TestEnqueueAndAppendCommitTogether(t *testing.T) {
	db := openDB(t, "p1")
	q := newQueue(t, db, queue.Config{})
	ctx := context.Background()
	write := func(fail bool) error {
		return db.Write(ctx, func(tx *store.Tx) error {
			if _, err := q.Enqueue(ctx, tx, queue.NewJob{ProjectID: "p1", Kind: "k", Ref: "r1"}); err != nil {
				return err
			}
			ev := flow.NewEvent("p1", flow.EventRunQueued, "r1", "w1", map[string]string{"runId": "r1"})
			if err := tx.AppendEvent(ctx, &ev); err != nil {
				return err
			}
			if fail {
				return errRollback
			}
			return nil
		})
	}
	if err := write(true); !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	jobs, _ := q.List(ctx, queue.Filter{})
	evs, _ := db.EventsSince(ctx, "p1", 0, 10)
	if len(jobs) != 0 || len(evs) != 0 {
		t.Fatalf("after rollback: %d jobs, %d events", len(jobs), len(evs))
	}
	if err := write(false); err != nil {
		t.Fatal(err)
	}
	jobs, _ = q.List(ctx, queue.Filter{})
	evs, _ = db.EventsSince(ctx, "p1", 0, 10)
	if len(jobs) != 1 || len(evs) != 1 || evs[0].Seq != 1 {
		t.Fatalf("after commit: %d jobs, %+v", len(jobs), evs)
	}
}

var errRollback = errors.New("roll back on purpose")

// TestClaimOnlyProjectsTheNodeSees: on a shared database a node that
// advertises the project folders it can see (SetNodeInfo paths) claims
// only their jobs; a node that advertises none claims any. (SQLite has one
// node, which sees every project.)
func TestClaimOnlyProjectsTheNodeSees(t *testing.T) {
	if storetest.Backend() != store.Postgres {
		t.Skip("one node per SQLite database: it sees every project")
	}
	dbs := nodeDBs(t, 1, "p1", "p2")
	db := dbs[0]
	ctx := context.Background()
	st := queue.NewStore(db)
	q := newQueue(t, db, queue.Config{})
	j1 := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k"})
	j2 := enqueue(t, db, q, queue.NewJob{ProjectID: "p2", Kind: "k"})
	for _, owner := range []string{"a/1/sees-p2", "b/1/sees-all"} {
		if err := st.BeatNode(ctx, owner); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetNodeInfo(ctx, "a/1/sees-p2", "", []string{"/work/p2", "/elsewhere"}, nil); err != nil {
		t.Fatal(err)
	}
	now := st.Now()
	got, err := st.Claim(ctx, "a/1/sees-p2", 10, now, now.Add(time.Minute), 0)
	if err != nil || len(got) != 1 || got[0].ID != j2 {
		t.Fatalf("node that sees p2 claimed %+v (%v), want job %d only", got, err, j2)
	}
	got, err = st.Claim(ctx, "b/1/sees-all", 10, now, now.Add(time.Minute), 0)
	if err != nil || len(got) != 1 || got[0].ID != j1 {
		t.Fatalf("node that sees all claimed %+v (%v), want job %d", got, err, j1)
	}
	nodes, err := db.Nodes(ctx, time.Minute)
	if err != nil || len(nodes) != 2 {
		t.Fatalf("nodes %+v %v", nodes, err)
	}
	for _, n := range nodes {
		if !n.Alive || (n.ID == "a/1/sees-p2") != (len(n.Paths) == 2) || n.Host == "" {
			t.Fatalf("node %+v", n)
		}
	}
}

// TestFinishedJobsStayReadable: completed and canceled jobs (on
// PostgreSQL moved out of the hot table) are still found by id and in
// lists, keep their state, and are pruned by age.
func TestFinishedJobsStayReadable(t *testing.T) {
	db := openDB(t, "p1")
	q := newQueue(t, db, queue.Config{})
	ctx := context.Background()
	st := q.Store()
	done := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k"})
	canceled := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k"})
	now := st.Now()
	c, err := st.Claim(ctx, "w", 1, now, now.Add(time.Minute), 0)
	if err != nil || len(c) != 1 || c[0].ID != done {
		t.Fatalf("claim %+v %v", c, err)
	}
	err = db.Write(ctx, func(tx *store.Tx) error {
		if err := st.Finish(ctx, tx, c[0].Lease(), queue.Finish{State: queue.Completed}); err != nil {
			return err
		}
		_, err := st.RequestCancel(ctx, tx, canceled)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if j := getJob(t, q, done); j.State != queue.Completed || j.FinishedAt == nil || j.Attempt != 1 {
		t.Fatalf("completed job %+v", j)
	}
	if j := getJob(t, q, canceled); j.State != queue.Canceled || !j.CancelRequested {
		t.Fatalf("canceled job %+v", j)
	}
	var again queue.State
	_ = db.Write(ctx, func(tx *store.Tx) error {
		again, err = st.RequestCancel(ctx, tx, done)
		return err
	})
	if err != nil || again != queue.Completed {
		t.Fatalf("cancel of a completed job: %s %v", again, err)
	}
	list, err := q.List(ctx, queue.Filter{})
	if err != nil || len(list) != 2 || list[0].ID != canceled || list[1].ID != done {
		t.Fatalf("list %+v %v", list, err)
	}
	if s, _ := q.Stats(ctx); s.Queued != 0 || s.Running != 0 {
		t.Fatalf("stats %+v", s)
	}
	if n, err := db.PruneJobs(ctx, st.Now().Add(time.Minute)); err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want 2", n, err)
	}
	if _, ok, _ := st.Get(ctx, done); ok {
		t.Fatal("pruned job still readable")
	}
}

// unreachableStore fails heartbeats while down is set, as a database that
// cannot be reached would.
type unreachableStore struct {
	queue.Store
	down *atomic.Bool
}

func (s unreachableStore) Heartbeat(ctx context.Context, owner string, until time.Time) (map[int64]int, error) {
	if s.down.Load() {
		return nil, errors.New("connection refused")
	}
	return s.Store.Heartbeat(ctx, owner, until)
}

// TestJobStopsWhenItsLeaseRunsOutUnreachable: a worker that cannot reach
// the database to extend its lease stops the job once the lease has run
// out by its own clock (another node may run it by then), with
// ErrLeaseLost; while the lease lasts it keeps going.
func TestJobStopsWhenItsLeaseRunsOutUnreachable(t *testing.T) {
	db := openDB(t, "p1")
	clk := &clock{t: time.Now()}
	down := &atomic.Bool{}
	q, err := queue.New(queue.Config{Store: unreachableStore{queue.NewStore(db), down}, Now: clk.Now, LeaseDuration: time.Hour,
		HeartbeatInterval: 50 * time.Minute, RescueInterval: 50 * time.Minute, OwnerAlive: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	cause := make(chan error, 1)
	q.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error {
		close(started)
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return ctx.Err()
	}})
	enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k"})
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(t, q)
	<-started
	down.Store(true)
	clk.Add(30 * time.Minute)
	q.Heartbeat(context.Background())
	select {
	case c := <-cause:
		t.Fatalf("job stopped (%v) while its lease still lasted", c)
	default:
	}
	clk.Add(31 * time.Minute)
	q.Heartbeat(context.Background())
	select {
	case c := <-cause:
		if !errors.Is(c, queue.ErrLeaseLost) {
			t.Fatalf("cause %v", c)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("job kept running after its lease ran out")
	}
}
