package hub

import (
	"net"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Presence: which editors have a project (and which of its workflows) open,
// so two windows on one workflow know of each other. It is ephemeral on
// purpose: announced by each connection with presence.set, held in memory
// on the connection, gone when the connection closes or drops, never in the
// event log. Its channel presence:<projectId> carries the whole list on
// every change (a handful of entries), so a client never has to patch it.
const (
	CmdPresenceSet  = "presence.set"
	EventPresence   = "presence"
	ChannelPresence = "presence"
)

// Limits of a presence entry's text fields (runes).
const (
	maxPresenceName   = 64
	maxPresenceClient = 64
)

// Editor is one connection's presence entry.
type Editor struct {
	ConnectionID string `json:"connectionId"`
	// WorkflowID is the workflow on the connection's canvas; "" for none
	// or one that was never saved.
	WorkflowID string `json:"workflowId,omitempty"`
	// Name is what people read ("Ana", "Firefox, window 2"); chosen by the
	// client, never an id.
	Name string `json:"name"`
	// Client names the program ("Firefox", "Desktop app").
	Client string `json:"client,omitempty"`
	// Local is true when the connection comes from this machine (loopback).
	Local bool `json:"local"`
	// Since is when the connection opened WorkflowID.
	Since time.Time `json:"since"`
}

// isLoopback reports whether a request's remote address is this machine.
func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// presenceText checks one text field: trimmed, at most max runes, no
// control characters. Empty is allowed here; callers decide if it is.
func presenceText(field, s string, max int) (string, *flow.Error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		return "", flow.Errorf(flow.EINVALID, "payload.%s must be at most %d characters", field, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", flow.Errorf(flow.EINVALID, "payload.%s must not contain control characters", field)
		}
	}
	return s, nil
}

// presenceSet serves presence.set {"workflowId","name","client"}: the
// connection's entry is replaced and every subscriber of the project's
// presence channel gets the new list.
func (c *conn) presenceSet(env envelope) {
	var p struct {
		WorkflowID string `json:"workflowId"`
		Name       string `json:"name"`
		Client     string `json:"client"`
	}
	if err := decodePayload(env.Payload, &p); err != nil {
		c.reject(env, err)
		return
	}
	name, ferr := presenceText("name", p.Name, maxPresenceName)
	if ferr == nil && name == "" {
		ferr = flow.Errorf(flow.EINVALID, "payload.name is required")
	}
	if ferr != nil {
		c.reject(env, ferr)
		return
	}
	client, ferr := presenceText("client", p.Client, maxPresenceClient)
	if ferr != nil {
		c.reject(env, ferr)
		return
	}
	if len(p.WorkflowID) > maxIDLen {
		c.reject(env, flow.Errorf(flow.EINVALID, "payload.workflowId is too long"))
		return
	}
	c.h.setPresence(c, Editor{ConnectionID: c.id, WorkflowID: p.WorkflowID, Name: name, Client: client, Local: c.local})
	c.reply(EventAck, env, struct{}{})
	c.h.broadcastPresence(c.projectID)
}

// setPresence stores c's entry; Since moves only when the workflow changes.
func (h *Hub) setPresence(c *conn, e Editor) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if old := c.presence; old != nil && old.WorkflowID == e.WorkflowID {
		e.Since = old.Since
	} else {
		e.Since = h.cfg.Now().UTC()
	}
	c.presence = &e
}

// Presence lists the editors of a project, oldest first.
func (h *Hub) Presence(projectID string) []Editor {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.presenceLocked(projectID)
}

func (h *Hub) presenceLocked(projectID string) []Editor {
	out := []Editor{}
	p := h.projects[projectID]
	if p == nil {
		return out
	}
	for c := range p.conns {
		if c.presence != nil {
			out = append(out, *c.presence)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Since.Equal(out[j].Since) {
			return out[i].Since.Before(out[j].Since)
		}
		return out[i].ConnectionID < out[j].ConnectionID
	})
	return out
}

// presencePayload is the presence channel's snapshot and event payload.
func presencePayload(editors []Editor) map[string]any {
	return map[string]any{"editors": editors}
}

// broadcastPresence sends the project's current list to every subscriber
// of its presence channel. Like Publish it never blocks: it only appends
// to the connections' queues.
func (h *Hub) broadcastPresence(projectID string) {
	channel := ChannelPresence + ":" + projectID
	h.mu.RLock()
	var subs []*subscription
	var editors []Editor
	if p := h.projects[projectID]; p != nil {
		subs = p.channels[channel]
		editors = h.presenceLocked(projectID)
	}
	h.mu.RUnlock()
	if len(subs) == 0 {
		return
	}
	data := encodeReply(EventPresence, channel, projectID, "", presencePayload(editors))
	for _, s := range subs {
		s.c.deliver(s, data, 0, true)
	}
}

// sendPresence queues the current list to one new subscriber, after its
// `subscribed` reply, so a client that rejoins after a reconnect (and gets
// no snapshot callback) is up to date at once.
func (c *conn) sendPresence(channel string) {
	c.send(encodeReply(EventPresence, channel, c.projectID, "", presencePayload(c.h.Presence(c.projectID))))
}
