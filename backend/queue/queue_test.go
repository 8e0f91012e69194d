package queue_test

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

func TestMain(m *testing.M) { storetest.Main(m) }

// clock is an injected clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func openDB(t testing.TB, projects ...string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, store.Options{})
	for _, p := range projects {
		if err := db.CreateProject(ctx, &flow.Project{ID: p, Name: p, Path: "/tmp/" + p + t.Name()}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// handlerFunc adapts functions to queue.Handler.
type handlerFunc struct {
	work func(ctx context.Context, j *queue.Job) error
	dead func(j *queue.Job, reason string)
}

func (h handlerFunc) Work(ctx context.Context, j *queue.Job) error { return h.work(ctx, j) }
func (h handlerFunc) Dead(ctx context.Context, tx *store.Tx, j *queue.Job, reason string) error {
	if h.dead != nil {
		h.dead(j, reason)
	}
	return nil
}

func newQueue(t testing.TB, db *store.DB, cfg queue.Config) *queue.Queue {
	t.Helper()
	cfg.Store = queue.NewStore(db)
	q, err := queue.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func enqueue(t testing.TB, db *store.DB, q *queue.Queue, j queue.NewJob) int64 {
	t.Helper()
	var id int64
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		id, err = q.Enqueue(context.Background(), tx, j)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func getJob(t testing.TB, q *queue.Queue, id int64) queue.Job {
	t.Helper()
	j, ok, err := q.Store().Get(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("get job %d: ok=%v err=%v", id, ok, err)
	}
	return j
}

// waitState polls until the job reaches one of states (a hang guard, not
// a timing assertion).
func waitState(t testing.TB, q *queue.Queue, id int64, states ...queue.State) queue.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j := getJob(t, q, id)
		for _, s := range states {
			if j.State == s {
				return j
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d stuck in %s (want %v), last error %q", id, j.State, states, j.LastError)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func stop(t testing.TB, q *queue.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRunsAndCompletes(t *testing.T) {
	db := openDB(t, "p1")
	q := newQueue(t, db, queue.Config{})
	var got atomic.Value
	q.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error {
		got.Store(string(j.Payload))
		return nil
	}})
	id := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k", Payload: []byte("hello")})
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil { // idempotent
		t.Fatal(err)
	}
	j := waitState(t, q, id, queue.Completed)
	stop(t, q)
	stop(t, q) // idempotent
	if got.Load() != "hello" || j.Attempt != 1 || j.FinishedAt == nil {
		t.Fatalf("payload %v, job %+v", got.Load(), j)
	}
	if err := q.Start(context.Background()); err == nil {
		t.Fatal("start after stop should fail")
	}
}

func TestEnqueueRollsBackWithCallersTransaction(t *testing.T) {
	db := openDB(t, "p1")
	q := newQueue(t, db, queue.Config{})
	boom := errors.New("boom")
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		if _, err := q.Enqueue(context.Background(), tx, queue.NewJob{ProjectID: "p1", Kind: "k"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if st, _ := q.Stats(context.Background()); st.Queued != 0 {
		t.Fatalf("rolled back job is queued: %+v", st)
	}
	err = db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := q.Enqueue(context.Background(), tx, queue.NewJob{Kind: "k"})
		return err
	})
	if flow.ErrorCode(err) != flow.EINVALID {
		t.Fatalf("job without project: %v", err)
	}
}

// TestLeaseExpiryRescueAndFencing: a worker claims a job and goes silent;
// once its lease expires (injected clock) the rescuer makes the job
// retryable, a second worker claims it, and the first worker's late finish
// is rejected by the fencing check.
func TestLeaseExpiryRescueAndFencing(t *testing.T) {
	db := openDB(t, "p1")
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := queue.Config{Now: clk.Now, LeaseDuration: 10 * time.Second, BackoffBase: time.Second, BackoffMax: time.Second,
		OwnerAlive: func(string) bool { return true }}
	q := newQueue(t, db, cfg)
	id := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k"})
	ctx := context.Background()
	st := q.Store()

	zombie, err := st.Claim(ctx, "zombie", 1, clk.Now(), clk.Now().Add(10*time.Second), 0)
	if err != nil || len(zombie) != 1 || zombie[0].ID != id || zombie[0].Attempt != 1 {
		t.Fatalf("claim: %v %+v", err, zombie)
	}
	// Lease still valid: nothing to rescue.
	clk.Add(9 * time.Second)
	if n, err := q.Rescue(ctx); err != nil || n != 0 {
		t.Fatalf("rescue before expiry: %d %v", n, err)
	}
	clk.Add(2 * time.Second)
	if n, err := q.Rescue(ctx); err != nil || n != 1 {
		t.Fatalf("rescue after expiry: %d %v", n, err)
	}
	// A crash, not a failure: available again at once, counted in Crashes.
	j := getJob(t, q, id)
	if j.State != queue.Available || j.Errors != 0 || j.Crashes != 1 || j.Owner != "" || j.LastError == "" {
		t.Fatalf("after rescue: %+v", j)
	}
	second, err := st.Claim(ctx, "w2", 1, clk.Now(), clk.Now().Add(10*time.Second), 0)
	if err != nil || len(second) != 1 || second[0].Attempt != 2 {
		t.Fatalf("second claim: %v %+v", err, second)
	}
	// The zombie wakes up and tries to complete: fenced off.
	err = db.Write(ctx, func(tx *store.Tx) error {
		if err := q.LeaseHeld(ctx, tx, zombie[0].Lease()); err != nil {
			return err
		}
		return q.Finish(ctx, tx, zombie[0].Lease(), queue.Finish{State: queue.Completed})
	})
	if !errors.Is(err, queue.ErrLeaseLost) {
		t.Fatalf("zombie finish: %v", err)
	}
	err = db.Write(ctx, func(tx *store.Tx) error {
		return q.Finish(ctx, tx, zombie[0].Lease(), queue.Finish{State: queue.Completed})
	})
	if !errors.Is(err, queue.ErrLeaseLost) {
		t.Fatalf("zombie finish without check: %v", err)
	}
	if j := getJob(t, q, id); j.State != queue.Running || j.Owner != "w2" {
		t.Fatalf("newer claim overwritten: %+v", j)
	}
	// The current holder can finish.
	err = db.Write(ctx, func(tx *store.Tx) error {
		return q.Finish(ctx, tx, second[0].Lease(), queue.Finish{State: queue.Completed})
	})
	if err != nil {
		t.Fatal(err)
	}
	// Heartbeat keeps a lease: claim, extend, move past the first expiry.
	id2 := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k"})
	c, _ := st.Claim(ctx, "w3", 1, clk.Now(), clk.Now().Add(10*time.Second), 0)
	if len(c) != 1 || c[0].ID != id2 {
		t.Fatalf("claim 2: %+v", c)
	}
	clk.Add(8 * time.Second)
	held, err := st.Heartbeat(ctx, "w3", clk.Now().Add(10*time.Second))
	if err != nil || held[id2] != 1 {
		t.Fatalf("heartbeat: %v %v", held, err)
	}
	clk.Add(8 * time.Second)
	if n, _ := q.Rescue(ctx); n != 0 {
		t.Fatal("rescued a heartbeated job")
	}
}

// TestRescueDeadOwnerAtStart: a job held by a process that is gone is
// requeued when a pool starts, without waiting for its lease.
func TestRescueDeadOwnerAtStart(t *testing.T) {
	db := openDB(t, "p1")
	dead := "otherhost/1/dead"
	q := newQueue(t, db, queue.Config{BackoffBase: time.Millisecond, BackoffMax: time.Millisecond,
		OwnerAlive: func(o string) bool { return o != dead }})
	var runs atomic.Int32
	q.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error { runs.Add(1); return nil }})
	id := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k"})
	now := time.Now()
	if c, err := q.Store().Claim(context.Background(), dead, 1, now, now.Add(time.Hour), 0); err != nil || len(c) != 1 {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	j := waitState(t, q, id, queue.Completed)
	stop(t, q)
	if j.Attempt != 2 || j.Errors != 0 || j.Crashes != 1 || runs.Load() != 1 {
		t.Fatalf("job %+v runs %d", j, runs.Load())
	}
}

// Crashes do not use up attempts (MaxAttempts 2 here, six crashes), but a
// job whose worker dies every time ends dead after MaxCrashes, with Dead
// called in the same transaction.
func TestCrashesCountApartWithTheirOwnLimit(t *testing.T) {
	db := openDB(t, "p1")
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	q := newQueue(t, db, queue.Config{Now: clk.Now, LeaseDuration: 10 * time.Second, MaxAttempts: 2, MaxCrashes: 8,
		OwnerAlive: func(string) bool { return false }})
	var dead []string
	q.Handle("k", handlerFunc{dead: func(j *queue.Job, reason string) { dead = append(dead, reason) }})
	id := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k"})
	ctx := context.Background()
	for i := 1; i <= 8; i++ {
		c, err := q.Store().Claim(ctx, fmt.Sprintf("host/%d/x", 1000+i), 1, clk.Now(), clk.Now().Add(10*time.Second), 0)
		if err != nil || len(c) != 1 {
			t.Fatalf("claim %d: %v %+v", i, err, c)
		}
		if n, err := q.Rescue(ctx); err != nil || n != 1 {
			t.Fatalf("rescue %d: %d %v", i, n, err)
		}
		j := getJob(t, q, id)
		if i < 8 && (j.State != queue.Available || j.Crashes != i || j.Errors != 0) {
			t.Fatalf("after crash %d: %+v", i, j)
		}
		if i == 8 && (j.State != queue.Dead || j.Crashes != 8 || len(dead) != 1 || !strings.Contains(dead[0], "8 crashes")) {
			t.Fatalf("after the last crash: %+v, dead %q", j, dead)
		}
	}
}

func TestRetriesWithBackoffThenSucceeds(t *testing.T) {
	db := openDB(t, "p1")
	q := newQueue(t, db, queue.Config{BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond, PollInterval: 5 * time.Millisecond})
	var attempts atomic.Int32
	q.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error {
		if attempts.Add(1) < 3 {
			return fmt.Errorf("flaky %d", j.Attempt)
		}
		return nil
	}})
	id := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k", MaxAttempts: 5})
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	j := waitState(t, q, id, queue.Completed)
	stop(t, q)
	if j.Attempt != 3 || j.Errors != 2 || j.LastError != "flaky 2" {
		t.Fatalf("job %+v", j)
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	db := openDB(t)
	for _, jit := range []float64{0, 0.999} {
		q := newQueue(t, db, queue.Config{BackoffBase: time.Second, BackoffMax: 8 * time.Second, Jitter: func() float64 { return jit }})
		prev := time.Duration(0)
		for n := 1; n <= 4; n++ {
			d := q.Backoff(n)
			full := time.Second << (n - 1)
			if d < full/2 || d > full || d < prev {
				t.Fatalf("jitter %v backoff(%d) = %s", jit, n, d)
			}
			prev = d
		}
		if d := q.Backoff(30); d > 8*time.Second {
			t.Fatalf("backoff not capped: %s", d)
		}
	}
}

func TestDeadAfterMaxAttempts(t *testing.T) {
	db := openDB(t, "p1")
	q := newQueue(t, db, queue.Config{BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond, PollInterval: 5 * time.Millisecond})
	var deadReason atomic.Value
	q.Handle("k", handlerFunc{
		work: func(ctx context.Context, j *queue.Job) error { return errors.New("always broken") },
		dead: func(j *queue.Job, reason string) { deadReason.Store(reason) },
	})
	id := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k", MaxAttempts: 3})
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	j := waitState(t, q, id, queue.Dead)
	stop(t, q)
	if j.Attempt != 3 || j.Errors != 3 || deadReason.Load() != "always broken" {
		t.Fatalf("job %+v reason %v", j, deadReason.Load())
	}
	st, err := q.Stats(context.Background())
	if err != nil || st.Dead != 1 || st.Queued != 0 {
		t.Fatalf("stats %+v %v", st, err)
	}
	list, err := q.List(context.Background(), queue.Filter{State: queue.Dead})
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("dead list %+v %v", list, err)
	}
	if _, err := q.List(context.Background(), queue.Filter{State: "nope"}); flow.ErrorCode(err) != flow.EINVALID {
		t.Fatalf("bad state filter: %v", err)
	}
}

