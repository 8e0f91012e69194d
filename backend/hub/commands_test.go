package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestCommands(t *testing.T) {
	e := newEnv(t, nil, "p1")
	c := e.dial("p1", "ok.u.s")
	defer c.close()

	c.send(map[string]any{"event": "ping", "ref": "p"})
	var pong struct{ ServerTime string }
	if err := json.Unmarshal(c.expect(EventPong, "p").Payload, &pong); err != nil {
		t.Fatal(err)
	}
	if _, err := time.Parse(time.RFC3339Nano, pong.ServerTime); err != nil {
		t.Fatalf("serverTime %q: %v", pong.ServerTime, err)
	}

	c.send(map[string]any{"event": "tools.list", "ref": "t"})
	var tools struct {
		Tools []struct{ Name, Title, Description, Source string }
	}
	if err := json.Unmarshal(c.expect(EventToolsList, "t").Payload, &tools); err != nil || len(tools.Tools) != 1 || tools.Tools[0].Name != "delay" {
		t.Fatalf("tools %+v %v", tools, err)
	}

	sub := c.subscribe("project:p1", nil, "s")
	var subP struct {
		Snapshot  map[string]any `json:"snapshot"`
		Recovered bool           `json:"recovered"`
		LastSeq   int64          `json:"lastSeq"`
	}
	if err := json.Unmarshal(sub.Payload, &subP); err != nil || !subP.Recovered || subP.Snapshot["runs"] == nil || sub.Channel != "project:p1" {
		t.Fatalf("subscribed %s", sub.Payload)
	}

	c.send(map[string]any{"event": "run.start", "ref": "r", "payload": map[string]any{"workflowId": "w1", "inputs": map[string]any{"a": 1}}})
	// The direct reply and the durable event on project:p1 may come in
	// either order; the durable one carries seq and ts.
	var runID string
	for i := 0; i < 2; i++ {
		f := c.read()
		if f.Event != "run.queued" {
			t.Fatalf("got %s", f.Event)
		}
		var p struct{ RunID string }
		_ = json.Unmarshal(f.Payload, &p)
		if f.Ref == "r" {
			runID = p.RunID
			if f.Seq != 0 {
				t.Fatalf("direct reply carries seq")
			}
		} else if f.Seq == 0 || f.TS == "" || f.Channel != "project:p1" {
			t.Fatalf("durable event without seq/ts/channel: %+v", f)
		}
	}
	if runID == "" {
		t.Fatal("no run.queued reply")
	}

	c.send(map[string]any{"event": "run.cancel", "ref": "c", "payload": map[string]any{"runId": runID}})
	c.expect(EventAck, "c")
	c.send(map[string]any{"event": "run.cancel", "ref": "c2", "payload": map[string]any{"runId": "nope"}})
	if p := decodeErr(t, c.expect(EventError, "c2")); p.Code != "not_found" {
		t.Fatalf("code %s", p.Code)
	}
	c.send(map[string]any{"event": "run.start", "ref": "r2", "payload": map[string]any{"workflowId": "missing"}})
	if p := decodeErr(t, c.expect(EventError, "r2")); p.Code != "not_found" {
		t.Fatalf("code %s", p.Code)
	}

	wf := map[string]any{"name": "x", "nodes": []any{}, "edges": []any{}}
	c.send(map[string]any{"event": "workflow.update", "ref": "w", "payload": map[string]any{"workflowId": "w1", "baseVersion": 0, "workflow": wf}})
	var ack struct{ Version int64 }
	if err := json.Unmarshal(c.expect(EventAck, "w").Payload, &ack); err != nil || ack.Version != 1 {
		t.Fatalf("ack %+v %v", ack, err)
	}
	c.send(map[string]any{"event": "workflow.update", "ref": "w2", "payload": map[string]any{"workflowId": "w1", "baseVersion": 0, "workflow": wf}})
	p := decodeErr(t, c.expect(EventError, "w2"))
	if p.Code != "conflict" || p.Version == nil || *p.Version != 1 || len(p.Workflow) == 0 {
		t.Fatalf("conflict payload %+v", p)
	}
	c.send(map[string]any{"event": "workflow.update", "ref": "w3", "payload": map[string]any{"workflowId": "w1", "baseVersion": 1, "workflow": map[string]any{"name": "invalid"}}})
	p = decodeErr(t, c.expect(EventError, "w3"))
	if p.Code != "bad_request" || len(p.Problems) != 1 || p.Problems[0].Node != "a" {
		t.Fatalf("problems payload %+v", p)
	}

	c.send(map[string]any{"event": "unsubscribe", "channel": "project:p1", "ref": "u"})
	if f := c.expect(EventUnsubscribed, "u"); f.Channel != "project:p1" {
		t.Fatalf("unsubscribed on %q", f.Channel)
	}
	e.appendEvents("p1", "notification", "", 1)
	c.send(map[string]any{"event": "ping", "ref": "after"})
	c.expect(EventPong, "after") // no notification in between: unsubscribed
}

