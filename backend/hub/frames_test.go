package hub

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"context"

	"github.com/coder/websocket"
)

type errPayload struct {
	Code     string          `json:"code"`
	Message  string          `json:"message"`
	Version  *int64          `json:"version"`
	Workflow json.RawMessage `json:"workflow"`
	Problems []struct {
		Field, Node, Message string
	} `json:"problems"`
}

func decodeErr(t testing.TB, f frame) errPayload {
	t.Helper()
	if f.Event != EventError {
		t.Fatalf("got %s %s, want error", f.Event, f.Payload)
	}
	var p errPayload
	if err := json.Unmarshal(f.Payload, &p); err != nil || p.Code == "" || p.Message == "" {
		t.Fatalf("error payload %s (%v)", f.Payload, err)
	}
	return p
}

// Every bad frame gets an error event with the right code and the
// offending ref; the connection stays open (a ping still works) and other
// connections are untouched.
func TestBadFrames(t *testing.T) {
	e := newEnv(t, nil, "p1", "p2")
	e.cmds.addRun("p2", "rB")
	c := e.dial("p1", "ok.u.s")
	other := e.dial("p1", "ok.u.s2")
	other.subscribe("project:p1", nil, "o")
	defer c.close()
	defer other.close()

	rows := []struct {
		name, frame, code, ref string
	}{
		{"malformed JSON", `{"event":`, "bad_request", ""},
		{"not an object", `[1,2]`, "bad_request", ""},
		{"JSON null", `null`, "bad_request", ""},
		{"empty object", `{}`, "bad_request", ""},
		{"missing event", `{"ref":"1","channel":"project:p1"}`, "bad_request", "1"},
		{"event not a string", `{"event":5,"ref":"2"}`, "bad_request", "2"},
		{"ref not a string", `{"event":"ping","ref":7}`, "bad_request", ""},
		{"unknown event", `{"event":"launch.missiles","ref":"3"}`, "unknown_event", "3"},
		{"payload not an object", `{"event":"subscribe","channel":"project:p1","payload":[1],"ref":"4"}`, "bad_request", "4"},
		{"since wrong type", `{"event":"subscribe","channel":"project:p1","payload":{"since":"x"},"ref":"5"}`, "bad_request", "5"},
		{"since negative", `{"event":"subscribe","channel":"project:p1","payload":{"since":-1},"ref":"6"}`, "bad_request", "6"},
		{"since fractional", `{"event":"subscribe","channel":"project:p1","payload":{"since":1.5},"ref":"6b"}`, "bad_request", "6b"},
		{"subscribe without channel", `{"event":"subscribe","ref":"7"}`, "bad_request", "7"},
		{"unknown channel kind", `{"event":"subscribe","channel":"secrets:p1","ref":"8"}`, "forbidden", "8"},
		{"other project's channel", `{"event":"subscribe","channel":"project:p2","ref":"9"}`, "forbidden", "9"},
		{"other project's tools", `{"event":"subscribe","channel":"tools:p2","ref":"10"}`, "forbidden", "10"},
		{"other project's run", `{"event":"subscribe","channel":"run:rB","ref":"11"}`, "forbidden", "11"},
		{"unknown run", `{"event":"subscribe","channel":"run:nope","ref":"12"}`, "forbidden", "12"},
		{"system with suffix", `{"event":"subscribe","channel":"system:x","ref":"13"}`, "forbidden", "13"},
		{"run.start without workflow", `{"event":"run.start","payload":{},"ref":"14"}`, "bad_request", "14"},
		{"run.start inputs not object", `{"event":"run.start","payload":{"workflowId":"w","inputs":3},"ref":"15"}`, "bad_request", "15"},
		{"run.cancel without runId", `{"event":"run.cancel","ref":"16"}`, "bad_request", "16"},
		{"workflow.update no base", `{"event":"workflow.update","payload":{"workflowId":"w","workflow":{}},"ref":"17"}`, "bad_request", "17"},
		{"auth.refresh no token", `{"event":"auth.refresh","payload":{},"ref":"18"}`, "bad_request", "18"},
		{"huge ref", `{"event":"ping","ref":"` + strings.Repeat("r", 300) + `"}`, "bad_request", ""},
	}
	var forbiddenMsgs []string
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			c.t = t
			c.sendRaw(row.frame)
			f := c.read()
			p := decodeErr(t, f)
			if p.Code != row.code || f.Ref != row.ref || f.ProjectID != "p1" {
				t.Fatalf("got code %q ref %q project %q, want %q %q p1", p.Code, f.Ref, f.ProjectID, row.code, row.ref)
			}
			if p.Code == "forbidden" {
				// Same wording whether the channel is unknown or another
				// project's: only the echoed channel name differs.
				var ch string
				_ = json.Unmarshal([]byte(row.frame), &struct {
					Channel *string `json:"channel"`
				}{&ch})
				forbiddenMsgs = append(forbiddenMsgs, strings.Replace(p.Message, ch, "X", 1))
			}
			c.send(map[string]string{"event": "ping", "ref": "alive"})
			c.expect(EventPong, "alive")
		})
	}
	for _, m := range forbiddenMsgs {
		if m != forbiddenMsgs[0] {
			t.Fatalf("forbidden messages differ: %q vs %q", m, forbiddenMsgs[0])
		}
	}
	// The other connection saw none of it.
	e.appendEvents("p1", "notification", "", 1)
	if f := other.read(); f.Event != "notification" {
		t.Fatalf("other connection got %s", f.Event)
	}
}

