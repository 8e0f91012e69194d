package hub

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

func FuzzDecodeEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"event":"subscribe","channel":"run:r42","payload":{"since":120},"ref":"7"}`,
		`{"event":"ping"}`, `{}`, `null`, `[]`, `{"event":5}`, `{"event":"x","payload":[1]}`,
		`{"event":"x","ref":null,"channel":null,"payload":null}`, "{\"event\":\"\xff\"}", ` {"event":"a"} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := decodeEnvelope(data)
		if err != nil {
			if err.Code != flow.EINVALID || err.Message == "" {
				t.Fatalf("error %+v", err)
			}
			if len(env.Ref) > maxRefLen {
				t.Fatalf("ref of %d bytes kept", len(env.Ref))
			}
			return
		}
		if env.Event == "" || len(env.Ref) > maxRefLen {
			t.Fatalf("accepted %+v", env)
		}
		if env.Payload != nil && (env.Payload[0] != '{' || !json.Valid(env.Payload)) {
			t.Fatalf("payload %q", env.Payload)
		}
		// Whatever was accepted can be echoed in a valid frame.
		out := appendFrame(nil, env.Event, env.Channel, "p", 1, time.Unix(0, 0), env.Ref, env.Payload)
		if !json.Valid(out) {
			t.Fatalf("invalid frame %q", out)
		}
	})
}

func TestAppendFrame(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	got := string(appendFrame(nil, "run.started", "run:r1", "p1", 42, ts, "", []byte(`{"runId":"r1"}`)))
	want := `{"event":"run.started","channel":"run:r1","projectId":"p1","seq":42,"ts":"2026-01-02T03:04:05.006Z","payload":{"runId":"r1"}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	got = string(appendFrame(nil, "pong", "", "p\"<1>", 0, time.Time{}, "r\n", nil))
	var v map[string]any
	if err := json.Unmarshal([]byte(got), &v); err != nil || v["projectId"] != "p\"<1>" || v["ref"] != "r\n" {
		t.Fatalf("escaping: %s (%v)", got, err)
	}
}
