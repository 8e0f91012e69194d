package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/flowweaver/flowweaver/backend/flow"
)

// batchClient is a client that chose SubprotocolBatch: each message holds
// one or more frames separated by newlines.
type batchClient struct {
	t       testing.TB
	ws      *websocket.Conn
	pending []frame
	msgs    int // messages read
	multi   int // messages that held more than one frame
}

func (e *env) dialBatch(projectID, token string) *batchClient {
	e.t.Helper()
	ctx, cancel := contextWithGuard()
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.wsURL(projectID), &websocket.DialOptions{
		HTTPHeader:   http.Header{"Authorization": {"Bearer " + token}},
		Subprotocols: []string{SubprotocolBatch, Subprotocol},
	})
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	if ws.Subprotocol() != SubprotocolBatch {
		e.t.Fatalf("subprotocol %q, want %q", ws.Subprotocol(), SubprotocolBatch)
	}
	ws.SetReadLimit(-1)
	c := &batchClient{t: e.t, ws: ws}
	if w := c.read(); w.Event != EventWelcome || w.ProjectID != projectID {
		e.t.Fatalf("first frame = %+v, want welcome", w)
	}
	return c
}

// read returns the next frame, reading a message when none is pending.
// Every line of a message must be one whole JSON object.
func (c *batchClient) read() frame {
	c.t.Helper()
	for len(c.pending) == 0 {
		ctx, cancel := contextWithGuard()
		typ, b, err := c.ws.Read(ctx)
		cancel()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if typ != websocket.MessageText {
			c.t.Fatalf("message type %v", typ)
		}
		lines := bytes.Split(b, []byte("\n"))
		c.msgs++
		if len(lines) > 1 {
			c.multi++
		}
		for _, l := range lines {
			var f frame
			if err := json.Unmarshal(l, &f); err != nil || f.Event == "" {
				c.t.Fatalf("line %q of a message is not one frame: %v", l, err)
			}
			c.pending = append(c.pending, f)
		}
	}
	f := c.pending[0]
	c.pending = c.pending[1:]
	return f
}

func (c *batchClient) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := contextWithGuard()
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *batchClient) subscribe(channel, ref string) {
	c.t.Helper()
	c.send(map[string]any{"event": "subscribe", "channel": channel, "ref": ref})
	if f := c.read(); f.Event != EventSubscribed || f.Ref != ref {
		c.t.Fatalf("got %s ref=%q, want subscribed %q", f.Event, f.Ref, ref)
	}
}

// A client that offers SubprotocolBatch gets a group commit's events
// joined into messages of newline-separated frames: every event once, in
// order, each line the same object a plain client gets as one message. A
// plain client on the same channel still gets one frame per message.
func TestBatchSubprotocolJoinsFramesIntoMessages(t *testing.T) {
	e := newEnv(t, nil, "p1")
	b := e.dialBatch("p1", "ok.u.batch")
	defer func() { _ = b.ws.Close(websocket.StatusNormalClosure, "") }()
	plain := e.dial("p1", "ok.u.plain")
	defer plain.close()
	b.subscribe("project:p1", "s")
	plain.subscribe("project:p1", nil, "s")

	const n = 200
	events := make([]flow.Event, n)
	for i := range events {
		events[i] = flow.NewEvent("p1", flow.EventNotification, "", "", map[string]any{"level": "info", "message": fmt.Sprintf("m%d", i)})
		events[i].Seq = int64(1 + i)
	}
	e.hub.Publish(events) // one call: queued on every connection before a writer wakes
	msgsBefore := b.msgs
	for i := 0; i < n; i++ {
		f := b.read()
		if f.Event != flow.EventNotification || f.Seq != int64(1+i) || f.Channel != "project:p1" || f.ProjectID != "p1" {
			t.Fatalf("batch client: frame %d = %+v, want notification seq %d", i, f, 1+i)
		}
		want := fmt.Sprintf(`"message":"m%d"`, i)
		if !strings.Contains(string(f.Payload), want) {
			t.Fatalf("frame %d payload %s, want %s", i, f.Payload, want)
		}
		if g := plain.read(); g.Seq != f.Seq || !bytes.Equal(g.Payload, f.Payload) || g.Channel != f.Channel {
			t.Fatalf("plain client: frame %+v differs from the batched one %+v", g, f)
		}
	}
	if got := b.msgs - msgsBefore; got >= n || b.multi == 0 {
		t.Fatalf("%d events came in %d messages (%d with several frames): nothing was joined", n, got, b.multi)
	}

	// Replies are frames too; the connection keeps working after batches.
	b.send(map[string]any{"event": "ping", "ref": "p"})
	if f := b.read(); f.Event != EventPong || f.Ref != "p" {
		t.Fatalf("got %+v, want pong", f)
	}
}

