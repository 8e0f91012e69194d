package hub

import (
	"encoding/json"
	"strings"
	"testing"
)

// readPresence reads frames until a presence event on channel and returns its editors.
func readPresence(t *testing.T, c *client, channel string) []Editor {
	t.Helper()
	for i := 0; i < 20; i++ {
		f := c.read()
		if f.Event != EventPresence {
			continue
		}
		if f.Channel != channel || f.Seq != 0 {
			t.Fatalf("presence frame on %q with seq %d", f.Channel, f.Seq)
		}
		var p struct{ Editors []Editor }
		if err := json.Unmarshal(f.Payload, &p); err != nil {
			t.Fatalf("presence payload %s: %v", f.Payload, err)
		}
		return p.Editors
	}
	t.Fatal("no presence frame within 20 frames")
	return nil
}

func names(es []Editor) string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name+"@"+e.WorkflowID)
	}
	return strings.Join(out, ",")
}

func setPresence(c *client, ref, workflowID, name string) {
	c.send(map[string]any{"event": CmdPresenceSet, "ref": ref, "payload": map[string]any{"workflowId": workflowID, "name": name, "client": "Firefox"}})
}

func TestPresenceListsEditorsAndForgetsClosedOnes(t *testing.T) {
	e := newEnv(t, nil, "p1", "p2")
	a := e.dial("p1", "ok.u.s")
	defer a.close()

	sub := a.subscribe("presence:p1", nil, "s")
	var snap struct {
		Snapshot struct{ Editors []Editor } `json:"snapshot"`
	}
	if err := json.Unmarshal(sub.Payload, &snap); err != nil || snap.Snapshot.Editors == nil || len(snap.Snapshot.Editors) != 0 {
		t.Fatalf("snapshot %s (%v)", sub.Payload, err)
	}
	if got := readPresence(t, a, "presence:p1"); len(got) != 0 {
		t.Fatalf("first list %v", got)
	}

	setPresence(a, "1", "w1", "  Firefox, window 1  ")
	a.expect(EventAck, "1")
	got := readPresence(t, a, "presence:p1")
	if names(got) != "Firefox, window 1@w1" || !got[0].Local || got[0].Client != "Firefox" || got[0].ConnectionID == "" || got[0].Since.IsZero() {
		t.Fatalf("after set: %+v", got)
	}
	since := got[0].Since

	b := e.dial("p1", "ok.u.s2")
	other := e.dial("p2", "ok.u.s3")
	defer other.close()
	sub = b.subscribe("presence:p1", nil, "s")
	if err := json.Unmarshal(sub.Payload, &snap); err != nil || names(snap.Snapshot.Editors) != "Firefox, window 1@w1" {
		t.Fatalf("b's snapshot %s", sub.Payload)
	}
	readPresence(t, b, "presence:p1")
	setPresence(b, "2", "w1", "Ana")
	b.expect(EventAck, "2")
	if n := names(readPresence(t, a, "presence:p1")); n != "Firefox, window 1@w1,Ana@w1" {
		t.Fatalf("a sees %s", n)
	}
	if n := names(readPresence(t, b, "presence:p1")); n != "Firefox, window 1@w1,Ana@w1" {
		t.Fatalf("b sees %s", n)
	}

	// Another project sees none of it and cannot join p1's presence.
	other.send(map[string]any{"event": "subscribe", "channel": "presence:p1", "ref": "x"})
	if p := decodeErr(t, other.expect(EventError, "x")); p.Code != "forbidden" {
		t.Fatalf("code %s", p.Code)
	}
	if n := names(e.hub.Presence("p2")); n != "" {
		t.Fatalf("p2 presence %q", n)
	}

	// The same workflow again keeps Since; another workflow moves it.
	setPresence(a, "3", "w1", "Firefox, window 1")
	a.expect(EventAck, "3")
	if got := readPresence(t, a, "presence:p1"); !got[0].Since.Equal(since) {
		t.Fatalf("since moved: %v -> %v", since, got[0].Since)
	}
	readPresence(t, b, "presence:p1")

	// A window that closes is gone from everyone's list.
	b.close()
	if n := names(readPresence(t, a, "presence:p1")); n != "Firefox, window 1@w1" {
		t.Fatalf("after b closed: %s", n)
	}

	// A socket that drops without a close handshake too.
	c := e.dial("p1", "ok.u.s4")
	setPresence(c, "4", "w2", "Chromium, window 3")
	c.expect(EventAck, "4")
	if n := names(readPresence(t, a, "presence:p1")); n != "Firefox, window 1@w1,Chromium, window 3@w2" {
		t.Fatalf("after c joined: %s", n)
	}
	_ = c.ws.CloseNow()
	if n := names(readPresence(t, a, "presence:p1")); n != "Firefox, window 1@w1" {
		t.Fatalf("after c dropped: %s", n)
	}
}

func TestPresenceBadInput(t *testing.T) {
	e := newEnv(t, nil, "p1")
	a := e.dial("p1", "ok.u.s")
	defer a.close()
	cases := map[string]any{
		"no name":       map[string]any{"workflowId": "w1"},
		"blank name":    map[string]any{"name": "   "},
		"long name":     map[string]any{"name": strings.Repeat("é", maxPresenceName+1)},
		"control char":  map[string]any{"name": "a\u0007b"},
		"long client":   map[string]any{"name": "Ana", "client": strings.Repeat("x", maxPresenceClient+1)},
		"long workflow": map[string]any{"name": "Ana", "workflowId": strings.Repeat("w", maxIDLen+1)},
		"not an object": "Ana",
		"name a number": map[string]any{"name": 7},
	}
	for what, payload := range cases {
		a.send(map[string]any{"event": CmdPresenceSet, "ref": what, "payload": payload})
		if p := decodeErr(t, a.expect(EventError, what)); p.Code != "bad_request" {
			t.Fatalf("%s: code %s (%s)", what, p.Code, p.Message)
		}
	}
	if n := len(e.hub.Presence("p1")); n != 0 {
		t.Fatalf("bad input left %d entries", n)
	}
	// The longest allowed name is fine, and the connection still works.
	setPresence(a, "ok", "", strings.Repeat("é", maxPresenceName))
	a.expect(EventAck, "ok")
	if got := e.hub.Presence("p1"); len(got) != 1 || got[0].WorkflowID != "" {
		t.Fatalf("presence %+v", got)
	}
}