// Token expiry closes with 4001 unless auth.refresh came first.
func TestTokenExpiry(t *testing.T) {
	e := newEnv(t, nil, "p1")
	soon := func(d time.Duration) string { return fmt.Sprintf("ok.u.s.%d", time.Now().Add(d).UnixMilli()) }

	c := e.dial("p1", soon(time.Second))
	if got := c.closeStatus(); got != CloseTokenExpired {
		t.Fatalf("close %d, want 4001", got)
	}

	c = e.dial("p1", soon(3*time.Second))
	c.send(map[string]any{"event": "auth.refresh", "ref": "x", "payload": map[string]any{"token": "ok.other.s2"}})
	if p := decodeErr(t, c.expect(EventError, "x")); p.Code != "forbidden" {
		t.Fatalf("refresh with another session: %s", p.Code)
	}
	c.send(map[string]any{"event": "auth.refresh", "ref": "y", "payload": map[string]any{"token": "expired.u.s"}})
	if p := decodeErr(t, c.expect(EventError, "y")); p.Code != "token_expired" {
		t.Fatalf("refresh with expired token: %s", p.Code)
	}
	c.send(map[string]any{"event": "auth.refresh", "ref": "r", "payload": map[string]any{"token": "ok.u.s"}})
	c.expect(EventAck, "r")
	// Past the first token's expiry the connection still answers.
	time.Sleep(3500 * time.Millisecond)
	c.send(map[string]any{"event": "ping", "ref": "still"})
	c.expect(EventPong, "still")
	c.close()
}

func TestCloseProject4004(t *testing.T) {
	e := newEnv(t, nil, "p1", "p2")
	a := e.dial("p1", "ok.u.s")
	b := e.dial("p2", "ok.u.s")
	e.hub.CloseProject("p1")
	if got := a.closeStatus(); got != CloseProjectDeleted {
		t.Fatalf("close %d, want 4004", got)
	}
	b.send(map[string]any{"event": "ping", "ref": "b"})
	b.expect(EventPong, "b")
	b.close()
}