// appendLines: messages never exceed maxLinesMessage unless a single frame
// does, a frame with newlines between its tokens is compacted so that
// splitting at newlines gives whole objects, and nothing is lost or
// reordered.
func TestAppendLinesBoundsMessagesAndRemovesNewlines(t *testing.T) {
	big := []byte(`{"event":"x","payload":{"blob":"` + strings.Repeat("a", maxLinesMessage+100) + `"}}`)
	mid := []byte(`{"event":"m","payload":{"blob":"` + strings.Repeat("b", maxLinesMessage/3) + `"}}`)
	pretty := []byte("{\"event\":\"p\",\n  \"payload\": {\n    \"note\": \"line\\nbreak\"\n  }\n}")
	var frames [][]byte
	var want []string
	for i := 0; i < 10; i++ {
		f := []byte(fmt.Sprintf(`{"event":"e","seq":%d,"payload":{}}`, i))
		frames = append(frames, f, mid)
		want = append(want, string(f), string(mid))
	}
	frames = append(frames, big, pretty, []byte(`{"event":"last","payload":{}}`))
	want = append(want, string(big), `{"event":"p","payload":{"note":"line\nbreak"}}`, `{"event":"last","payload":{}}`)

	wire := appendLines(nil, frames)
	var got []string
	for len(wire) > 0 {
		payload, rest := readTextFrame(t, wire)
		if len(payload) > maxLinesMessage && bytes.IndexByte(payload, '\n') >= 0 {
			t.Fatalf("a message of %d bytes holds several frames (max %d)", len(payload), maxLinesMessage)
		}
		for _, l := range bytes.Split(payload, []byte("\n")) {
			if !json.Valid(l) {
				t.Fatalf("line %q is not one JSON object", l)
			}
			got = append(got, string(l))
		}
		wire = rest
	}
	if len(got) != len(want) {
		t.Fatalf("%d frames out, %d in", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("frame %d = %.80q, want %.80q", i, got[i], want[i])
		}
	}
}

// readTextFrame parses one final, unmasked text frame off the front of b.
func readTextFrame(t *testing.T, b []byte) (payload, rest []byte) {
	t.Helper()
	if len(b) < 2 || b[0] != 0x80|opText || b[1]&0x80 != 0 {
		t.Fatalf("not a final unmasked text frame: % x", b[:min(len(b), 2)])
	}
	n, h := int(b[1]), 2
	switch n {
	case 126:
		n, h = int(b[2])<<8|int(b[3]), 4
	case 127:
		n, h = 0, 10
		for _, c := range b[2:10] {
			n = n<<8 | int(c)
		}
	}
	return b[h : h+n], b[h+n:]
}

// A batch client that resumes with since gets every durable event after it
// exactly once and in order, the replay (read from the SQLite log in pages)
// and the live events that follow it alike.
func TestBatchSubprotocolReplaysDurableEvents(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ReplayPage = 7 }, "p1")
	seqs := e.appendEvents("p1", flow.EventNotification, "", 60)
	b := e.dialBatch("p1", "ok.u.replay")
	defer func() { _ = b.ws.Close(websocket.StatusNormalClosure, "") }()
	since := seqs[9]
	b.send(map[string]any{"event": "subscribe", "channel": "project:p1", "ref": "r", "payload": map[string]any{"since": since}})
	if f := b.read(); f.Event != EventSubscribed || f.Ref != "r" {
		t.Fatalf("got %+v, want subscribed", f)
	}
	live := e.appendEvents("p1", flow.EventNotification, "", 20)
	want := append(append([]int64{}, seqs[10:]...), live...)
	for i, s := range want {
		if f := b.read(); f.Seq != s || f.Event != flow.EventNotification {
			t.Fatalf("frame %d: seq %d (%s), want %d", i, f.Seq, f.Event, s)
		}
	}
	// How the replay splits into messages depends on how fast the writer
	// drains; what must hold is that nothing is lost, doubled or reordered.
}
