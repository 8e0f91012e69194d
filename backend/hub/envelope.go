package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// maxRefLen bounds the client's ref; it is echoed back, so an unbounded
// one would let a client make the server write more than it read.
const maxRefLen = 256

// envelope is one decoded client frame (docs/websocket.md, Frames).
type envelope struct {
	Event   string
	Channel string
	Payload json.RawMessage // nil, or a JSON object
	Ref     string
}

// decodeEnvelope parses one client text frame. On error the returned
// envelope still carries the ref when it could be read, so the error event
// can echo it.
func decodeEnvelope(data []byte) (envelope, *flow.Error) {
	var env envelope
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return env, flow.Errorf(flow.EINVALID, "a frame must be one JSON object")
	}
	var raw struct {
		Event   json.RawMessage `json:"event"`
		Channel json.RawMessage `json:"channel"`
		Payload json.RawMessage `json:"payload"`
		Ref     json.RawMessage `json:"ref"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return env, flow.Errorf(flow.EINVALID, "malformed JSON")
	}
	ref, ok := rawString(raw.Ref)
	if !ok {
		return env, flow.Errorf(flow.EINVALID, "ref must be a string")
	}
	if len(ref) > maxRefLen {
		return env, flow.Errorf(flow.EINVALID, "ref is longer than %d bytes", maxRefLen)
	}
	env.Ref = ref
	ev, ok := rawString(raw.Event)
	if !ok || ev == "" {
		return env, flow.Errorf(flow.EINVALID, "event must be a non-empty string")
	}
	env.Event = ev
	ch, ok := rawString(raw.Channel)
	if !ok {
		return env, flow.Errorf(flow.EINVALID, "channel must be a string")
	}
	env.Channel = ch
	if !isNull(raw.Payload) {
		if raw.Payload[0] != '{' {
			return env, flow.Errorf(flow.EINVALID, "payload must be an object or null")
		}
		env.Payload = raw.Payload
	}
	return env, nil
}

func isNull(r json.RawMessage) bool { return len(r) == 0 || string(r) == "null" }

// rawString reads an optional JSON string: absent or null give "", true.
func rawString(r json.RawMessage) (string, bool) {
	if isNull(r) {
		return "", true
	}
	if r[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(r, &s); err != nil {
		return "", false
	}
	return s, true
}

// decodePayload unmarshals an optional payload object into v; a wrong
// field type is a bad_request naming the problem.
func decodePayload(p json.RawMessage, v any) *flow.Error {
	if p == nil {
		return nil
	}
	if err := json.Unmarshal(p, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return flow.Errorf(flow.EINVALID, "payload field %q has the wrong type", te.Field)
		}
		return flow.Errorf(flow.EINVALID, "payload has the wrong shape")
	}
	return nil
}

// tsLayout is RFC 3339 with milliseconds, the precision of the event log.
const tsLayout = "2006-01-02T15:04:05.000Z07:00"

// appendFrame encodes one server frame. Fields are written by hand because
// Publish encodes every event once per channel on the hot path, and
// json.Marshal of a RawMessage would re-validate the payload each time.
// payload must be valid JSON (it comes from our own code or the event log).
func appendFrame(dst []byte, event, channel, projectID string, seq int64, ts time.Time, ref string, payload []byte) []byte {
	dst = append(dst, `{"event":`...)
	dst = appendString(dst, event)
	if channel != "" {
		dst = append(dst, `,"channel":`...)
		dst = appendString(dst, channel)
	}
	dst = append(dst, `,"projectId":`...)
	dst = appendString(dst, projectID)
	if seq > 0 {
		dst = append(dst, `,"seq":`...)
		dst = strconv.AppendInt(dst, seq, 10)
	}
	if !ts.IsZero() {
		dst = append(dst, `,"ts":"`...)
		dst = ts.UTC().AppendFormat(dst, tsLayout)
		dst = append(dst, '"')
	}
	if ref != "" {
		dst = append(dst, `,"ref":`...)
		dst = appendString(dst, ref)
	}
	dst = append(dst, `,"payload":`...)
	if len(payload) == 0 {
		dst = append(dst, "{}"...)
	} else {
		dst = append(dst, payload...)
	}
	return append(dst, '}')
}

// encodeEvent encodes ev as it is delivered on channel.
func encodeEvent(ev *flow.Event, channel string) []byte {
	buf := make([]byte, 0, 96+len(ev.Type)+len(channel)+len(ev.ProjectID)+len(ev.Payload))
	return appendFrame(buf, ev.Type, channel, ev.ProjectID, ev.Seq, ev.TS, "", ev.Payload)
}

// encodeReply encodes a direct reply; payload is marshalled with encoding/json.
func encodeReply(event, channel, projectID, ref string, payload any) []byte {
	var p []byte
	if payload != nil {
		var err error
		if p, err = json.Marshal(payload); err != nil {
			p = []byte(`{"code":"internal","message":"internal error"}`)
		}
	}
	return appendFrame(nil, event, channel, projectID, 0, time.Time{}, ref, p)
}

// appendString appends s as a JSON string. Plain ASCII (the common case:
// event names, ids, channels) is copied as is; anything else goes through
// encoding/json for correct escaping.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
