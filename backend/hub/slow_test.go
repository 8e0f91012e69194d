package hub

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// finalMark is the message of the last event a test publishes.
const finalMark = "final event of the test"

// One client stops reading: it is closed with 4008 and no publisher or
// other client waits for it; it reconnects with since and loses nothing.
func TestSlowConsumer(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.OutboundQueue = 256
		c.SlowConsumerTimeout = hangGuard // it must still be there to read its 4008
		c.EvictGrace = hangGuard
	}, "p1")
	slow := e.dial("p1", "ok.u.slow")
	fast := e.dial("p1", "ok.u.fast")
	slow.subscribe("project:p1", nil, "s")
	fast.subscribe("project:p1", nil, "f")

	// The fast client reads on its own goroutine until it has the event
	// marked final. (Waiting for a seq sent after publishing raced: a
	// client that had caught up sat in a read nothing would ever answer.)
	var fastSeqs []int64
	var fwg sync.WaitGroup
	fwg.Go(func() {
		for {
			f, err := fast.readErr()
			if err != nil {
				t.Errorf("fast client: %v", err)
				return
			}
			fastSeqs = append(fastSeqs, f.Seq)
			if strings.Contains(string(f.Payload), finalMark) {
				return
			}
		}
	})

	// Publish 4 KiB events until the slow client (which reads nothing) has
	// filled the socket buffers and its queue, then a few more.
	big := strings.Repeat("x", 4<<10)
	var last int64
	publish := func(message string) {
		ev := flow.NewEvent("p1", "notification", "", "", map[string]any{"level": "info", "message": message})
		if err := e.db.AppendEvent(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
		last = ev.Seq
	}
	for i := 0; e.hub.evictions.Load() == 0; i++ {
		if i > 200000 {
			t.Fatal("slow client never evicted")
		}
		publish(big)
	}
	for i := 0; i < 50; i++ {
		publish(big)
	}
	publish(finalMark)
	fwg.Wait()
	if int64(len(fastSeqs)) != last {
		t.Fatalf("fast client got %d events, want %d", len(fastSeqs), last)
	}

	// The slow client now reads: what was on the wire, then close 4008.
	var seen []int64
	for {
		f, err := slow.readErr()
		if err != nil {
			if code := closeCode(err); code != CloseSlowConsumer {
				t.Fatalf("slow client closed with %d (%v), want 4008", code, err)
			}
			break
		}
		seen = append(seen, f.Seq)
	}
	if len(seen) == 0 || int64(len(seen)) >= last {
		t.Fatalf("slow client read %d of %d before 4008", len(seen), last)
	}
	// Resume with since: exactly the rest, in order.
	again := e.dial("p1", "ok.u.slow")
	sub := again.subscribe("project:p1", ptr(seen[len(seen)-1]), "again")
	if !strings.Contains(string(sub.Payload), `"recovered":true`) {
		t.Fatalf("subscribed %s", sub.Payload)
	}
	for int64(len(seen)) < last {
		seen = append(seen, again.read().Seq)
	}
	for i, s := range seen {
		if s != int64(i+1) {
			t.Fatalf("event %d has seq %d: gap or duplicate", i, s)
		}
	}
	again.close()
	fast.close()
}

// A reader that stops reading for good is cut off EvictGrace after its queue
// overflowed, even though the writer is blocked on its full socket buffer
// (the write deadline alone, SlowConsumerTimeout, is set to an hour here),
// and its session slot is free again; the other reader loses nothing.
func TestStalledReaderDropped(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.OutboundQueue = 256
		c.MaxConnsPerSession = 1
		c.SlowConsumerTimeout = time.Hour
	}, "p1")
	stalled := e.dial("p1", "ok.u.stall")
	fast := e.dial("p1", "ok.u.fast")
	stalled.subscribe("project:p1", nil, "s")
	fast.subscribe("project:p1", nil, "f")

	// The fast client reads on its own goroutine until it is closed.
	var (
		fmu      sync.Mutex
		fastSeqs []int64
		fwg      sync.WaitGroup
		closing  atomic.Bool
	)
	fwg.Go(func() {
		for {
			f, err := fast.readErr()
			if err != nil {
				if !closing.Load() {
					t.Errorf("fast client: %v", err)
				}
				return
			}
			fmu.Lock()
			fastSeqs = append(fastSeqs, f.Seq)
			fmu.Unlock()
		}
	})

	big := strings.Repeat("y", 4<<10)
	var last int64
	publish := func() {
		ev := flow.NewEvent("p1", "notification", "", "", map[string]any{"level": "info", "message": big})
		if err := e.db.AppendEvent(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
		last = ev.Seq
	}
	for i := 0; e.hub.evictions.Load() == 0; i++ {
		if i > 200000 {
			t.Fatal("stalled client never evicted")
		}
		publish()
	}
	evicted := time.Now()
	for i := 0; i < 20; i++ {
		publish()
	}

	// The slot comes back: a new connection of the same session (limit 1)
	// is refused with 429 until the stalled one is really gone. The bound
	// is generous (a busy machine only makes it slower) but far below the
	// hour the blocked write alone would take.
	const bound = 30 * time.Second
	var again *client
	for again == nil {
		c, err := dialClient(e.wsURL("p1"), "ok.u.stall")
		if err == nil {
			again = c
			again.t = t
			break
		}
		if time.Since(evicted) > bound {
			t.Fatalf("stalled reader still holds its slot %s after eviction (last dial: %v)", bound, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("stalled reader's slot freed %s after its queue overflowed", time.Since(evicted).Round(time.Millisecond))
	if w := again.read(); w.Event != EventWelcome {
		t.Fatalf("first frame %s, want welcome", w.Event)
	}
	again.close()

	waitFor(t, "the fast client to read every event", func() bool {
		fmu.Lock()
		defer fmu.Unlock()
		return int64(len(fastSeqs)) >= last
	})
	closing.Store(true)
	fast.close()
	fwg.Wait()
	for i, s := range fastSeqs {
		if s != int64(i+1) {
			t.Fatalf("fast client: event %d has seq %d: gap or duplicate", i, s)
		}
	}
	if int64(len(fastSeqs)) != last {
		t.Fatalf("fast client got %d events, want %d", len(fastSeqs), last)
	}
	// What the stalled client still finds in its socket buffer ends in a
	// close: 4008 if the writer got its frame out within the grace, else
	// the abrupt end of a connection that was cut mid-frame.
	code := stalled.closeStatus()
	t.Logf("stalled client's connection ended with %d", code)
}
