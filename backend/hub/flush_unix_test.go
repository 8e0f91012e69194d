//go:build unix

package hub

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/flowweaver/flowweaver/backend/flow"
)

// notifyEvent appends one durable notification with message msg.
func notifyEvent(t testing.TB, e *env, msg string) int64 {
	t.Helper()
	ev := flow.NewEvent("p1", "notification", "", "", map[string]any{"level": "info", "message": msg})
	if err := e.db.AppendEvent(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Seq
}

// Committed events from several concurrent publishers (so group commits
// hold several events) reach every subscriber, plain and batched, each
// exactly once and in seq order, written by the flusher.
func TestFlusherDeliversConcurrentCommitsInOrder(t *testing.T) {
	e := newEnv(t, nil, "p1")
	var plain []*client
	for i := range 3 * flushChunk { // several chunks per commit: every worker takes some
		c := e.dial("p1", "ok.u.p"+string(rune('a'+i)))
		c.subscribe("project:p1", nil, "s")
		t.Cleanup(c.close)
		plain = append(plain, c)
	}
	var batched []*batchClient
	for i := range 2 {
		c := e.dialBatch("p1", "ok.u.b"+string(rune('a'+i)))
		c.subscribe("project:p1", "s")
		t.Cleanup(func() { _ = c.ws.Close(websocket.StatusNormalClosure, "") })
		batched = append(batched, c)
	}

	const publishers, each = 4, 150
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				ev := flow.NewEvent("p1", "notification", "", "", map[string]any{"level": "info", "message": strings.Repeat("m", 1+(p*each+i)%300)})
				if err := e.db.AppendEvent(context.Background(), &ev); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Every queue holds fewer frames than OutboundQueue: reading after
	// the publishers are done evicts nobody.
	readAll := func(name string, next func() frame) {
		t.Helper()
		var last int64
		for n := 0; n < publishers*each; {
			f := next()
			if f.Event != "notification" {
				continue
			}
			if f.Seq <= last {
				t.Fatalf("%s: seq %d after %d", name, f.Seq, last)
			}
			last = f.Seq
			n++
		}
	}
	for i, c := range plain {
		readAll("plain "+string(rune('a'+i)), c.read)
	}
	for i, c := range batched {
		readAll("batched "+string(rune('a'+i)), c.read)
	}
	if e.hub.flush.written.Load() == 0 {
		t.Error("the flusher wrote nothing: every frame went through the writers")
	}
}

// dialSmallWindow dials with a 4 KiB receive buffer, so a client that does
// not read fills the server's socket quickly.
func setRecvBuf(fd uintptr, n int) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
}

