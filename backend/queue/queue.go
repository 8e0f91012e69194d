package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/gopool"
	"github.com/flowweaver/flowweaver/backend/store"
)

// Handler runs the jobs of one kind.
type Handler interface {
	// Work runs the job. Its ctx is canceled with cause ErrCanceled (cancel
	// requested), ErrShutdown (pool stopping after the grace period) or
	// ErrLeaseLost (another worker owns the job now). Returning nil
	// completes the job, an error makes it retryable or dead. A handler
	// that finishes the job in its own transaction (Queue.Finish) makes the
	// job's end commit together with its result; the pool's own finish then
	// sees ErrLeaseLost and ignores it.
	Work(ctx context.Context, job *Job) error
	// Dead is called in the transaction that moves the job to Dead (after
	// its last failed attempt, or when the rescuer gives up on it), so the
	// owner of the job's subject can record the failure atomically.
	Dead(ctx context.Context, tx *store.Tx, job *Job, reason string) error
}

// Config configures a Queue. Zero values take the documented defaults.
type Config struct {
	// MaxCrashes is how many times a job's worker may die under it (the
	// rescuer takes it back) before the job is dead. Crashes are counted
	// apart from failed attempts, so a server that is killed or loses power
	// does not use up a run's attempts; the limit is generous and only stops
	// a job that crashes its server every time from looping. Default 20.
	MaxCrashes int
	// Store holds the jobs. Required (NewStore(db)).
	Store Store
	// Workers is the number of jobs this process runs at once. Default 16
	// (the daemon's default is 64, see daemon.Config.Workers): runs mostly
	// wait on tools or on the group commit, and more runs in flight make
	// bigger commits (see docs/queue.md, Benchmarks).
	Workers int
	// ProjectLimit caps the running jobs of one project across all
	// workers of all processes, so one busy project cannot take every
	// worker. Default: Workers. Negative: no limit.
	ProjectLimit int
	// Handoff lets Reserve hand a job straight to a free worker of this
	// pool (handoff.go). Set it only when no other process works the same
	// database (SQLite behind the data-dir lock): the project limit is
	// then checked against this pool's own jobs.
	Handoff bool
	// MaxAttempts is the default for jobs enqueued without one. Default 5.
	MaxAttempts int
	// LeaseDuration is how long a claim stays valid without a heartbeat:
	// the time a crashed worker's job waits before the rescuer requeues it
	// (when its process cannot be seen to be gone). Default 15s.
	LeaseDuration time.Duration
	// HeartbeatInterval extends the leases of running jobs. Default
	// LeaseDuration/3.
	HeartbeatInterval time.Duration
	// RescueInterval runs the rescuer. Default LeaseDuration/3.
	RescueInterval time.Duration
	// PollInterval is how often the pool looks for jobs without being
	// notified (jobs enqueued by another process, backoffs that ended).
	// Default 500ms.
	PollInterval time.Duration
	// FetchCooldown is the least time between two claims. Workers that
	// free up within it are filled by one claim transaction instead of one
	// each. Default 2ms.
	FetchCooldown time.Duration
	// CancelPollInterval is how often running jobs are checked for a cancel
	// written by another process (in-process cancels are immediate).
	// Default 250ms.
	CancelPollInterval time.Duration
	// BackoffBase and BackoffMax shape the retry delay: attempt n waits
	// about BackoffBase*2^(n-1), capped at BackoffMax, with the upper half
	// jittered. Defaults 1s and 5m.
	BackoffBase, BackoffMax time.Duration
	// StopGrace is how long Stop lets running jobs finish before their
	// context is canceled with ErrShutdown and they are handed back.
	// Default 5s.
	StopGrace time.Duration
	// Owner identifies this process in jobs.owner. Default
	// "<host>/<pid>/<random>", which lets the rescuer of a restarted
	// daemon requeue the jobs of a dead process without waiting for the
	// lease to expire.
	Owner string
	// OwnerAlive reports whether another owner is still alive. Default:
	// an owner on this host whose pid no longer exists (or is ours, with
	// another random part: a previous incarnation) is dead; anything else
	// is alive until its lease expires. With the default, the rescuer
	// also treats an owner whose node heartbeat (Store.BeatNode, every
	// HeartbeatInterval) is older than NodeStaleAfter as dead: that is how
	// a silent node on another machine is detected. A set OwnerAlive is
	// used alone.
	OwnerAlive func(owner string) bool
	// NodeStaleAfter is how old the last node heartbeat of an owner may be
	// before its jobs are rescued. Default LeaseDuration.
	NodeStaleAfter time.Duration
	// Now is the clock for leases and backoff. Default Store.Now (the
	// database's clock on PostgreSQL, so all nodes agree on lease expiry).
	Now func() time.Time
	// Jitter returns a number in [0,1). Default math/rand.
	Jitter func() float64
	// Logger receives operational errors. Default slog.Default().
	Logger *slog.Logger

	nodeLiveness bool // OwnerAlive is the default: consult node heartbeats too
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.ProjectLimit == 0 {
		c.ProjectLimit = c.Workers
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.MaxCrashes <= 0 {
		c.MaxCrashes = 20
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = 15 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = c.LeaseDuration / 3
	}
	if c.RescueInterval <= 0 {
		c.RescueInterval = c.LeaseDuration / 3
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 500 * time.Millisecond
	}
	if c.FetchCooldown <= 0 {
		c.FetchCooldown = 2 * time.Millisecond
	}
	if c.CancelPollInterval <= 0 {
		c.CancelPollInterval = 250 * time.Millisecond
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.StopGrace <= 0 {
		c.StopGrace = 5 * time.Second
	}
	if c.Owner == "" {
		c.Owner = newOwner()
	}
	if c.OwnerAlive == nil {
		c.OwnerAlive = defaultOwnerAlive(c.Owner)
		c.nodeLiveness = true
	}
	if c.NodeStaleAfter <= 0 {
		c.NodeStaleAfter = c.LeaseDuration
	}
	if c.Now == nil && c.Store != nil {
		c.Now = c.Store.Now
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Jitter == nil {
		c.Jitter = mrand.Float64
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	if c.Store == nil {
		return errors.New("queue config: Store is required")
	}
	if c.HeartbeatInterval >= c.LeaseDuration {
		return fmt.Errorf("queue config: HeartbeatInterval (%s) must be shorter than LeaseDuration (%s)", c.HeartbeatInterval, c.LeaseDuration)
	}
	if c.BackoffMax < c.BackoffBase {
		return fmt.Errorf("queue config: BackoffMax (%s) is below BackoffBase (%s)", c.BackoffMax, c.BackoffBase)
	}
	return nil
}

func newOwner() string {
	host, _ := os.Hostname()
	host = strings.ReplaceAll(host, "/", "_")
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

func defaultOwnerAlive(self string) func(string) bool {
	selfHost, selfPid, _ := parseOwner(self)
	return func(owner string) bool {
		host, pid, ok := parseOwner(owner)
		if !ok || host != selfHost {
			return true
		}
		if pid == selfPid {
			return owner == self
		}
		return pidAlive(pid)
	}
}

func parseOwner(o string) (host string, pid int, ok bool) {
	parts := strings.Split(o, "/")
	if len(parts) != 3 {
		return "", 0, false
	}
	pid, err := strconv.Atoi(parts[1])
	return parts[0], pid, err == nil && pid > 0
}

// Queue enqueues jobs and runs them with a pool of workers.
type Queue struct {
	cfg      Config
	store    Store
	handlers map[string]Handler
	log      *slog.Logger

	wake chan struct{} // buffered 1: something may be claimable

	life   sync.Mutex // serialises Start and Stop
	mu     sync.Mutex
	active map[int64]*active // jobs running in this process
	// Hand-off bookkeeping (handoff.go), guarded by mu: workers reserved
	// for jobs being inserted claimed, per project; enqueued counts
	// ordinary Enqueues (enqueuedFor per project). counted is set when the
	// last claim came up short: it took every claimable job enqueued before
	// it began, when the counts were base and baseFor, so the jobs that may
	// wait are the ones counted since. A full claim or a rescue clears
	// counted: how many wait is unknown.
	reserved    int
	reservedFor map[string]int
	counted     bool
	enqueued    int
	base        int
	enqueuedFor map[string]int
	baseFor     map[string]int
	state       int           // 0 new, 1 started, 2 stopped
	stopped     chan struct{} // closed when Stop has finished

	fetchCancel context.CancelFunc
	workCtx     context.Context
	workCancel  context.CancelCauseFunc
	loops       sync.WaitGroup // fetcher and maintenance
	fetched     chan struct{}  // closed when the fetch loop has exited: no jobs.Add after it
	jobs        sync.WaitGroup // running jobs
	workers     *gopool.Pool   // the goroutines jobs run on
}

type active struct {
	job        *Job
	cancel     context.CancelCauseFunc
	finished   bool      // the handler ended the job in its own transaction
	leaseUntil time.Time // the lease as last written (claim, heartbeat)
}

// New builds a Queue. Register handlers with Handle before Start.
func New(cfg Config) (*Queue, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Queue{cfg: cfg, store: cfg.Store, handlers: map[string]Handler{}, log: cfg.Logger,
		wake: make(chan struct{}, 1), active: map[int64]*active{}, stopped: make(chan struct{}),
		workers: gopool.New(workerLinger)}, nil
}

// workerLinger is how long a job's goroutine waits for the next job
// before it exits: jobs run on pooled goroutines, whose stacks have grown
// to what a job needs (package gopool).
const workerLinger = 5 * time.Second

// Handle registers the handler of a job kind. It must be called before Start.
func (q *Queue) Handle(kind string, h Handler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handlers[kind] = h
}

// Owner is this pool's owner id.
func (q *Queue) Owner() string { return q.cfg.Owner }

// Store returns the queue's storage.
func (q *Queue) Store() Store { return q.store }

// Enqueue inserts a job in the caller's transaction, so it exists exactly
// when the caller's other writes do, and wakes the pool. (Waking before the
// commit is harmless: the claim waits for the write lock.)
func (q *Queue) Enqueue(ctx context.Context, tx *store.Tx, j NewJob) (int64, error) {
	if j.ProjectID == "" || j.Kind == "" {
		return 0, flow.Errorf(flow.EINVALID, "job needs a project and a kind")
	}
	j = q.withDefaults(j, q.cfg.Now())
	id, err := q.store.Enqueue(ctx, tx, j)
	if err != nil {
		return 0, fmt.Errorf("enqueue job: %w", err)
	}
	q.mu.Lock()
	q.enqueued++
	if q.enqueuedFor == nil {
		q.enqueuedFor = map[string]int{}
	}
	q.enqueuedFor[j.ProjectID]++
	q.mu.Unlock()
	q.Notify()
	return id, nil
}

// withDefaults fills what a job was enqueued without: the pool's
// MaxAttempts, and now as its RunAt.
func (q *Queue) withDefaults(j NewJob, now time.Time) NewJob {
	if j.MaxAttempts <= 0 {
		j.MaxAttempts = q.cfg.MaxAttempts
	}
	if j.RunAt.IsZero() {
		j.RunAt = now
	}
	return j
}

// Notify wakes the pool to look for jobs now.
func (q *Queue) Notify() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// LeaseHeld checks, inside tx, that l is still the running claim. Writers
// acting for a job call it so a zombie worker never writes: it returns
// ErrLeaseLost otherwise.
func (q *Queue) LeaseHeld(ctx context.Context, tx *store.Tx, l Lease) error {
	ok, err := q.store.LeaseHeld(ctx, tx, l)
	if err != nil {
		return err
	}
	if !ok {
		return ErrLeaseLost
	}
	return nil
}

// Finish ends the job of l inside the caller's transaction (fenced). A
// handler that finishes its own job this way and then returns nil spares
// the pool a transaction of its own.
func (q *Queue) Finish(ctx context.Context, tx *store.Tx, l Lease, f Finish) error {
	if err := q.store.Finish(ctx, tx, l, f); err != nil {
		return err
	}
	q.mu.Lock()
	if a := q.active[l.JobID]; a != nil && a.job.Attempt == l.Attempt && l.Owner == q.cfg.Owner {
		a.finished = true
	}
	q.mu.Unlock()
	return nil
}

// RequestCancel flags job id for cancellation inside tx and returns its
// state afterwards: Canceled when it had not started (nothing else to do),
// Running when a worker must stop it. After the commit call Interrupt so a
// worker of this process stops at once; workers of other processes see the
// flag within CancelPollInterval.
func (q *Queue) RequestCancel(ctx context.Context, tx *store.Tx, id int64) (State, error) {
	return q.store.RequestCancel(ctx, tx, id)
}

// Interrupt cancels the context of job id if it runs in this process.
func (q *Queue) Interrupt(id int64) {
	q.mu.Lock()
	a := q.active[id]
	q.mu.Unlock()
	if a != nil {
		a.cancel(ErrCanceled)
	}
}

// Stats returns the queue counts and this pool's workers.
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	c, err := q.store.Counts(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("queue stats: %w", err)
	}
	q.mu.Lock()
	busy := len(q.active)
	q.mu.Unlock()
	return Stats{Queued: c[Available], Running: c[Running], Retryable: c[Retryable], Dead: c[Dead],
		Workers: q.cfg.Workers, BusyWorkers: busy, Owner: q.cfg.Owner}, nil
}

// List lists jobs newest first (for the API: dead jobs and their errors).
func (q *Queue) List(ctx context.Context, f Filter) ([]Job, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > 500 {
		f.Limit = 500
	}
	switch f.State {
	case "", Available, Running, Retryable, Completed, Dead, Canceled:
	default:
		return nil, flow.Errorf(flow.EINVALID, "unknown job state %q", f.State)
	}
	jobs, err := q.store.List(ctx, f)
	if jobs == nil {
		jobs = []Job{}
	}
	return jobs, err
}

// Backoff is the delay before the retry that follows the n-th failed
// attempt: BackoffBase*2^(n-1) capped at BackoffMax, the upper half
// jittered so jobs that failed together do not retry together.
func (q *Queue) Backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := float64(q.cfg.BackoffBase) * math.Pow(2, float64(n-1))
	if d > float64(q.cfg.BackoffMax) {
		d = float64(q.cfg.BackoffMax)
	}
	return time.Duration(d/2 + d/2*q.cfg.Jitter())
}

// Start rescues jobs of dead owners, then starts the fetcher and the
// maintenance loop (heartbeat, rescue, cancel poll). Calling it again is a
// no-op; after Stop it returns an error.
func (q *Queue) Start(ctx context.Context) error {
	q.life.Lock()
	defer q.life.Unlock()
	q.mu.Lock()
	st := q.state
	q.mu.Unlock()
	switch st {
	case 1:
		return nil
	case 2:
		return errors.New("queue: start after stop")
	}
	// The node row first: a pool never holds a job without one, so the
	// rescuers of other nodes can tell it is alive.
	if err := q.store.BeatNode(ctx, q.cfg.Owner); err != nil {
		return fmt.Errorf("queue start: %w", err)
	}
	if _, err := q.rescue(ctx); err != nil {
		return fmt.Errorf("queue start: %w", err)
	}
	base := context.WithoutCancel(ctx)
	q.workCtx, q.workCancel = context.WithCancelCause(base)
	fetchCtx, fetchCancel := context.WithCancel(base)
	q.fetchCancel = fetchCancel
	q.mu.Lock()
	q.state = 1
	q.mu.Unlock()
	q.fetched = make(chan struct{})
	q.loops.Add(2)
	go q.fetchLoop(fetchCtx)
	go q.maintainLoop(fetchCtx)
	q.Notify()
	return nil
}

// Stop stops claiming, lets running jobs finish for StopGrace (or until
// ctx is done), then cancels the rest with ErrShutdown; the pool hands
// their leases back (state available) so nothing is lost. It waits for
// every goroutine to exit. Calling it again waits for the first call.
func (q *Queue) Stop(ctx context.Context) error {
	q.life.Lock()
	q.mu.Lock()
	if q.state != 1 {
		first := q.state == 0
		q.state = 2
		q.mu.Unlock()
		q.life.Unlock()
		if first {
			close(q.stopped)
			return nil
		}
		select {
		case <-q.stopped:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	q.state = 2
	q.mu.Unlock()
	q.life.Unlock()
	defer close(q.stopped)

	q.fetchCancel()
	done := make(chan struct{})
	go func() { q.waitJobs(); close(done) }()
	grace := time.NewTimer(q.cfg.StopGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
	case <-ctx.Done():
	}
	q.workCancel(ErrShutdown)
	<-done // handlers honour ctx; each hands its job back
	q.loops.Wait()
	q.workers.Close()
	// Every job is handed back: the node is gone, not silent.
	if err := q.store.DeleteNode(context.WithoutCancel(ctx), q.cfg.Owner); err != nil {
		q.log.Error("forget node", "err", err)
	}
	return nil
}

// waitJobs waits for every running job once the fetch loop has stopped.
// A WaitGroup's Wait may not race with an Add that starts from zero, and
// only the fetch loop adds jobs, so it must be gone first.
func (q *Queue) waitJobs() {
	<-q.fetched
	q.jobs.Wait()
}

// work runs one job and records how it ended.
func (q *Queue) work(ctx context.Context, cancel context.CancelCauseFunc, j *Job) {
	defer q.jobs.Done()
	defer func() {
		q.mu.Lock()
		if a := q.active[j.ID]; a != nil && a.job == j {
			delete(q.active, j.ID) // not a newer claim of the same job
		}
		q.mu.Unlock()
		cancel(nil)
		q.Notify() // a worker is free
	}()
	q.mu.Lock()
	h := q.handlers[j.Kind]
	q.mu.Unlock()
	var err error
	if h == nil {
		err = fmt.Errorf("no handler for job kind %q", j.Kind)
	} else {
		err = q.runHandler(ctx, h, j)
	}
	q.mu.Lock()
	a := q.active[j.ID]
	finished := a != nil && a.job == j && a.finished
	q.mu.Unlock()
	if finished && err == nil {
		return // ended in the handler's own transaction
	}
	q.settle(j, h, err, context.Cause(ctx))
}

func (q *Queue) runHandler(ctx context.Context, h Handler, j *Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("job handler panicked: %v", r)
		}
	}()
	return h.Work(ctx, j)
}

// settle writes the job's end from the handler's result. Writing uses a
// fresh context: the job's own may be canceled, and its end must still be
// recorded.
func (q *Queue) settle(j *Job, h Handler, err, cause error) {
	ctx := context.WithoutCancel(q.workCtx)
	l := j.Lease()
	var f Finish
	switch {
	case errors.Is(cause, ErrLeaseLost) || errors.Is(err, ErrLeaseLost):
		return // someone else owns it now
	case err == nil:
		f = Finish{State: Completed}
	case errors.Is(cause, ErrShutdown):
		f = Finish{State: Available, RunAt: q.cfg.Now(), LastError: msgShutdown}
	case errors.Is(cause, ErrCanceled):
		f = Finish{State: Canceled, LastError: "canceled"}
	default:
		f = q.failure(j, err.Error())
	}
	werr := q.store.Write(ctx, func(tx *store.Tx) error {
		if err := q.store.Finish(ctx, tx, l, f); err != nil {
			return err
		}
		if f.State == Dead && h != nil {
			return h.Dead(ctx, tx, j, f.LastError)
		}
		return nil
	})
	if werr != nil && !errors.Is(werr, ErrLeaseLost) {
		q.log.Error("finish job", "job", j.ID, "state", f.State, "err", werr)
	}
}

// failure is the Finish of a failed attempt: retryable with backoff, or
// dead when it was the last one.
func (q *Queue) failure(j *Job, msg string) Finish {
	n := j.Errors + 1
	if n >= j.MaxAttempts {
		return Finish{State: Dead, CountErr: true, LastError: msg}
	}
	return Finish{State: Retryable, CountErr: true, LastError: msg, RunAt: q.cfg.Now().Add(q.Backoff(n))}
}
