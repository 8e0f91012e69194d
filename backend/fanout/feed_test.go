package fanout_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/fanout"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/pgtest"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

// TestMain checks that no Feed goroutine outlives its Stop.
func TestMain(m *testing.M) { goleak.VerifyTestMain(runner{m}) }

type runner struct{ m *testing.M }

func (r runner) Run() int { return pgtest.Run(r.m) }

// recorder is the Publish of node B: it checks, as events arrive, that
// every project's seqs continue without a gap or a duplicate.
type recorder struct {
	mu     sync.Mutex
	last   map[string]int64
	events map[string][]flow.Event
	errs   []string
}

func newRecorder(start map[string]int64) *recorder {
	return &recorder{last: start, events: map[string][]flow.Event{}}
}

func (r *recorder) publish(evs []flow.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range evs {
		if ev.Seq != r.last[ev.ProjectID]+1 {
			r.errs = append(r.errs, fmt.Sprintf("%s: seq %d after %d", ev.ProjectID, ev.Seq, r.last[ev.ProjectID]))
		}
		r.last[ev.ProjectID] = ev.Seq
		r.events[ev.ProjectID] = append(r.events[ev.ProjectID], ev)
	}
}

func (r *recorder) count(projectID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events[projectID])
}

// waitFor polls cond with a generous deadline (the machine may be busy).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// node is one "server" on the shared database: its own store handle
// (its own pool) and optionally a Feed whose Local gets its commits.
type node struct {
	db   *store.DB
	feed *fanout.Feed
}

func openNode(t testing.TB, dsn string, rec *recorder, cfg fanout.Config) *node {
	t.Helper()
	if rec == nil {
		return openNodeWith(t, dsn, nil, cfg)
	}
	return openNodeWith(t, dsn, rec.publish, cfg)
}

// openNodeWith is openNode with any Publish (nil: no feed).
func openNodeWith(t testing.TB, dsn string, publish func([]flow.Event), cfg fanout.Config) *node {
	t.Helper()
	n := &node{}
	var err error
	n.db, err = store.Open(context.Background(), dsn, store.Options{OnCommit: func(evs []flow.Event) {
		if n.feed != nil {
			n.feed.Local(evs)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.db.Close() })
	if publish == nil {
		return n
	}
	cfg.DSN, cfg.Log, cfg.Publish = dsn, n.db, publish
	if cfg.ReconnectDelay == 0 {
		cfg.ReconnectDelay = 50 * time.Millisecond
	}
	if n.feed, err = fanout.New(cfg); err != nil {
		t.Fatal(err)
	}
	if err := n.feed.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.feed.Stop() })
	return n
}

func createProject(t testing.TB, db *store.DB, id string) {
	t.Helper()
	if err := db.CreateProject(context.Background(), &flow.Project{ID: id, Name: id, Path: "/srv/" + id}); err != nil {
		t.Fatal(err)
	}
}

func appendN(t *testing.T, db *store.DB, projectID string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		ev := flow.NewEvent(projectID, "notification", "", "", map[string]int{"i": i})
		if err := db.AppendEvent(context.Background(), &ev); err != nil {
			t.Errorf("append: %v", err)
			return
		}
	}
}

func checkClean(t *testing.T, rec *recorder) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, e := range rec.errs {
		t.Error(e)
	}
}

