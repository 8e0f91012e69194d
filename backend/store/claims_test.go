package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// leaseCheck runs JobLeaseHeld in a write transaction and compares it with
// what the jobs table says (read through the read pool, after the
// commit): the claim cache may answer from memory, but never differently
// from the database. It returns the answer and whether it came from the
// cache.
func leaseCheck(t *testing.T, db *DB, id int64, attempt int, owner string) (held, known bool) {
	t.Helper()
	ctx := context.Background()
	err := db.Write(ctx, func(tx *Tx) error {
		known = tx.knownHeld(id, attempt, owner)
		var err error
		held, err = tx.JobLeaseHeld(ctx, id, attempt, owner)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE id = ? AND attempt = ? AND owner = ? AND state = 'running'`, id, attempt, owner).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if held != (n == 1) {
		t.Fatalf("JobLeaseHeld(%d, %d, %s) = %v, the jobs table says %v", id, attempt, owner, held, n == 1)
	}
	return held, known
}

// Every change of a claim the store makes keeps the cache exact; a
// rolled-back claim is not remembered; SQL the store does not track (a
// project deleted with its jobs, a raw UPDATE) makes it forget and ask
// the database again.
func TestLeaseChecksFollowEveryClaimChange(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, filepath.Join(t.TempDir(), "fw.db"), Options{})
	for _, p := range []string{"p1", "p2"} {
		if err := db.CreateProject(ctx, &flow.Project{ID: p, Name: p, Path: "/" + p}); err != nil {
			t.Fatal(err)
		}
	}
	const owner, other = "host/1/aaaa", "host/2/bbbb"
	now := time.Now()
	lease := now.Add(time.Minute)
	// Jobs are due at now: left to InsertJob, run_at would be the insert's
	// own clock, a millisecond after now on a busy machine, and not yet due
	// for a claim at now.
	insert := func(j JobRow) int64 {
		t.Helper()
		j.RunAt = now
		if err := db.Write(ctx, func(tx *Tx) error { return tx.InsertJob(ctx, &j) }); err != nil {
			t.Fatal(err)
		}
		return j.ID
	}

	// A claim is known once committed, with its attempt and owner.
	j1 := insert(JobRow{ProjectID: "p1", Kind: "k", Ref: "r1", MaxAttempts: 3})
	if held, _ := leaseCheck(t, db, j1, 1, owner); held {
		t.Fatal("an available job's lease is held")
	}
	claimed, err := db.ClaimJobs(ctx, owner, 1, now, lease, 0)
	if err != nil || len(claimed) != 1 || claimed[0].ID != j1 {
		t.Fatalf("claim: %v %+v", err, claimed)
	}
	if held, known := leaseCheck(t, db, j1, 1, owner); !held || !known {
		t.Fatalf("claimed job: held %v, known %v; want both", held, known)
	}
	if held, _ := leaseCheck(t, db, j1, 2, owner); held {
		t.Fatal("another attempt's lease is held")
	}
	if held, _ := leaseCheck(t, db, j1, 1, other); held {
		t.Fatal("another owner's lease is held")
	}

	// A claim whose transaction rolled back is not remembered.
	j2 := insert(JobRow{ProjectID: "p1", Kind: "k", Ref: "r2", MaxAttempts: 3})
	boom := errors.New("boom")
	err = db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.ClaimJobs(ctx, other, 1, now, lease, 0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if held, known := leaseCheck(t, db, j2, 1, other); held || known {
		t.Fatalf("rolled-back claim: held %v, known %v", held, known)
	}

	// Finishing (the worker, the rescuer, the hand-back at shutdown) ends it.
	err = db.Write(ctx, func(tx *Tx) error {
		return tx.FinishJob(ctx, j1, 1, owner, JobFinish{State: jobAvailable, CountCrash: true, LastError: "worker gone"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if held, known := leaseCheck(t, db, j1, 1, owner); held || known {
		t.Fatalf("finished claim: held %v, known %v", held, known)
	}
	// ...and the next claim of the same job is the one held.
	if claimed, err := db.ClaimJobs(ctx, other, 2, time.Now().Add(time.Second), lease, 0); err != nil || len(claimed) != 2 {
		t.Fatalf("reclaim: %v %+v", err, claimed)
	}
	if held, _ := leaseCheck(t, db, j1, 1, owner); held {
		t.Fatal("the zombie's lease is held after the job was claimed again")
	}
	if held, known := leaseCheck(t, db, j1, 2, other); !held || !known {
		t.Fatalf("new claim: held %v, known %v", held, known)
	}

	// A job inserted already claimed (hand-off) is known.
	j3 := insert(JobRow{ProjectID: "p2", Kind: "k", Ref: "r3", MaxAttempts: 3, State: jobRunning, Attempt: 1, Owner: owner, LeaseUntil: lease})
	if held, known := leaseCheck(t, db, j3, 1, owner); !held || !known {
		t.Fatalf("claimed insert: held %v, known %v", held, known)
	}

	// SQL the store does not track: the cache forgets, the answers follow
	// the table, and a held claim found by the query is remembered again.
	if err := db.Write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE jobs SET attempt = 7 WHERE id = ?", j2)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if held, known := leaseCheck(t, db, j2, 2, other); held || known {
		t.Fatalf("after a raw update: held %v, known %v", held, known)
	}
	if held, known := leaseCheck(t, db, j2, 7, other); !held || known {
		t.Fatalf("the raw update's claim: held %v, known %v (want held, looked up)", held, known)
	}
	if held, known := leaseCheck(t, db, j2, 7, other); !held || !known {
		t.Fatalf("a claim found by the query: held %v, known %v (want remembered)", held, known)
	}
	if held, known := leaseCheck(t, db, j3, 1, owner); !held || known {
		t.Fatalf("a claim known before the raw update: held %v, known %v (want held, looked up)", held, known)
	}
	if err := db.DeleteProject(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	if held, known := leaseCheck(t, db, j3, 1, owner); held || known {
		t.Fatalf("job of a deleted project: held %v, known %v", held, known)
	}
}
