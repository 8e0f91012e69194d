package hub

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// The hub writes data frames itself (batchConn.writeFrames): every length
// form of RFC 6455 (7-bit, 16-bit, 64-bit) must reach a real client as one
// intact message, in order, between control frames coder/websocket writes.
func TestFramesOfEverySizeReachTheClient(t *testing.T) {
	e := newEnv(t, nil, "p1")
	c := e.dial("p1", "ok.u.s")
	c.subscribe("project:p1", nil, "s")
	sizes := []int{0, 1, 40, 60, 65, 66, 67, 200, 65_000, 65_470, 65_480, 65_600, 70_000, 300_000}
	frames := make(chan frame, len(sizes)+8)
	readDone := make(chan struct{})
	go func() { // reading also takes the pongs of the client's pings below
		defer close(readDone)
		for {
			f, err := c.readErr()
			if err != nil {
				return
			}
			frames <- f
		}
	}()
	defer func() { c.close(); <-readDone }()
	for i, n := range sizes {
		ev := flow.NewEvent("p1", "notification", "", "", map[string]any{"i": i, "text": strings.Repeat("x", n)})
		e.hub.PublishTransient(ev)
		// A WebSocket ping: the server's pong (a control frame written by
		// coder/websocket) goes out between the hub's data frames.
		ctx, cancel := contextWithGuard()
		if err := c.ws.Ping(ctx); err != nil {
			t.Fatalf("ping after frame %d: %v", i, err)
		}
		cancel()
	}
	for i, n := range sizes {
		var f frame
		select {
		case f = <-frames:
		case <-time.After(hangGuard):
			t.Fatalf("frame %d never arrived", i)
		}
		var p struct {
			I    int    `json:"i"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(f.Payload, &p); err != nil || f.Event != "notification" {
			t.Fatalf("frame %d: %s %s (%v)", i, f.Event, f.Payload, err)
		}
		if p.I != i || len(p.Text) != n {
			t.Fatalf("frame %d: got i=%d with %d bytes, want i=%d with %d", i, p.I, len(p.Text), i, n)
		}
	}
}

// One Publish call (one group commit) with many events queues all of them
// before waking the writers; every subscriber still gets every event once,
// in seq order, on each channel it joined.
func TestMultiEventPublishDeliversAllInOrder(t *testing.T) {
	e := newEnv(t, nil, "p1")
	e.cmds.addRun("p1", "r1")
	a := e.dial("p1", "ok.u.s")
	b := e.dial("p1", "ok.u.s2")
	defer a.close()
	defer b.close()
	a.subscribe("project:p1", nil, "s")
	b.subscribe("project:p1", nil, "s")
	b.subscribe("run:r1", nil, "r")
	const n = 300
	events := make([]flow.Event, n)
	for i := range events {
		events[i] = flow.NewEvent("p1", "run.progress", "r1", "", map[string]any{"runId": "r1", "i": i})
		events[i].Seq = int64(1000 + i)
	}
	e.hub.Publish(events)
	for i := 0; i < n; i++ {
		if f := a.read(); f.Seq != int64(1000+i) || f.Channel != "project:p1" {
			t.Fatalf("a: frame %d is seq %d on %s, want seq %d", i, f.Seq, f.Channel, 1000+i)
		}
	}
	next := map[string]int64{"project:p1": 1000, "run:r1": 1000}
	for i := 0; i < 2*n; i++ {
		f := b.read()
		if f.Seq != next[f.Channel] {
			t.Fatalf("b: frame on %s is seq %d, want %d", f.Channel, f.Seq, next[f.Channel])
		}
		next[f.Channel]++
	}
}

// Once coder/websocket has written a close frame (the reader answering
// the peer's close, or a 1009), no data frame may follow it on the wire.
func TestNoDataFrameAfterCloseFrame(t *testing.T) {
	server, peer := net.Pipe()
	defer func() { _ = peer.Close() }()
	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(peer); got <- b }()
	bc := &batchConn{Conn: server, timeout: hangGuard}
	if err := bc.writeFrames([][]byte{[]byte(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	closeFrame := []byte{0x88, 0x02, 0x03, 0xe8} // close 1000, as coder/websocket writes it
	if _, err := bc.Write(closeFrame); err != nil {
		t.Fatal(err)
	}
	if err := bc.writeFrames([][]byte{[]byte(`{"b":2}`)}); !errors.Is(err, errCloseSent) {
		t.Fatalf("data after the close frame: err = %v, want errCloseSent", err)
	}
	_ = server.Close()
	want := append(append([]byte{0x81, 7}, `{"a":1}`...), closeFrame...)
	if b := <-got; string(b) != string(want) {
		t.Fatalf("wire = %x, want %x", b, want)
	}
}

// BenchmarkWriteFrames: one batch of four 200-byte frames per write to a
// real loopback TCP socket whose peer drains it, as a subscriber's writer
// does under fan-out. It measures the writer's own cost per batch (frame
// headers, the deadline, the syscall).
func BenchmarkWriteFrames(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer func() { _ = c.Close() }()
		_, _ = io.Copy(io.Discard, c)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	bc := &batchConn{Conn: c, timeout: 10 * time.Second}
	frame := []byte(`{"event":"notification","channel":"project:p_0123456789abcdef","projectId":"p_0123456789abcdef","seq":1,"ts":"2026-12-01T17:43:48.123Z","payload":{"data":{"t":1764611028123456789},"level":"info","message":"bench"}}`)
	batch := [][]byte{frame, frame, frame, frame}
	b.ReportAllocs()
	for b.Loop() {
		if err := bc.writeFrames(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = c.Close()
	<-drained
}