// TestCancelRunningJob: the cancel reaches the handler's ctx, in-process
// through Interrupt and, without it, through the cancel poll (what a
// cancel written by another process looks like).
func TestCancelRunningJob(t *testing.T) {
	for _, interrupt := range []bool{true, false} {
		t.Run(fmt.Sprint("interrupt=", interrupt), func(t *testing.T) {
			db := openDB(t, "p1")
			q := newQueue(t, db, queue.Config{CancelPollInterval: 10 * time.Millisecond})
			started := make(chan struct{})
			var cause atomic.Value
			q.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error {
				close(started)
				<-ctx.Done()
				cause.Store(context.Cause(ctx))
				return ctx.Err()
			}})
			id := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k"})
			if err := q.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			<-started
			err := db.Write(context.Background(), func(tx *store.Tx) error {
				st, err := q.RequestCancel(context.Background(), tx, id)
				if err == nil && st != queue.Running {
					err = fmt.Errorf("state after cancel request %s", st)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if interrupt {
				q.Interrupt(id)
			}
			j := waitState(t, q, id, queue.Canceled)
			stop(t, q)
			if cause.Load() != queue.ErrCanceled || j.Errors != 0 {
				t.Fatalf("cause %v job %+v", cause.Load(), j)
			}
		})
	}
}

func TestCancelQueuedJob(t *testing.T) {
	db := openDB(t, "p1")
	q := newQueue(t, db, queue.Config{})
	id := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k"})
	var st queue.State
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		st, err = q.RequestCancel(context.Background(), tx, id)
		return err
	})
	if err != nil || st != queue.Canceled {
		t.Fatalf("%s %v", st, err)
	}
	now := time.Now()
	if c, _ := q.Store().Claim(context.Background(), "w", 1, now, now.Add(time.Minute), 0); len(c) != 0 {
		t.Fatal("canceled job claimed")
	}
}

