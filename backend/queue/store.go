package queue

import (
	"context"
	"errors"
	"time"

	"github.com/flowweaver/flowweaver/backend/store"
)

// Store is the durable side of the queue. NewStore implements it on a Flow
// Weaver database, SQLite or PostgreSQL; another engine can implement the
// same methods. Methods that take a *store.Tx run inside the caller's
// transaction so a job's state changes commit together with what the job
// did.
type Store interface {
	// Write runs fn in one write transaction.
	Write(ctx context.Context, fn func(tx *store.Tx) error) error
	// Enqueue inserts an available job and returns its id.
	Enqueue(ctx context.Context, tx *store.Tx, j NewJob) (int64, error)
	// EnqueueClaimed inserts a job already claimed by owner (running,
	// attempt 1, leased until leaseUntil) and returns it (Handoff).
	EnqueueClaimed(ctx context.Context, tx *store.Tx, j NewJob, owner string, leaseUntil time.Time) (Job, error)
	// Claim makes retryable jobs whose RunAt passed available, then claims
	// up to n available jobs (RunAt <= now) for owner with a lease until
	// leaseUntil, respecting projectLimit running jobs per project (<= 0:
	// none), highest priority first.
	Claim(ctx context.Context, owner string, n int, now, leaseUntil time.Time, projectLimit int) ([]Job, error)
	// Heartbeat extends every running lease of owner and returns the held
	// claims as id -> attempt.
	Heartbeat(ctx context.Context, owner string, until time.Time) (map[int64]int, error)
	// LeaseHeld reports whether l is still the running claim.
	LeaseHeld(ctx context.Context, tx *store.Tx, l Lease) (bool, error)
	// Finish moves the job of l to f.State if l is still the running
	// claim, else returns ErrLeaseLost.
	Finish(ctx context.Context, tx *store.Tx, l Lease, f Finish) error
	// Running lists all running jobs (any owner).
	Running(ctx context.Context, tx *store.Tx) ([]Job, error)
	// RequestCancel flags the job; a job that is not running becomes
	// canceled at once. It returns the state after the call ("" when the
	// job does not exist).
	RequestCancel(ctx context.Context, tx *store.Tx, id int64) (State, error)
	// CancelRequested returns owner's running jobs flagged for cancel.
	CancelRequested(ctx context.Context, owner string) (map[int64]int, error)
	// Counts counts available, running, retryable and dead jobs.
	Counts(ctx context.Context) (map[State]int64, error)
	// List lists jobs newest first.
	List(ctx context.Context, f Filter) ([]Job, error)
	// Get reads one job (ok false when missing).
	Get(ctx context.Context, id int64) (Job, bool, error)
	// BeatNode records that the worker pool owner is alive (its node row).
	BeatNode(ctx context.Context, owner string) error
	// LiveNodes returns, in tx, the owners whose last beat is newer than
	// staleAfter.
	LiveNodes(ctx context.Context, tx *store.Tx, staleAfter time.Duration) (map[string]bool, error)
	// DeleteNode forgets an owner that stopped cleanly.
	DeleteNode(ctx context.Context, owner string) error
	// Now is the store's clock (the database's, on a shared database).
	Now() time.Time
}

// NewStore returns the Store on a Flow Weaver database (either dialect).
func NewStore(db *store.DB) Store { return dbStore{db: db} }

// NewGroupCommitStore is NewStore whose claims on SQLite run through write,
// a group committer (the engine's): a claim then shares its transaction
// and commit with the run steps being written at the same moment instead
// of taking the single writer for a commit of its own. write must run fn
// in a write transaction and may run it again alone if the shared one
// fails. PostgreSQL claims keep their own transaction (SKIP LOCKED).
func NewGroupCommitStore(db *store.DB, write func(ctx context.Context, fn func(tx *store.Tx) error) error) Store {
	return dbStore{db: db, claimWrite: write}
}

type dbStore struct {
	db         *store.DB
	claimWrite func(ctx context.Context, fn func(tx *store.Tx) error) error
}

func toJob(r store.JobRow) Job {
	return Job{ID: r.ID, ProjectID: r.ProjectID, Kind: r.Kind, Ref: r.Ref, Payload: r.Payload, State: State(r.State),
		Priority: r.Priority, RunAt: r.RunAt, Attempt: r.Attempt, Errors: r.Errors, MaxAttempts: r.MaxAttempts,
		Owner: r.Owner, LeaseUntil: r.LeaseUntil, CancelRequested: r.CancelRequested, LastError: r.LastError,
		CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt, Crashes: r.Crashes}
}