func dialSmallWindow(t testing.TB, e *env, token string) *websocket.Conn {
	t.Helper()
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = setRecvBuf(fd, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	ctx, cancel := contextWithGuard()
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.wsURL("p1"), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(-1)
	return ws
}

// A subscriber that stops reading fills its socket: the flusher writes
// what fits and hands the rest to the connection's writer, which finishes
// the frame before anything else, a pong included. When the client reads
// again it gets every event whole and in order.
func TestFlusherHandsPartialWritesToTheWriter(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.OutboundQueue = 1 << 16 // this test is about partial writes, not eviction
		c.SlowConsumerTimeout = hangGuard
		c.EvictGrace = hangGuard
		c.HeartbeatInterval = hangGuard
	}, "p1")
	ws := dialSmallWindow(t, e, "ok.u.slow")
	c := &client{t: t, ws: ws}
	c.expect(EventWelcome, "")
	c.subscribe("project:p1", nil, "s")

	// One event at a time, each flushed before the next, so the flusher
	// (not the writer, which takes over queues it finds too big) meets
	// the full socket.
	sc := e.hub.conns("p1")[0]
	waitFor(t, "the writer to finish the subscribe reply", func() bool {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		return !sc.writing && len(sc.queue) == 0
	})
	big := strings.Repeat("x", 3000)
	var seqs []int64
	f := &e.hub.flush
	// An event the connection's writer finds first (it may, and that is
	// not what this test is about) is not counted: after a moment the next
	// one is sent.
	giveUp := time.Now().Add(hangGuard)
	for len(seqs) < 20000 && f.handedOff.Load() == 0 {
		if time.Now().After(giveUp) {
			t.Fatalf("no partial write by the flusher after %d events", len(seqs))
		}
		before := f.written.Load()
		seqs = append(seqs, notifyEvent(t, e, big))
		moment := time.Now().Add(time.Second)
		for f.written.Load() == before && f.handedOff.Load() == 0 && time.Now().Before(moment) {
			time.Sleep(20 * time.Microsecond)
		}
	}
	if e.hub.flush.handedOff.Load() == 0 {
		t.Fatalf("no partial write after %d events of %d bytes", len(seqs), len(big))
	}
	// More events while the rest is pending, and a ping whose pong the
	// server can only write after the rest.
	for range 20 {
		seqs = append(seqs, notifyEvent(t, e, big))
	}
	pinged := make(chan error, 1)
	go func() {
		ctx, cancel := contextWithGuard()
		defer cancel()
		pinged <- ws.Ping(ctx)
	}()
	for i, want := range seqs {
		f := c.read()
		var p struct{ Message string }
		if err := json.Unmarshal(f.Payload, &p); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Seq != want || p.Message != big {
			t.Fatalf("frame %d: seq %d (want %d), message of %d bytes (want %d)", i, f.Seq, want, len(p.Message), len(big))
		}
	}
	// The pong is read by a Read in progress.
	go func() {
		ctx, cancel := contextWithGuard()
		defer cancel()
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				return
			}
		}
	}()
	if err := <-pinged; err != nil {
		t.Fatalf("ping: %v", err)
	}
	c.close()
}

// The writer keeps its socket write deadline for a while; once it has
// passed, the flusher's non-blocking write clears it instead of failing
// and handing every later frame to the writer.
func TestFlusherWritesAfterTheWriteDeadlinePassed(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.SlowConsumerTimeout = 50 * time.Millisecond
		c.HeartbeatInterval = hangGuard
	}, "p1")
	c := e.dial("p1", "ok.u.a") // the welcome went through the writer, with a deadline
	defer c.close()
	c.subscribe("project:p1", nil, "s")
	bc := e.hub.conns("p1")[0].bc
	waitFor(t, "the write deadline to pass", func() bool {
		bc.mu.Lock()
		defer bc.mu.Unlock()
		return !bc.deadline.IsZero() && time.Since(bc.deadline) > 10*time.Millisecond
	})
	// An event may still be written by the connection's writer (it found
	// the queue first, which is not what this test is about; that writer
	// sets a fresh deadline): events are sent, each once the deadline has
	// passed or been cleared, until the flusher wrote three of them.
	flushed := func() int64 { return e.hub.flush.written.Load() + e.hub.flush.handedOff.Load() }
	for i := 0; flushed() < 3; i++ {
		if i == 50 {
			t.Fatalf("the flusher wrote %d of 50 events", flushed())
		}
		waitFor(t, "the write deadline to pass or be cleared", func() bool {
			bc.mu.Lock()
			defer bc.mu.Unlock()
			return bc.deadline.IsZero() || time.Since(bc.deadline) > 10*time.Millisecond
		})
		before := flushed()
		seq := notifyEvent(t, e, "after the deadline")
		if f := c.read(); f.Seq != seq {
			t.Fatalf("event %d: seq %d, want %d", i, f.Seq, seq)
		}
		// The counters move right after the write, maybe after the read;
		// a moment is enough to tell the flusher's write from the writer's.
		for deadline := time.Now().Add(200 * time.Millisecond); flushed() == before && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	if n := e.hub.flush.handedOff.Load(); n != 0 {
		t.Errorf("%d writes handed to the writer after the deadline passed, want 0", n)
	}
}