// TestStopHandsJobsBack: a job still running after the grace period is
// canceled with ErrShutdown and goes back to available, its attempt not
// counted as an error; a new pool then runs it.
func TestStopHandsJobsBack(t *testing.T) {
	db := openDB(t, "p1")
	q := newQueue(t, db, queue.Config{StopGrace: 20 * time.Millisecond})
	started := make(chan struct{})
	q.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error {
		close(started)
		<-ctx.Done()
		return context.Cause(ctx)
	}})
	id := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k"})
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-started
	stop(t, q)
	j := getJob(t, q, id)
	if j.State != queue.Available || j.Errors != 0 || j.Owner != "" {
		t.Fatalf("after stop: %+v", j)
	}
	q2 := newQueue(t, db, queue.Config{})
	q2.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error { return nil }})
	if err := q2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	j = waitState(t, q2, id, queue.Completed)
	stop(t, q2)
	if j.Attempt != 2 {
		t.Fatalf("job %+v", j)
	}
}

// TestProjectLimitAndPriority: at most ProjectLimit jobs of a project run
// at once while another project still gets a worker; higher priority first.
func TestProjectLimitAndPriority(t *testing.T) {
	db := openDB(t, "p1", "p2")
	q := newQueue(t, db, queue.Config{Workers: 4, ProjectLimit: 1})
	var mu sync.Mutex
	running := map[string]int{}
	maxRunning := map[string]int{}
	var order []string
	release := make(chan struct{})
	q.Handle("k", handlerFunc{work: func(ctx context.Context, j *queue.Job) error {
		mu.Lock()
		running[j.ProjectID]++
		maxRunning[j.ProjectID] = max(maxRunning[j.ProjectID], running[j.ProjectID])
		order = append(order, j.Ref)
		mu.Unlock()
		<-release
		mu.Lock()
		running[j.ProjectID]--
		mu.Unlock()
		return nil
	}})
	var ids []int64
	ids = append(ids, enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k", Ref: "low"}))
	ids = append(ids, enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k", Ref: "high", Priority: 10}))
	ids = append(ids, enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "k", Ref: "mid", Priority: 5}))
	ids = append(ids, enqueue(t, db, q, queue.NewJob{ProjectID: "p2", Kind: "k", Ref: "other"}))
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Wait until both projects have their one job running.
	for deadline := time.Now().Add(20 * time.Second); ; {
		mu.Lock()
		n := len(order)
		mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("jobs did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	for _, id := range ids {
		waitState(t, q, id, queue.Completed)
	}
	stop(t, q)
	if maxRunning["p1"] != 1 || maxRunning["p2"] != 1 {
		t.Fatalf("max running %v", maxRunning)
	}
	var p1 []string
	for _, r := range order {
		if r != "other" {
			p1 = append(p1, r)
		}
	}
	if fmt.Sprint(p1) != "[high mid low]" {
		t.Fatalf("p1 order %v", p1)
	}
}

func TestUnknownKindGoesDead(t *testing.T) {
	db := openDB(t, "p1")
	q := newQueue(t, db, queue.Config{})
	id := enqueue(t, db, q, queue.NewJob{ProjectID: "p1", Kind: "nobody", MaxAttempts: 1})
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	j := waitState(t, q, id, queue.Dead)
	stop(t, q)
	if j.LastError == "" {
		t.Fatalf("%+v", j)
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := queue.New(queue.Config{}); err == nil {
		t.Fatal("missing store accepted")
	}
	db := openDB(t)
	_, err := queue.New(queue.Config{Store: queue.NewStore(db), LeaseDuration: time.Second, HeartbeatInterval: 2 * time.Second})
	if err == nil {
		t.Fatal("heartbeat longer than lease accepted")
	}
}