func TestSystemChannelAndConnections(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SystemInterval = 20 * time.Millisecond }, "project-a", "project-b")
	a := e.dial("project-a", "ok.u.s")
	b := e.dial("project-b", "ok.u.s")
	total, per := e.hub.Connections()
	if total != 2 || per["project-a"] != 1 || per["project-b"] != 1 {
		t.Fatalf("connections %d %v", total, per)
	}
	sub := a.subscribe("system", nil, "sys")
	var snap struct {
		Snapshot struct {
			Connections int            `json:"connections"`
			Projects    map[string]int `json:"projects"`
			Queue       map[string]int `json:"queue"`
		} `json:"snapshot"`
	}
	if err := json.Unmarshal(sub.Payload, &snap); err != nil || snap.Snapshot.Connections != 2 || snap.Snapshot.Projects["project-b"] != 1 || snap.Snapshot.Queue == nil {
		t.Fatalf("system snapshot %s", sub.Payload)
	}
	f := a.read()
	if f.Event != EventSystemStats || f.Channel != "system" || f.ProjectID != "project-a" {
		t.Fatalf("system frame %+v", f)
	}
	b.close()
	waitFor(t, "b gone from the system channel", func() bool {
		f := a.read()
		var p struct{ Connections int }
		_ = json.Unmarshal(f.Payload, &p)
		return p.Connections == 1
	})
	a.send(map[string]any{"event": "unsubscribe", "channel": "system", "ref": "u"})
	for a.read().Ref != "u" {
	}
	waitFor(t, "system ticker stopped", func() bool {
		e.hub.mu.RLock()
		defer e.hub.mu.RUnlock()
		return e.hub.sysStop == nil && e.hub.sysSubs == 0
	})
	a.close()
}

// When the last connection of a project closes, nothing is left for it:
// no project entry, no channel index, no session count.
func TestReleaseAfterLastClose(t *testing.T) {
	e := newEnv(t, nil, "p1", "p2")
	e.cmds.addRun("p1", "r1")
	a1 := e.dial("p1", "ok.u.s")
	a2 := e.dial("p1", "ok.u.s")
	b := e.dial("p2", "ok.u.t")
	for _, ch := range []string{"project:p1", "run:r1", "tools:p1", "system"} {
		a1.subscribe(ch, ptr(int64(0)), ch)
		a2.subscribe(ch, nil, ch)
	}
	a1.close()
	// Abrupt drop without a close handshake for the second one.
	_ = a2.ws.CloseNow()
	waitFor(t, "p1 released", func() bool {
		e.hub.mu.RLock()
		defer e.hub.mu.RUnlock()
		_, held := e.hub.projects["p1"]
		return !held && e.hub.sessions["u\x00s"] == 0 && e.hub.sysSubs == 0
	})
	e.hub.mu.RLock()
	if len(e.hub.projects) != 1 || len(e.hub.sessions) != 1 || e.hub.total != 1 {
		t.Errorf("left behind: projects %v sessions %v total %d", e.hub.projects, e.hub.sessions, e.hub.total)
	}
	e.hub.mu.RUnlock()
	b.close()
	waitFor(t, "everything released", func() bool {
		e.hub.mu.RLock()
		defer e.hub.mu.RUnlock()
		return len(e.hub.projects) == 0 && len(e.hub.sessions) == 0 && e.hub.total == 0
	})
	// Publishing to a project without connections is a no-op.
	e.appendEvents("p1", "notification", "", 3)
}

func TestShutdownClosesWith1001(t *testing.T) {
	e := newEnv(t, nil, "p1")
	c := e.dial("p1", "ok.u.s")
	c.subscribe("project:p1", nil, "s")
	done := make(chan websocket.StatusCode, 1)
	go func() { done <- c.closeStatus() }()
	ctx, cancel := contextWithGuard()
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := <-done; got != websocket.StatusGoingAway {
		t.Fatalf("close %d, want 1001", got)
	}
	if err := e.hub.Shutdown(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	if _, err := dialClient(e.wsURL("p1"), "ok.u.s"); err == nil {
		t.Fatal("dial after shutdown succeeded")
	}
}

// Heartbeat: the server pings every heartbeatMs; a client that answers
// (coder/websocket does inside Read) stays connected across many periods.
func TestHeartbeatKeepsLiveClient(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.HeartbeatInterval = 200 * time.Millisecond }, "p1")
	var pings atomic.Int64
	ctx, cancel := contextWithGuard()
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.wsURL("p1"), &websocket.DialOptions{
		HTTPHeader:     http.Header{"Authorization": {"Bearer ok.u.s"}},
		OnPingReceived: func(context.Context, []byte) bool { pings.Add(1); return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, ws: ws}
	done := make(chan websocket.StatusCode, 1)
	go func() { done <- c.closeStatus() }() // keep reading so pongs go out
	waitFor(t, "five pings answered", func() bool { return pings.Load() >= 5 })
	if total, _ := e.hub.Connections(); total != 1 {
		t.Fatalf("live client dropped")
	}
	c.close()
	<-done
}

