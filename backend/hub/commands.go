package hub

import (
	"context"
	"encoding/json"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Client -> server events (docs/websocket.md, Commands).
const (
	CmdSubscribe      = "subscribe"
	CmdUnsubscribe    = "unsubscribe"
	CmdPing           = "ping"
	CmdToolsList      = "tools.list"
	CmdRunStart       = "run.start"
	CmdRunCancel      = "run.cancel"
	CmdWorkflowUpdate = "workflow.update"
	CmdAuthRefresh    = "auth.refresh"
)

// Server -> client events that are not domain events.
const (
	EventWelcome      = "welcome"
	EventError        = "error"
	EventSubscribed   = "subscribed"
	EventUnsubscribed = "unsubscribed"
	EventPong         = "pong"
	EventAck          = "ack"
	EventToolsList    = "tools.list"
	EventSystemStats  = "system.stats"
)

// maxIDLen bounds run and workflow ids in channel names before they reach
// the backend.
const maxIDLen = 128

// handle serves one client frame. Replies carry the frame's ref.
func (c *conn) handle(data []byte) {
	env, derr := decodeEnvelope(data)
	if derr != nil {
		c.reject(env, derr)
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.h.cfg.CommandTimeout)
	defer cancel()
	switch env.Event {
	case CmdSubscribe:
		c.subscribe(ctx, env)
	case CmdUnsubscribe:
		c.unsubscribe(env)
	case CmdPing:
		c.reply(EventPong, env, map[string]string{"serverTime": c.h.cfg.Now().UTC().Format(time.RFC3339Nano)})
	case CmdAuthRefresh:
		c.authRefresh(env)
	case CmdPresenceSet:
		c.presenceSet(env)
	case CmdToolsList, CmdRunStart, CmdRunCancel, CmdWorkflowUpdate:
		if c.h.cfg.Commands == nil {
			c.fail(env, flow.Errorf(flow.EUNAVAILABLE, "%s is not available on this server", env.Event))
			return
		}
		c.command(ctx, env)
	default:
		c.reject(env, flow.Errorf(flow.EUNKNOWNEVENT, "unknown event %q", env.Event))
	}
}

// reply queues a direct reply on env's channel with env's ref.
func (c *conn) reply(event string, env envelope, payload any) {
	c.send(encodeReply(event, env.Channel, c.projectID, env.Ref, payload))
}

// fail answers a well-formed command that did not succeed (not counted as
// abuse). Internal errors are logged here and reach the client as
// "internal error".
func (c *conn) fail(env envelope, err error) {
	c.h.internal(env.Event, err)
	c.send(c.errorFrame(env, err))
}

func (c *conn) command(ctx context.Context, env envelope) {
	cmds := c.h.cfg.Commands
	switch env.Event {
	case CmdToolsList:
		// A catalog (tools plus each MCP server's status, e.g. "untrusted")
		// is the richer answer when the backend has one.
		if cat, ok := cmds.(interface {
			Catalog(ctx context.Context, projectID string) (any, error)
		}); ok {
			body, err := cat.Catalog(ctx, c.projectID)
			if err != nil {
				c.fail(env, err)
				return
			}
			c.reply(EventToolsList, env, body)
			return
		}
		tools, err := cmds.ListTools(ctx, c.projectID)
		if err != nil {
			c.fail(env, err)
			return
		}
		if tools == nil {
			tools = []flow.Tool{}
		}
		c.reply(EventToolsList, env, map[string]any{"tools": tools})
	case CmdRunStart:
		var p struct {
			WorkflowID string         `json:"workflowId"`
			Inputs     map[string]any `json:"inputs"`
		}
		if err := decodePayload(env.Payload, &p); err != nil {
			c.reject(env, err)
			return
		}
		if p.WorkflowID == "" {
			c.reject(env, flow.Errorf(flow.EINVALID, "payload.workflowId is required"))
			return
		}
		run, err := cmds.StartRun(ctx, c.projectID, p.WorkflowID, p.Inputs)
		if err != nil {
			c.fail(env, err)
			return
		}
		c.reply(flow.EventRunQueued, env, map[string]string{"runId": run.ID})
	case CmdRunCancel:
		var p struct {
			RunID string `json:"runId"`
		}
		if err := decodePayload(env.Payload, &p); err != nil {
			c.reject(env, err)
			return
		}
		if p.RunID == "" {
			c.reject(env, flow.Errorf(flow.EINVALID, "payload.runId is required"))
			return
		}
		if err := cmds.CancelRun(ctx, c.projectID, p.RunID); err != nil {
			c.fail(env, err)
			return
		}
		c.reply(EventAck, env, struct{}{})
	case CmdWorkflowUpdate:
		var p struct {
			WorkflowID  string          `json:"workflowId"`
			BaseVersion *int64          `json:"baseVersion"`
			Workflow    json.RawMessage `json:"workflow"`
		}
		if err := decodePayload(env.Payload, &p); err != nil {
			c.reject(env, err)
			return
		}
		switch {
		case p.WorkflowID == "":
			c.reject(env, flow.Errorf(flow.EINVALID, "payload.workflowId is required"))
			return
		case p.BaseVersion == nil:
			c.reject(env, flow.Errorf(flow.EINVALID, "payload.baseVersion is required"))
			return
		case len(p.Workflow) == 0 || p.Workflow[0] != '{':
			c.reject(env, flow.Errorf(flow.EINVALID, "payload.workflow must be an object"))
			return
		}
		v, err := cmds.SaveWorkflow(ctx, c.projectID, p.WorkflowID, p.Workflow, *p.BaseVersion, c.id)
		if err != nil {
			c.fail(env, err)
			return
		}
		ack := map[string]any{"version": v}
		// Params that do not fit their tools' schemas ride along (the save stands).
		if pc, ok := cmds.(interface {
			ParamProblems(json.RawMessage) []flow.Problem
		}); ok {
			if probs := pc.ParamProblems(p.Workflow); len(probs) > 0 {
				ack["problems"] = probs
			}
		}
		c.reply(EventAck, env, ack)
	}
}

func (c *conn) authRefresh(env envelope) {
	var p struct {
		Token string `json:"token"`
	}
	if err := decodePayload(env.Payload, &p); err != nil {
		c.reject(env, err)
		return
	}
	if p.Token == "" {
		c.reject(env, flow.Errorf(flow.EINVALID, "payload.token is required"))
		return
	}
	pr, err := c.h.cfg.Verifier.Verify(p.Token)
	if err != nil {
		code := flow.ErrorCode(err)
		if code != flow.ETOKENEXPIRED {
			code = flow.EUNAUTHORIZED
		}
		c.fail(env, &flow.Error{Code: code, Message: flow.ErrorMessage(err)})
		return
	}
	if sessionKey(pr) != c.session {
		c.fail(env, flow.Errorf(flow.EFORBIDDEN, "the new token belongs to another session"))
		return
	}
	c.armExpiry(pr.ExpiresAt)
	c.reply(EventAck, env, struct{}{})
}

// forbidden is the one answer for an unknown channel, another project's
// channel and a run or workflow that does not exist here, so the answer
// tells nothing about other projects.
func forbidden(channel string) *flow.Error {
	return flow.Errorf(flow.EFORBIDDEN, "channel %q is not available on this connection", channel)
}

// channelInfo authorizes channel for this connection and says whether it
// has an event log to replay from.
func (c *conn) channelInfo(channel string) (hasLog bool, err *flow.Error) {
	kind, id := flow.SplitChannel(channel)
	switch kind {
	case flow.ChannelProject, flow.ChannelTools:
		if id == c.projectID {
			return true, nil
		}
	case flow.ChannelRun, flow.ChannelWorkflow:
		if id != "" && len(id) <= maxIDLen && c.h.cfg.Commands != nil {
			return true, nil // existence is checked by the snapshot
		}
	case flow.ChannelSystem:
		if channel == flow.ChannelSystem {
			return false, nil
		}
	case ChannelPresence:
		if id == c.projectID {
			return false, nil
		}
	}
	return false, forbidden(channel)
}

func (c *conn) snapshot(ctx context.Context, channel string) (any, error) {
	if channel == flow.ChannelSystem {
		return c.h.systemPayload(), nil
	}
	if kind, _ := flow.SplitChannel(channel); kind == ChannelPresence {
		return presencePayload(c.h.Presence(c.projectID)), nil
	}
	if c.h.cfg.Commands == nil {
		return nil, nil
	}
	snap, err := c.h.cfg.Commands.Snapshot(ctx, c.projectID, channel)
	if flow.ErrorCode(err) == flow.ENOTFOUND || flow.ErrorCode(err) == flow.EFORBIDDEN {
		return nil, forbidden(channel)
	}
	return snap, err
}

// subscribe joins a channel: the subscription is indexed (buffering) before
// the log is read, so an event committed at any moment is either in the
// replay or in the buffer, and goLive drops the ones in both.
func (c *conn) subscribe(ctx context.Context, env envelope) {
	var p struct {
		Since *int64 `json:"since"`
	}
	if err := decodePayload(env.Payload, &p); err != nil {
		c.reject(env, err)
		return
	}
	if p.Since != nil && *p.Since < 0 {
		c.reject(env, flow.Errorf(flow.EINVALID, "payload.since must not be negative"))
		return
	}
	if env.Channel == "" {
		c.reject(env, flow.Errorf(flow.EINVALID, "channel is required"))
		return
	}
	hasLog, ferr := c.channelInfo(env.Channel)
	if ferr != nil {
		c.reject(env, ferr)
		return
	}
	if old := c.subs[env.Channel]; old != nil {
		c.drop(old) // a second subscribe restarts the channel
	}
	if len(c.subs) >= c.h.cfg.MaxSubscriptions {
		c.fail(env, flow.Errorf(flow.ETOOMANY, "a connection may join at most %d channels", c.h.cfg.MaxSubscriptions))
		return
	}
	s := &subscription{c: c, channel: env.Channel, buffering: hasLog}
	c.subs[env.Channel] = s
	c.h.addSub(s)

	var oldest, last int64
	if hasLog {
		var err error
		if oldest, last, err = c.h.cfg.Log.SeqRange(ctx, c.projectID); err != nil {
			c.drop(s)
			c.fail(env, err)
			return
		}
	}
	snap, err := c.snapshot(ctx, env.Channel)
	if err != nil {
		c.drop(s)
		if fe, ok := err.(*flow.Error); ok && fe.Code == flow.EFORBIDDEN {
			c.reject(env, fe)
		} else {
			c.fail(env, err)
		}
		return
	}
	recovered, from := true, last
	if hasLog && p.Since != nil {
		since := *p.Since
		from = since
		switch {
		case since > last: // a history this server never wrote (e.g. a reset data dir)
			recovered, from = false, max(oldest-1, 0)
		case oldest == 0 && since < last: // everything up to last was pruned
			recovered, from = false, last
		case oldest > 0 && since < oldest-1:
			recovered, from = false, oldest-1
		}
	}
	c.reply(EventSubscribed, env, map[string]any{"snapshot": snap, "recovered": recovered, "lastSeq": last})
	if !hasLog {
		if kind, _ := flow.SplitChannel(env.Channel); kind == ChannelPresence {
			c.sendPresence(env.Channel)
		}
		return
	}
	replayed := from
	if p.Since != nil {
		if replayed, err = c.replay(ctx, env.Channel, from); err != nil {
			c.drop(s)
			if err != errConnClosing {
				c.fail(env, err)
			}
			return
		}
	}
	c.goLive(s, replayed)
}

// replay sends every logged event of channel with seq > from, page by page,
// and returns the last seq sent.
func (c *conn) replay(ctx context.Context, channel string, from int64) (int64, error) {
	for {
		evs, err := c.h.cfg.Log.EventsAfter(ctx, c.projectID, channel, from, c.h.cfg.ReplayPage)
		if err != nil {
			return from, err
		}
		for i := range evs {
			// Live routing (flow.Event.Channels) is the authority; the log's
			// channel filter may be broader (e.g. a notification stored
			// with a run id), and replay must not differ from live.
			if evs[i].OnChannel(channel) {
				if err := c.sendWait(encodeEvent(&evs[i], channel)); err != nil {
					return from, err
				}
			}
			from = evs[i].Seq
		}
		if len(evs) < c.h.cfg.ReplayPage {
			return from, nil
		}
	}
}

func (c *conn) unsubscribe(env envelope) {
	if env.Channel == "" {
		c.reject(env, flow.Errorf(flow.EINVALID, "channel is required"))
		return
	}
	if s := c.subs[env.Channel]; s != nil {
		c.drop(s)
	}
	c.reply(EventUnsubscribed, env, struct{}{})
}

// drop ends a subscription: out of the index first, then marked removed so
// a Publish that picked it up earlier delivers nothing more.
func (c *conn) drop(s *subscription) {
	c.h.removeSub(s)
	c.mu.Lock()
	s.removed = true
	s.buf = nil
	c.mu.Unlock()
	delete(c.subs, s.channel)
}
