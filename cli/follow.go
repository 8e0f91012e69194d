package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// event is one server frame (the envelope of docs/websocket.md); the REST event log
// uses the same field names.
type event struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel,omitempty"`
	Seq     int64           `json:"seq,omitempty"`
	TS      time.Time       `json:"ts"`
	Payload json.RawMessage `json:"payload"`
	Ref     string          `json:"ref,omitempty"`
}

// subscribed is the payload of the reply to subscribe.
type subscribed struct {
	Snapshot  json.RawMessage `json:"snapshot"`
	Recovered bool            `json:"recovered"`
	LastSeq   int64           `json:"lastSeq"`
}

// handler receives what a follower sees: every durable event of the run
// in seq order, and the run's snapshot whenever history could not be
// replayed (recovered false).
type handler interface {
	event(ev event)
	snapshot(run *runInfo)
	// notice tells the user about the connection ("reconnecting…").
	notice(msg string)
}

// follower follows one run over the project's WebSocket until the run
// ends, reconnecting (with since, so nothing is lost or repeated) when the
// connection drops or the server restarts.
type follower struct {
	t         target
	projectID string
	runID     string
	h         handler
	// since is the last seq seen; 0 replays the run from its start.
	since int64
	// status is the run's status as last seen.
	status string
}

// errPermanent marks failures that reconnecting cannot fix.
type errPermanent struct{ error }

func (e errPermanent) Unwrap() error { return e.error }

// run follows until the run is terminal (nil), ctx ends (ctx.Err()) or
// the connection cannot be re-established.
func (f *follower) run(ctx context.Context) error {
	a := f.t.api()
	fails := 0
	lost := false
	for {
		done, err := f.session(ctx, a, func() {
			if lost {
				f.h.notice("reconnected to " + f.t.describe())
				lost = false
			}
			fails = 0
		})
		if done {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var perm errPermanent
		if errors.As(err, &perm) {
			return perm.error
		}
		fails++
		if fails > 30 {
			return fmt.Errorf("follow run %s: %w", f.runID, err)
		}
		if !lost {
			f.h.notice(fmt.Sprintf("connection to %s lost (%v); reconnecting…", f.t.describe(), err))
			lost = true
		}
		if a, err = f.t.reconnect(ctx); err != nil {
			return err
		}
	}
}

// session is one connection: subscribe with since, handle events until
// the run ends (done) or the connection fails. onLive runs once the
// subscription is confirmed.
func (f *follower) session(ctx context.Context, a *api, onLive func()) (done bool, err error) {
	c, err := dialProject(ctx, a, f.projectID)
	if err != nil {
		return false, err
	}
	defer c.CloseNow()
	c.SetReadLimit(32 << 20)
	sub := map[string]any{"event": "subscribe", "channel": "run:" + f.runID, "payload": map[string]any{"since": f.since}, "ref": "follow"}
	b, _ := json.Marshal(sub)
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		return false, err
	}
	frames := newFrameReader(c)
	for {
		data, err := frames.next(ctx)
		if err != nil {
			switch websocket.CloseStatus(err) {
			case 4004:
				return false, errPermanent{errors.New("the project was deleted")}
			}
			return false, err
		}
		var ev event
		if err := json.Unmarshal(data, &ev); err != nil {
			continue
		}
		switch ev.Event {
		case "welcome", "pong", "ack":
			continue
		case "error":
			if ev.Ref != "follow" {
				continue
			}
			var e struct{ Code, Message string }
			_ = json.Unmarshal(ev.Payload, &e)
			if e.Code == "forbidden" || e.Code == "not_found" {
				return false, errPermanent{fmt.Errorf("run %s: %s", f.runID, e.Message)}
			}
			return false, fmt.Errorf("subscribe: %s: %s", e.Code, e.Message)
		case "subscribed":
			var s subscribed
			if err := json.Unmarshal(ev.Payload, &s); err != nil {
				return false, fmt.Errorf("subscribe reply: %w", err)
			}
			onLive()
			if !s.Recovered {
				var r runInfo
				if json.Unmarshal(s.Snapshot, &r) == nil && r.ID != "" {
					f.status = r.Status
					f.h.snapshot(&r)
					f.since = max(f.since, s.LastSeq)
					if terminal(r.Status) {
						_ = c.Close(websocket.StatusNormalClosure, "")
						return true, nil
					}
				}
			}
			continue
		}
		if ev.Seq == 0 || ev.Seq <= f.since {
			continue // transient, or already seen before a reconnect
		}
		f.since = ev.Seq
		f.h.event(ev)
		if st := endStatus(ev, f.runID); st != "" {
			f.status = st
			_ = c.Close(websocket.StatusNormalClosure, "")
			return true, nil
		}
	}
}

// dialProject opens the project's socket with a bearer token, offering the
// batched framing (read it with newFrameReader).
func dialProject(ctx context.Context, a *api, projectID string) (*websocket.Conn, error) {
	tok, err := a.token()
	if err != nil {
		return nil, err
	}
	u := "ws" + strings.TrimPrefix(a.base, "http") + "/ws?projectId=" + url.QueryEscape(projectID)
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(dctx, u, &websocket.DialOptions{
		HTTPHeader:   http.Header{"Authorization": {"Bearer " + tok}},
		Subprotocols: []string{subprotocolBatch, subprotocol},
	})
	if err != nil {
		if res != nil && res.StatusCode == http.StatusNotFound {
			return nil, errPermanent{fmt.Errorf("project %s is not known to %s", projectID, a.base)}
		}
		return nil, err
	}
	return c, nil
}

// payloadRunID is the runId of an event's payload: a run's channel only
// carries that run's events, but its end must be its own, not a child's.
// endStatus is the status that ev ends run runID with: "succeeded",
// "failed" or "canceled" for its run.completed, run.failed or
// run.canceled, "" for any other event.
func endStatus(ev event, runID string) string {
	st, ok := strings.CutPrefix(ev.Event, "run.")
	if !ok || payloadRunID(ev) != runID {
		return ""
	}
	return map[string]string{"completed": "succeeded", "failed": "failed", "canceled": "canceled"}[st]
}

func payloadRunID(ev event) string {
	var p struct {
		RunID string `json:"runId"`
	}
	_ = json.Unmarshal(ev.Payload, &p)
	return p.RunID
}