func toJobs(rs []store.JobRow) []Job {
	out := make([]Job, len(rs))
	for i, r := range rs {
		out[i] = toJob(r)
	}
	return out
}

func (s dbStore) Write(ctx context.Context, fn func(tx *store.Tx) error) error {
	return s.db.Write(ctx, fn)
}

func (s dbStore) Enqueue(ctx context.Context, tx *store.Tx, j NewJob) (int64, error) {
	row := store.JobRow{ProjectID: j.ProjectID, Kind: j.Kind, Ref: j.Ref, Payload: j.Payload, Priority: j.Priority, RunAt: j.RunAt, MaxAttempts: j.MaxAttempts}
	if err := tx.InsertJob(ctx, &row); err != nil {
		return 0, err
	}
	return row.ID, nil
}

func (s dbStore) EnqueueClaimed(ctx context.Context, tx *store.Tx, j NewJob, owner string, leaseUntil time.Time) (Job, error) {
	row := store.JobRow{ProjectID: j.ProjectID, Kind: j.Kind, Ref: j.Ref, Payload: j.Payload, Priority: j.Priority, RunAt: j.RunAt,
		MaxAttempts: j.MaxAttempts, State: string(Running), Attempt: 1, Owner: owner, LeaseUntil: leaseUntil}
	if err := tx.InsertJob(ctx, &row); err != nil {
		return Job{}, err
	}
	return toJob(row), nil
}

func (s dbStore) Claim(ctx context.Context, owner string, n int, now, leaseUntil time.Time, limit int) ([]Job, error) {
	if s.claimWrite == nil || s.db.Dialect() != store.SQLite {
		rs, err := s.db.ClaimJobs(ctx, owner, n, now, leaseUntil, limit)
		return toJobs(rs), err
	}
	var rs []store.JobRow
	err := s.claimWrite(ctx, func(tx *store.Tx) error {
		var err error
		rs, err = tx.ClaimJobs(ctx, owner, n, now, leaseUntil, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return toJobs(rs), nil
}

func (s dbStore) Heartbeat(ctx context.Context, owner string, until time.Time) (map[int64]int, error) {
	return s.db.ExtendLeases(ctx, owner, until)
}

func (s dbStore) LeaseHeld(ctx context.Context, tx *store.Tx, l Lease) (bool, error) {
	return tx.JobLeaseHeld(ctx, l.JobID, l.Attempt, l.Owner)
}

func (s dbStore) Finish(ctx context.Context, tx *store.Tx, l Lease, f Finish) error {
	err := tx.FinishJob(ctx, l.JobID, l.Attempt, l.Owner, store.JobFinish{State: string(f.State), RunAt: f.RunAt, CountErr: f.CountErr, CountCrash: f.CountCrash, LastError: f.LastError})
	if errors.Is(err, store.ErrStaleLease) {
		return ErrLeaseLost
	}
	return err
}

func (s dbStore) Running(ctx context.Context, tx *store.Tx) ([]Job, error) {
	rs, err := tx.RunningJobs(ctx)
	return toJobs(rs), err
}

func (s dbStore) RequestCancel(ctx context.Context, tx *store.Tx, id int64) (State, error) {
	st, err := tx.RequestJobCancel(ctx, id)
	return State(st), err
}

func (s dbStore) CancelRequested(ctx context.Context, owner string) (map[int64]int, error) {
	return s.db.CancelRequestedJobs(ctx, owner)
}

func (s dbStore) Counts(ctx context.Context) (map[State]int64, error) {
	m, err := s.db.JobCounts(ctx)
	out := map[State]int64{}
	for k, v := range m {
		out[State(k)] = v
	}
	return out, err
}

func (s dbStore) List(ctx context.Context, f Filter) ([]Job, error) {
	rs, err := s.db.ListJobs(ctx, store.JobFilter{State: string(f.State), ProjectID: f.ProjectID, AfterID: f.Before, Limit: f.Limit})
	return toJobs(rs), err
}

func (s dbStore) Get(ctx context.Context, id int64) (Job, bool, error) {
	r, ok, err := s.db.Job(ctx, id)
	return toJob(r), ok, err
}

func (s dbStore) BeatNode(ctx context.Context, owner string) error {
	host, pid, _ := parseOwner(owner)
	return s.db.BeatNode(ctx, owner, host, pid)
}

func (s dbStore) LiveNodes(ctx context.Context, tx *store.Tx, staleAfter time.Duration) (map[string]bool, error) {
	return tx.LiveNodes(ctx, staleAfter)
}

func (s dbStore) DeleteNode(ctx context.Context, owner string) error {
	return s.db.DeleteNode(ctx, owner)
}

func (s dbStore) Now() time.Time { return s.db.Now() }