// TestEventsOfAnotherNodeArriveOnceInOrder: node A and node B write to the
// same projects at the same time; B's sockets get every event of both,
// each seq once, in seq order.
func TestEventsOfAnotherNodeArriveOnceInOrder(t *testing.T) {
	dsn := pgtest.DB(t)
	rec := newRecorder(map[string]int64{})
	a := openNode(t, dsn, nil, fanout.Config{})
	b := openNode(t, dsn, rec, fanout.Config{PollInterval: -1})
	projects := []string{"p1", "p2"}
	for _, p := range projects {
		createProject(t, a.db, p)
		if err := b.feed.Watch(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	const perWriter = 150
	var wg sync.WaitGroup
	for _, p := range projects {
		for w := 0; w < 3; w++ {
			wg.Add(2)
			go func() { defer wg.Done(); appendN(t, a.db, p, w*perWriter, perWriter) }()
			go func() { defer wg.Done(); appendN(t, b.db, p, 1000+w*perWriter, perWriter) }()
		}
	}
	// Multi-event transactions too: one commit, one NOTIFY, several seqs.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			err := a.db.Write(context.Background(), func(tx *store.Tx) error {
				for j := 0; j < 5; j++ {
					ev := flow.NewEvent("p1", "notification", "", "", map[string]int{"batch": i})
					if err := tx.AppendEvent(context.Background(), &ev); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Errorf("batch: %v", err)
			}
		}
	}()
	wg.Wait()
	want := map[string]int{"p1": 6*perWriter + 100, "p2": 6 * perWriter}
	for _, p := range projects {
		waitFor(t, p+" events on node B", func() bool { return rec.count(p) >= want[p] })
	}
	time.Sleep(200 * time.Millisecond) // a late duplicate would show now
	checkClean(t, rec)
	for _, p := range projects {
		if got := rec.count(p); got != want[p] {
			t.Errorf("%s: %d events delivered, want %d", p, got, want[p])
		}
	}
	// What was delivered is what the log holds, payload and all.
	logged, err := a.db.EventsSince(context.Background(), "p1", 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range rec.events["p1"] {
		if ev.Seq != logged[i].Seq || string(ev.Payload) != string(logged[i].Payload) || ev.Type != logged[i].Type {
			t.Fatalf("event %d: delivered %+v, logged %+v", i, ev, logged[i])
		}
	}
}

// TestListenerKilledStillDeliversEveryEvent terminates the listener's
// connection (pg_terminate_backend) while another node writes, three times,
// with the poll off: the reconnect and its backlog read must bring
// everything.
func TestListenerKilledStillDeliversEveryEvent(t *testing.T) {
	dsn := pgtest.DB(t)
	srv := pgtest.Shared(t)
	rec := newRecorder(map[string]int64{})
	a := openNode(t, dsn, nil, fanout.Config{})
	b := openNode(t, dsn, rec, fanout.Config{PollInterval: -1})
	createProject(t, a.db, "p1")
	if err := b.feed.Watch(context.Background(), "p1"); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for round := 1; round <= 3; round++ {
		waitFor(t, "the listener connected", func() bool { return b.feed.Stats().Connects >= int64(round) })
		appendN(t, a.db, "p1", total, 20) // delivered by NOTIFY
		total += 20
		waitFor(t, "events before the kill", func() bool { return rec.count("p1") == total })
		n, err := srv.TerminateBackends(context.Background(), cfg.Database, fanout.ListenerAppName)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("terminated %d listener connections, want 1", n)
		}
		appendN(t, a.db, "p1", total, 30) // committed while the listener is away
		total += 30
		waitFor(t, "events after the kill", func() bool { return rec.count("p1") == total })
	}
	checkClean(t, rec)
	if c := b.feed.Stats().Connects; c < 4 {
		t.Errorf("listener connected %d times, want at least 4 (three reconnects)", c)
	}
}

// TestPollDeliversWhenNoNotificationArrives: with notifications on another
// channel, only the slow poll can find the new rows, and it does.
func TestPollDeliversWhenNoNotificationArrives(t *testing.T) {
	dsn := pgtest.DB(t)
	rec := newRecorder(map[string]int64{})
	a := openNode(t, dsn, nil, fanout.Config{})
	b := openNode(t, dsn, rec, fanout.Config{Channel: "fw_nowhere", PollInterval: 100 * time.Millisecond})
	createProject(t, a.db, "p1")
	if err := b.feed.Watch(context.Background(), "p1"); err != nil {
		t.Fatal(err)
	}
	appendN(t, a.db, "p1", 0, 25)
	waitFor(t, "polled events", func() bool { return rec.count("p1") == 25 })
	checkClean(t, rec)
	if n := b.feed.Stats().Notifications; n != 0 {
		t.Fatalf("%d notifications on a channel nobody notifies", n)
	}
}

