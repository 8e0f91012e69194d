package store_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/pgtest"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/store/storetest"
)

// TestPostgresCrashUnderLoadLosesNothingAcknowledged: writers append
// events while the PostgreSQL server is killed (SIGKILL, a crash) and
// started again. Writes fail with errors while it is down, the same DB
// handle works again once it is back (the pool reconnects), and every
// event whose append returned nil is in the log with the seq it was
// given: no holes, nothing lost, nothing twice.
func TestPostgresCrashUnderLoadLosesNothingAcknowledged(t *testing.T) {
	if storetest.Backend() != store.Postgres {
		t.Skip("PostgreSQL only (FW_STORE=postgres)")
	}
	pgtest.Skip(t)
	ctx := context.Background()
	srv, err := pgtest.Start(ctx, pgtest.Options{SynchronousCommit: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	})
	db := storetest.OpenDSN(t, pgtest.DBOn(t, srv), store.Options{})
	createProjects(t, db, "p1")

	var mu sync.Mutex
	acked := map[int64]string{} // seq -> payload
	var failed atomic.Int64
	stopWriters := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stopWriters:
					return
				default:
				}
				body := map[string]int{"w": w, "i": i}
				ev := flow.NewEvent("p1", flow.EventNotification, "", "", body)
				if err := db.AppendEvent(ctx, &ev); err != nil {
					failed.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				mu.Lock()
				acked[ev.Seq] = string(ev.Payload)
				mu.Unlock()
			}
		}()
	}
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !cond(); {
			if time.Now().After(deadline) {
				close(stopWriters)
				wg.Wait()
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("writes before the crash", func() bool { return ackedCount() >= 200 })
	if err := srv.Restart(ctx, pgtest.ShutdownKill); err != nil {
		close(stopWriters)
		wg.Wait()
		t.Fatal(err)
	}
	after := ackedCount()
	waitFor("writes after the restart", func() bool { return ackedCount() >= after+200 })
	close(stopWriters)
	wg.Wait()

	evs, err := db.EventsSince(ctx, "p1", 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	logged := map[int64]string{}
	var seqs []int64
	for _, ev := range evs {
		logged[ev.Seq] = string(ev.Payload)
		seqs = append(seqs, ev.Seq)
	}
	for seq, payload := range acked {
		if logged[seq] != payload {
			t.Fatalf("acknowledged event %d lost or changed: logged %q, acked %q", seq, logged[seq], payload)
		}
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("log seqs have a hole at %d: %v", i, seqs[max(0, i-3):min(len(seqs), i+3)])
		}
	}
	// Events committed but not acknowledged (the crash hit between
	// COMMIT and its reply) may exist; nothing acknowledged is missing.
	if len(evs) < len(acked) || !slices.IsSorted(seqs) {
		t.Fatalf("%d events logged, %d acknowledged", len(evs), len(acked))
	}
	t.Logf("%d acknowledged, %d logged, %d failed appends while the server was down", len(acked), len(evs), failed.Load())
}

// TestPostgresUnreachableSaysWhere: opening a PostgreSQL URL nobody
// listens on fails at once with an error that names the server (password
// hidden) and the reason.
func TestPostgresUnreachableSaysWhere(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // a port that was free a moment ago: nothing listens
	_, err = store.Open(context.Background(), "postgres://fw:s3cret@"+addr+"/flowweaver?sslmode=disable", store.Options{})
	if err == nil {
		t.Fatal("open of an unreachable server succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "PostgreSQL postgres://fw:xxxxx@"+addr+"/flowweaver") || strings.Contains(msg, "s3cret") || !strings.Contains(msg, "connect") {
		t.Fatalf("error %q: want the redacted URL and the reason", msg)
	}
}