// Replay follows live routing, with recovered:false past retention and for
// a since this server never wrote.
func TestReplayRecovered(t *testing.T) {
	e := newEnv(t, nil, "p1")
	e.cmds.addRun("p1", "r1")
	// A notification stored with a run id is not a run: event, live or replayed.
	e.appendEvents("p1", "notification", "r1", 1)
	e.appendEvents("p1", "run.started", "r1", 9) // seq 2..10
	c := e.dial("p1", "ok.u.s")
	sub := c.subscribe("run:r1", ptr(int64(0)), "a")
	if !jsonHas(sub.Payload, `"recovered":true`, `"lastSeq":10`) {
		t.Fatalf("subscribed %s", sub.Payload)
	}
	for want := int64(2); want <= 10; want++ {
		if f := c.read(); f.Seq != want || f.Channel != "run:r1" {
			t.Fatalf("got %+v, want seq %d", f, want)
		}
	}
	if _, err := e.db.PruneEvents(context.Background(), 3); err != nil { // keeps 8..10
		t.Fatal(err)
	}
	c2 := e.dial("p1", "ok.u.s")
	sub = c2.subscribe("project:p1", ptr(int64(2)), "b")
	if !jsonHas(sub.Payload, `"recovered":false`) {
		t.Fatalf("subscribed %s", sub.Payload)
	}
	for want := int64(8); want <= 10; want++ {
		if f := c2.read(); f.Seq != want {
			t.Fatalf("got seq %d, want %d", f.Seq, want)
		}
	}
	// since == oldest-1 is still complete.
	c2.send(map[string]any{"event": "unsubscribe", "channel": "project:p1", "ref": "u"})
	c2.expect(EventUnsubscribed, "u")
	if sub = c2.subscribe("project:p1", ptr(int64(7)), "c"); !jsonHas(sub.Payload, `"recovered":true`) {
		t.Fatalf("subscribed %s", sub.Payload)
	}
	for want := int64(8); want <= 10; want++ {
		if f := c2.read(); f.Seq != want {
			t.Fatalf("got seq %d, want %d", f.Seq, want)
		}
	}
	// A since from another history (e.g. a reset data dir).
	if sub = c2.subscribe("project:p1", ptr(int64(99)), "d"); !jsonHas(sub.Payload, `"recovered":false`) {
		t.Fatalf("subscribed %s", sub.Payload)
	}
	for want := int64(8); want <= 10; want++ {
		if f := c2.read(); f.Seq != want {
			t.Fatalf("got seq %d, want %d", f.Seq, want)
		}
	}
	// Without since: snapshot, then live only.
	c3 := e.dial("p1", "ok.u.s")
	c3.subscribe("project:p1", nil, "e")
	e.appendEvents("p1", "notification", "", 1)
	if f := c3.read(); f.Seq != 11 {
		t.Fatalf("got %+v, want live seq 11", f)
	}
	c.close()
	c2.close()
	c3.close()
}

// A client that answers no ping is dropped after two periods.
func TestNoPongCloses(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.HeartbeatInterval = 20 * time.Millisecond }, "p1")
	c := e.dial("p1", "ok.u.s") // never reads again: no pong goes out
	defer c.ws.CloseNow()
	waitFor(t, "dead client dropped", func() bool { total, _ := e.hub.Connections(); return total == 0 })
}

func jsonHas(b []byte, subs ...string) bool {
	for _, s := range subs {
		if !strings.Contains(string(b), s) {
			return false
		}
	}
	return true
}