// TestWatchStartsAtTheLatestSeq: a node that starts watching a project
// with history delivers only what is committed after, and nothing for
// projects it does not watch.
func TestWatchStartsAtTheLatestSeqAndSkipsUnwatched(t *testing.T) {
	dsn := pgtest.DB(t)
	a := openNode(t, dsn, nil, fanout.Config{})
	createProject(t, a.db, "p1")
	createProject(t, a.db, "p2")
	appendN(t, a.db, "p1", 0, 10)
	rec := newRecorder(map[string]int64{"p1": 10})
	b := openNode(t, dsn, rec, fanout.Config{PollInterval: -1})
	if err := b.feed.Watch(context.Background(), "p1"); err != nil {
		t.Fatal(err)
	}
	appendN(t, a.db, "p2", 0, 5)
	appendN(t, a.db, "p1", 10, 5)
	waitFor(t, "new p1 events", func() bool { return rec.count("p1") == 5 })
	checkClean(t, rec)
	if n := rec.count("p2"); n != 0 {
		t.Fatalf("%d events of an unwatched project delivered", n)
	}
	// After the last Unwatch the project is forgotten.
	b.feed.Unwatch("p1")
	appendN(t, a.db, "p1", 15, 3)
	time.Sleep(300 * time.Millisecond)
	if n := rec.count("p1"); n != 5 {
		t.Fatalf("%d events delivered after Unwatch, want 5", n)
	}
	if w := b.feed.Stats().Watched; w != 0 {
		t.Fatalf("%d projects watched after Unwatch", w)
	}
}

// TestFeedSurvivesPostgresRestart restarts PostgreSQL (fast and as a
// crash) under a writing node: the feed reconnects and delivers every
// event that was acknowledged.
func TestFeedSurvivesPostgresRestart(t *testing.T) {
	pgtest.Skip(t)
	ctx := context.Background()
	srv, err := pgtest.Start(ctx, pgtest.Options{SynchronousCommit: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()
	dsn := pgtest.DBOn(t, srv)
	rec := newRecorder(map[string]int64{})
	a := openNode(t, dsn, nil, fanout.Config{})
	b := openNode(t, dsn, rec, fanout.Config{PollInterval: time.Second})
	createProject(t, a.db, "p1")
	if err := b.feed.Watch(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[int]bool{} // the writes AppendEvent acknowledged
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a writer that keeps going through the outage
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ev := flow.NewEvent("p1", "notification", "", "", map[string]int{"i": i})
			if err := a.db.AppendEvent(ctx, &ev); err != nil {
				time.Sleep(20 * time.Millisecond) // PostgreSQL is down: retry
				continue
			}
			mu.Lock()
			acked[i] = true
			mu.Unlock()
		}
	}()
	ackedNow := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	for _, how := range []pgtest.Shutdown{pgtest.ShutdownFast, pgtest.ShutdownKill} {
		before := ackedNow()
		waitFor(t, "writes before the restart", func() bool { return ackedNow() > before+20 })
		if err := srv.Restart(ctx, how); err != nil {
			t.Fatal(err)
		}
		after := ackedNow()
		waitFor(t, "writes after the restart", func() bool { return ackedNow() > after+20 })
	}
	close(stop)
	<-done
	final := ackedNow()
	waitFor(t, "every acknowledged event on node B", func() bool { return rec.count("p1") >= final })
	checkClean(t, rec)
	var last int64
	if _, last, err = a.db.SeqRange(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if int(last) < final {
		t.Fatalf("log holds %d events, %d were acknowledged", last, final)
	}
	payloads := map[int]bool{}
	for _, ev := range rec.events["p1"] {
		var p struct{ I int }
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			t.Fatal(err)
		}
		payloads[p.I] = true
	}
	for i := range acked {
		if !payloads[i] {
			t.Errorf("acknowledged write %d never reached node B", i)
		}
	}
}