// take hands out the list in order, a chunk at a time, and says whether
// more is left.
func TestFlusherTakesChunksInOrder(t *testing.T) {
	var f flusher
	cs := make([]*conn, 2*flushChunk+3)
	for i := range cs {
		cs[i] = &conn{id: string(rune('a' + i))}
	}
	f.conns = append(f.conns, cs...)
	var got []*conn
	var chunk [flushChunk]*conn
	for {
		n, more := f.take(chunk[:])
		got = append(got, chunk[:n]...)
		if want := len(got) < len(cs); more != want {
			t.Fatalf("after %d: more = %v, want %v", len(got), more, want)
		}
		if !more {
			break
		}
	}
	for i := range cs {
		if got[i] != cs[i] {
			t.Fatalf("connection %d out of order", i)
		}
	}
	if n, more := f.take(chunk[:]); n != 0 || more || len(f.conns) != 0 {
		t.Fatalf("empty list: took %d, more %v, %d left", n, more, len(f.conns))
	}
}

// The flusher runs while the hub has connections and stops with the last.
func TestFlusherStopsWithTheLastConnection(t *testing.T) {
	e := newEnv(t, nil, "p1")
	running := func() bool {
		e.hub.mu.RLock()
		defer e.hub.mu.RUnlock()
		return e.hub.flush.stop != nil
	}
	if running() {
		t.Fatal("flusher running before any connection")
	}
	a := e.dial("p1", "ok.u.a")
	b := e.dial("p1", "ok.u.b")
	if !running() {
		t.Fatal("flusher not running with two connections")
	}
	a.close()
	b.subscribe("project:p1", nil, "s")
	seq := notifyEvent(t, e, "one left")
	if f := b.read(); f.Seq != seq {
		t.Fatalf("seq %d, want %d", f.Seq, seq)
	}
	b.close()
	waitFor(t, "the flusher to stop", func() bool { return !running() })
	c := e.dial("p1", "ok.u.c")
	c.subscribe("project:p1", nil, "s")
	seq = notifyEvent(t, e, "a new one")
	if f := c.read(); f.Seq != seq {
		t.Fatalf("after restart: seq %d, want %d", f.Seq, seq)
	}
	c.close()
}

// Consecutive events start at consecutive subscribers, so the order in
// which connections are written rotates instead of always favouring the
// oldest subscriber.
func TestPublishRotatesTheFirstSubscriber(t *testing.T) {
	e := newEnv(t, nil, "p1")
	for _, tok := range []string{"ok.u.a", "ok.u.b", "ok.u.c"} {
		c := e.dial("p1", tok)
		c.subscribe("project:p1", nil, "s")
		t.Cleanup(c.close)
	}
	waitFor(t, "the subscriptions to go live", func() bool {
		e.hub.mu.RLock()
		subs := e.hub.projects["p1"].channels["project:p1"]
		e.hub.mu.RUnlock()
		for _, s := range subs {
			s.c.mu.Lock()
			buffering := s.buffering
			s.c.mu.Unlock()
			if buffering {
				return false
			}
		}
		return len(subs) == 3
	})
	firsts := map[*conn]bool{}
	for i := range 3 {
		ev := flow.NewEvent("p1", "notification", "", "", map[string]any{"i": i})
		ev.Seq = int64(1000 + i)
		dirty := e.hub.publish(&ev, make([]*conn, 0, 3))
		if len(dirty) != 3 {
			t.Fatalf("event %d queued on %d connections, want 3", i, len(dirty))
		}
		firsts[dirty[0]] = true
		for _, c := range dirty { // as the flusher would, so the next event lists them again
			c.mu.Lock()
			c.flushPending = false
			c.mu.Unlock()
		}
	}
	if len(firsts) != 3 {
		t.Errorf("3 events started at %d distinct subscribers, want 3", len(firsts))
	}
}
