package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/flowweaver/flowweaver/backend/datadir"
)

// wsServer is a WebSocket endpoint that selects one of subprotocols and
// sends messages as they are, then waits for the client to close.
func wsServer(t *testing.T, subprotocols []string, messages []string) *api {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: subprotocols})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
		defer cancel()
		for _, m := range messages {
			if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
				return
			}
		}
		_, _, _ = c.Read(ctx) // until the client closes
	}))
	t.Cleanup(srv.Close)
	return &api{base: srv.URL, token: func() (string, error) { return "t", nil }}
}

// readFrames dials a, reads n frames through a frameReader and returns
// them with the negotiated subprotocol and the number of messages read.
func readFrames(t *testing.T, a *api, n int) (frames []string, protocol string, messages int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := dialProject(ctx, a, "p1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	r := newFrameReader(c)
	for range n {
		f, err := r.next(ctx)
		if err != nil {
			t.Fatalf("after %q: %v", frames, err)
		}
		frames = append(frames, string(f))
	}
	_ = c.Close(websocket.StatusNormalClosure, "")
	return frames, c.Subprotocol(), r.messages
}

// A server that selects flowweaver.v1.batch: every line of a message is a
// frame of its own, in order; an empty trailing line and a malformed line
// come out as pieces the follower skips, without losing the frames around
// them.
func TestFrameReaderSplitsBatchedMessages(t *testing.T) {
	a := wsServer(t, []string{subprotocolBatch, subprotocol}, []string{
		`{"event":"a","seq":1}` + "\n" + `{"event":"b","seq":2}` + "\n" + `{"event":"c","seq":3}`,
		`{"event":"single","seq":4}`,
		`{"event":"d","seq":5}` + "\n" + `{"event":"broken` + "\n" + `{"event":"e","seq":6}` + "\n",
	})
	frames, protocol, messages := readFrames(t, a, 8)
	if protocol != subprotocolBatch {
		t.Fatalf("subprotocol %q, want %q", protocol, subprotocolBatch)
	}
	want := []string{
		`{"event":"a","seq":1}`, `{"event":"b","seq":2}`, `{"event":"c","seq":3}`,
		`{"event":"single","seq":4}`,
		`{"event":"d","seq":5}`, `{"event":"broken`, `{"event":"e","seq":6}`, ``,
	}
	if strings.Join(frames, "|") != strings.Join(want, "|") {
		t.Fatalf("frames\n%q\nwant\n%q", frames, want)
	}
	if messages != 3 {
		t.Fatalf("%d messages read, want 3", messages)
	}
}

// A server that only knows flowweaver.v1 (an older one) selects it: each
// message is one frame, newlines and all.
func TestFrameReaderReadsPlainMessagesWhole(t *testing.T) {
	pretty := "{\n  \"event\": \"a\",\n  \"seq\": 1\n}"
	a := wsServer(t, []string{subprotocol}, []string{pretty, `{"event":"b","seq":2}`})
	frames, protocol, _ := readFrames(t, a, 2)
	if protocol != subprotocol {
		t.Fatalf("subprotocol %q, want %q", protocol, subprotocol)
	}
	if len(frames) != 2 || frames[0] != pretty || frames[1] != `{"event":"b","seq":2}` {
		t.Fatalf("frames %q", frames)
	}
}

// recorder is a follower handler that keeps what it was given.
type recorder struct {
	mu     sync.Mutex
	events []event
	snaps  int
}

func (r *recorder) event(ev event) { r.mu.Lock(); r.events = append(r.events, ev); r.mu.Unlock() }
func (r *recorder) snapshot(*runInfo) {
	r.mu.Lock()
	r.snaps++
	r.mu.Unlock()
}
func (r *recorder) notice(string) {}

// Against the real daemon (engine, store, hub on loopback, as `run` boots
// it in-process): the CLI's socket gets flowweaver.v1.batch, and a follower
// of a run that prints 3,000 lines in 30 chunks (so the run has many log
// events, not one) sees every durable event once, in seq
// order, every line once and in order, and the run's end. A replay of the
// same run through frameReader comes in fewer messages than frames, so the
// lines really were split.
func TestFollowOverTheBatchFramingOfTheRealHub(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const lines = 3000
	tg, a, projectID := inProcessProject(ctx, t, "flood", map[string]any{"name": "flood", "nodes": []any{
		map[string]any{"id": "flood", "tool": "shell", "params": map[string]any{"command": fmt.Sprintf(
			`seq -f 'line %%.0f' %d | awk '{ print } NR %% 100 == 0 { fflush(); system("sleep 0.02") }'`, lines)}},
	}, "edges": []any{}})
	runID, err := a.startRun(ctx, projectID, "flood", nil)
	if err != nil {
		t.Fatal(err)
	}

	rec := &recorder{}
	f := &follower{t: tg, projectID: projectID, runID: runID, h: rec}
	if err := f.run(ctx); err != nil {
		t.Fatalf("follow: %v", err)
	}
	if f.status != "succeeded" {
		t.Fatalf("status %q, want succeeded", f.status)
	}
	var got []string
	var last int64
	for _, ev := range rec.events {
		if ev.Seq <= last {
			t.Fatalf("seq %d after %d: an event twice or out of order", ev.Seq, last)
		}
		last = ev.Seq
		if ev.Event == "node.log" {
			var pl struct{ Lines []string }
			if err := json.Unmarshal(ev.Payload, &pl); err != nil {
				t.Fatal(err)
			}
			got = append(got, pl.Lines...)
		}
	}
	if len(got) != lines {
		t.Fatalf("%d lines, want %d", len(got), lines)
	}
	for i, l := range got {
		if l != fmt.Sprintf("line %d", i+1) {
			t.Fatalf("line %d is %q", i+1, l)
		}
	}
	if end := rec.events[len(rec.events)-1]; end.Event != "run.completed" {
		t.Fatalf("last event %s, want run.completed", end.Event)
	}

	// The same history again, as a replay: the hub joins its pages into
	// messages of several lines.
	c, err := dialProject(ctx, a, projectID)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if c.Subprotocol() != subprotocolBatch {
		t.Fatalf("subprotocol %q, want %q", c.Subprotocol(), subprotocolBatch)
	}
	c.SetReadLimit(32 << 20)
	sub, _ := json.Marshal(map[string]any{"event": "subscribe", "channel": "run:" + runID, "payload": map[string]any{"since": 0}, "ref": "s"})
	if err := c.Write(ctx, websocket.MessageText, sub); err != nil {
		t.Fatal(err)
	}
	r := newFrameReader(c)
	replayed := 0
	for replayed < len(rec.events) {
		data, err := r.next(ctx)
		if err != nil {
			t.Fatalf("replay after %d of %d events: %v", replayed, len(rec.events), err)
		}
		var ev event
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Fatalf("replayed line %q: %v", data, err)
		}
		if ev.Seq == 0 {
			continue // welcome, subscribed
		}
		if want := rec.events[replayed]; ev.Seq != want.Seq || ev.Event != want.Event {
			t.Fatalf("replayed %s seq %d, followed %s seq %d", ev.Event, ev.Seq, want.Event, want.Seq)
		}
		replayed++
	}
	t.Logf("%d events followed; the replay came in %d messages", replayed, r.messages)
	if r.messages >= replayed {
		t.Fatalf("%d events replayed in %d messages: nothing was joined", replayed, r.messages)
	}
	_ = c.Close(websocket.StatusNormalClosure, "")
}

// inProcessProject writes workflow wf as <name>.json into a fresh project
// folder, starts the CLI's in-process target on a fresh data dir (closed
// when the test ends) and registers the folder, trusted, as project name.
func inProcessProject(ctx context.Context, t *testing.T, name string, wf map[string]any) (target, *api, string) {
	t.Helper()
	proj := t.TempDir()
	wfDir := filepath.Join(proj, ".flowweaver", "workflows")
	b, err := json.Marshal(wf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(wfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wfDir, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	lock, err := datadir.Acquire(t.TempDir(), "run")
	if err != nil {
		t.Fatal(err)
	}
	tg, err := startInProcess(ctx, &Env{Stdout: io.Discard, Stderr: io.Discard, Version: "test"}, lock, targetOptions{}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tg.close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	a := tg.api()
	p, err := a.createProject(ctx, name, proj, true)
	if err != nil {
		t.Fatal(err)
	}
	return tg, a, p.ID
}
