// Package queue is Flow Weaver's durable job queue: jobs live in the
// database (behind the small Store interface), are enqueued inside the
// caller's transaction, claimed with one UPDATE ... RETURNING, held with a
// heartbeated lease, retried with exponential backoff and jitter, and
// rescued when their worker dies. A Queue is also the worker pool that runs
// them (Start/Stop).
package queue

import (
	"errors"
	"time"
)

// State is the lifecycle state of a job. The transitions are:
//
//	available --claim--> running
//	running --handler ok--> completed
//	running --handler error, attempts left--> retryable --backoff over--> available
//	running --handler error, no attempts left--> dead
//	running --lease expired / owner died (rescuer)--> available | dead
//	running --Stop after the grace period--> available (lease handed back)
//	available | retryable --cancel--> canceled
//	running --cancel seen by the worker--> canceled
//
// completed, dead and canceled are final.
type State string

const (
	// Available: waiting for a worker. Jobs are claimed by priority
	// (higher first), then run_at, then id, as long as their project is
	// below its concurrency limit. Claiming moves the job to Running and
	// increments Attempt (the fencing token).
	Available State = "available"
	// Running: claimed by Owner, who holds the lease until LeaseUntil and
	// extends it by heartbeat. Only the holder of (ID, Attempt, Owner) can
	// move it on: to Completed, Retryable, Dead, Canceled, or back to
	// Available when the worker pool stops. The rescuer moves it back to
	// Available (a crash, counted in Crashes, not Errors) or, after
	// MaxCrashes crashes, to Dead, when the lease expired or the owner
	// process is gone.
	Running State = "running"
	// Retryable: an attempt failed and attempts are left; the job waits
	// for RunAt (exponential backoff with jitter) and then becomes
	// Available again at the next claim.
	Retryable State = "retryable"
	// Completed: the handler succeeded. Final.
	Completed State = "completed"
	// Dead: MaxAttempts attempts failed. Final; visible in Stats and List
	// so a person can look at LastError.
	Dead State = "dead"
	// Canceled: cancellation was requested before it ran, or the running
	// handler stopped because of it. Final.
	Canceled State = "canceled"
)

// Final reports whether no transition leaves s.
func (s State) Final() bool { return s == Completed || s == Dead || s == Canceled }

// Errors that a handler's context is canceled with (context.Cause) and that
// Store methods return.
var (
	// ErrCanceled: cancellation of the job was requested.
	ErrCanceled = errors.New("job canceled")
	// ErrShutdown: the worker pool is stopping; the job is handed back.
	ErrShutdown = errors.New("worker pool stopping")
	// ErrLeaseLost: the lease was taken over (expired and rescued, or the
	// job was deleted); whatever the worker does now must not be written.
	ErrLeaseLost = errors.New("job lease lost")
)

// Job is one unit of work.
type Job struct {
	ID              int64      `json:"id"`
	ProjectID       string     `json:"projectId"`
	Kind            string     `json:"kind"`
	Ref             string     `json:"ref,omitempty"`
	Payload         []byte     `json:"-"`
	State           State      `json:"state"`
	Priority        int        `json:"priority"`
	RunAt           time.Time  `json:"runAt"`
	Attempt         int        `json:"attempt"`
	Errors          int        `json:"errors"`
	MaxAttempts     int        `json:"maxAttempts"`
	Owner           string     `json:"owner,omitempty"`
	LeaseUntil      time.Time  `json:"leaseUntil,omitzero"`
	CancelRequested bool       `json:"cancelRequested,omitempty"`
	LastError       string     `json:"lastError,omitempty"`
	CreatedAt       time.Time  `json:"createdAt"`
	FinishedAt      *time.Time `json:"finishedAt,omitempty"`
	// Crashes counts attempts that ended because their worker died or lost
	// its lease (rescued). They are not failures of the job: they do not
	// count towards MaxAttempts, only towards Config.MaxCrashes.
	Crashes int `json:"crashes"`
}

// Lease is the fencing token of one claim: only the worker holding the
// current (JobID, Attempt, Owner) can change the job.
type Lease struct {
	JobID   int64
	Attempt int
	Owner   string
}

// Lease returns the job's current claim.
func (j *Job) Lease() Lease { return Lease{JobID: j.ID, Attempt: j.Attempt, Owner: j.Owner} }

// NewJob is what Enqueue inserts.
type NewJob struct {
	ProjectID   string // the concurrency group; required
	Kind        string // selects the handler; required
	Ref         string // what the job is about (a run id)
	Payload     []byte
	Priority    int       // higher runs first
	RunAt       time.Time // zero = now
	MaxAttempts int       // 0 = Config.MaxAttempts
}

// Finish says how a running job ends.
type Finish struct {
	State      State
	RunAt      time.Time // Retryable/Available: when it may run again
	CountErr   bool      // the attempt failed
	CountCrash bool      // the attempt's worker died (rescuer)
	LastError  string
}

// Stats is the queue's state for GET /api/queue and the system channel.
type Stats struct {
	Queued      int64  `json:"queued"`
	Running     int64  `json:"running"`
	Retryable   int64  `json:"retryable"`
	Dead        int64  `json:"dead"`
	Workers     int    `json:"workers"`
	BusyWorkers int    `json:"busyWorkers"`
	Owner       string `json:"owner"`
}

// Filter selects jobs for List.
type Filter struct {
	State     State
	ProjectID string
	Before    int64 // paging: jobs with id < Before; 0 = newest
	Limit     int   // default 50, max 500
}