func TestBinaryFrameCloses1003(t *testing.T) {
	e := newEnv(t, nil, "p1")
	c := e.dial("p1", "ok.u.s")
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if got := c.closeStatus(); got != websocket.StatusUnsupportedData {
		t.Fatalf("close %d, want 1003", got)
	}
	// The server lives on.
	e.dial("p1", "ok.u.s").close()
}

// A text frame that is not UTF-8 fails the connection with 1007 (RFC 6455
// §8.1); the server and other connections live on.
func TestInvalidUTF8Closes1007(t *testing.T) {
	e := newEnv(t, nil, "p1")
	other := e.dial("p1", "ok.u.other")
	c := e.dial("p1", "ok.u.s")
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	bad := []byte(`{"event":"ping","ref":"\xff\xfe"}`)
	bad = append(bad[:len(bad)-10], 0xff, 0xfe, '"', '}')
	if err := c.ws.Write(ctx, websocket.MessageText, bad); err != nil {
		t.Fatal(err)
	}
	if got := c.closeStatus(); got != websocket.StatusInvalidFramePayloadData {
		t.Fatalf("close %d, want 1007", got)
	}
	other.send(map[string]any{"event": "ping", "ref": "still"})
	other.expect(EventPong, "still")
	other.close()
}

func TestTooBigFrameCloses1009(t *testing.T) {
	e := newEnv(t, nil, "p1")
	c := e.dial("p1", "ok.u.s")
	big := `{"event":"ping","payload":{"x":"` + strings.Repeat("a", 70<<10) + `"}}`
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	_ = c.ws.Write(ctx, websocket.MessageText, []byte(big))
	if got := c.closeStatus(); got != websocket.StatusMessageTooBig {
		t.Fatalf("close %d, want 1009", got)
	}
	// Just under the limit is fine.
	c2 := e.dial("p1", "ok.u.s")
	c2.sendRaw(`{"event":"ping","ref":"ok","payload":{"x":"` + strings.Repeat("a", 60<<10) + `"}}`)
	c2.expect(EventPong, "ok")
	c2.close()
}

func TestAbuseCloses1008(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.BadFrameLimit = 5; c.BadFrameWindow = time.Hour }, "p1")
	c := e.dial("p1", "ok.u.s")
	for i := 0; i < 6; i++ {
		c.sendRaw(`nonsense`)
	}
	if got := c.closeStatus(); got != websocket.StatusPolicyViolation {
		t.Fatalf("close %d, want 1008", got)
	}
	e.dial("p1", "ok.u.s").close()
}
