// Package hub is Flow Weaver's realtime endpoint: one authenticated
// WebSocket per project tab (docs/websocket.md). It routes durable
// and transient events to the connections of their project by channel,
// replays missed durable events from the event log with no gap and no
// duplicate, and never lets a slow reader hold up a publisher.
//
// Shape: the Hub keeps projectId -> connections and, per project, channel ->
// subscriptions (copy-on-write slices, so Publish only takes a read lock to
// pick them up). Each connection owns a bounded outbound queue and exactly
// two goroutines: the HTTP handler goroutine reads and serves commands, a
// writer goroutine drains the queue in batches and sends heartbeats.
package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/flowweaver/flowweaver/backend/flow"
)

// Close codes of docs/websocket.md beyond the RFC 6455 ones.
const (
	CloseTokenExpired   websocket.StatusCode = 4001
	CloseProjectDeleted websocket.StatusCode = 4004
	CloseSlowConsumer   websocket.StatusCode = 4008
	CloseTooManyConns   websocket.StatusCode = 4029
)

// Subprotocol is the WebSocket subprotocol the hub selects.
const Subprotocol = "flowweaver.v1"

// SubprotocolBatch is Subprotocol with batched messages (an extension a
// client opts into by offering it): a text message holds one or more
// frames, each one JSON object, separated by a newline. Everything else is
// Subprotocol's. It is selected when offered, even next to Subprotocol.
const SubprotocolBatch = "flowweaver.v1.batch"

// Hub is the WebSocket endpoint. Mount it with mux.Handle("/ws", hub).
type Hub struct {
	cfg Config

	mu       sync.RWMutex
	closed   bool
	projects map[string]*project // projects with at least one connection
	sessions map[string]int      // connections per login session
	total    int
	sysSubs  int           // subscriptions to the system channel
	sysStop  chan struct{} // closes the system ticker; nil when it is not running

	wg        sync.WaitGroup // connections, the system ticker and the flusher
	evictions atomic.Int64   // connections closed with 4008
	flush     flusher        // writes committed events' frames (flush.go)
	rotate    atomic.Uint64  // where publish starts in a subscriber list
}

// project is what the hub holds for a project while it has connections.
type project struct {
	conns    map[*conn]struct{}
	channels map[string][]*subscription // copy-on-write: replaced, never mutated
}

// New builds a Hub. It starts no goroutine; connections and the system
// ticker start on demand and Shutdown waits for all of them.
func New(cfg Config) (*Hub, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Hub{cfg: cfg, projects: map[string]*project{}, sessions: map[string]int{}, flush: flusher{wake: make(chan struct{}, 1)}}, nil
}

// Publish delivers durable events to the live subscribers of their
// channels. The store calls it from its OnCommit hook, in commit order and
// under its write lock, so it must not block: each event is encoded once per
// channel, the subscriber list is a snapshot taken under a read lock, and
// delivery only appends to in-memory queues (a full queue closes that one
// connection with 4008).
//
// The events of one call (one group commit) are queued on every
// connection before anything is written, so each connection gets the whole
// commit with one socket write, and the connections are handed to the
// flusher (flush.go) in subscription order: one goroutine woken per commit
// instead of one per subscriber. With Config.WriteDelay the writers are
// woken instead, and wait for more frames themselves.
func (h *Hub) Publish(events []flow.Event) {
	if h.cfg.WriteDelay > 0 {
		for i := range events {
			h.publish(&events[i], nil)
		}
		return
	}
	var arr [64]*conn
	dirty := arr[:0]
	for i := range events {
		dirty = h.publish(&events[i], dirty)
	}
	h.flush.add(dirty)
}

// PublishTransient delivers a non-durable event (tools.status,
// tools.changed, ...). It has no seq and is never replayed.
func (h *Hub) PublishTransient(ev flow.Event) {
	ev.Seq = 0
	if ev.TS.IsZero() {
		ev.TS = h.cfg.Now()
	}
	h.publish(&ev, nil)
}

// publish queues ev on its channels' subscribers. With dirty non-nil the
// connections that must go to the flusher are appended to it and returned;
// with nil the writers are woken at once.
func (h *Hub) publish(ev *flow.Event, dirty []*conn) []*conn {
	h.mu.RLock()
	p := h.projects[ev.ProjectID]
	if p == nil {
		h.mu.RUnlock()
		return dirty
	}
	chans := ev.Channels()
	var subsArr [3][]*subscription
	subs := subsArr[:0]
	for _, ch := range chans {
		subs = append(subs, p.channels[ch])
	}
	h.mu.RUnlock()
	for i, ch := range chans {
		if len(subs[i]) == 0 {
			continue
		}
		data := encodeEvent(ev, ch)
		// Each event starts at the next subscriber, so no subscriber is
		// always written last (with one event per commit the last of a
		// hundred waited a millisecond more than the first, every time).
		list := subs[i]
		start := int(h.rotate.Add(1) % uint64(len(list))) //nolint:gosec // G115: below len(list), an int
		for _, part := range [2][]*subscription{list[start:], list[:start]} {
			for _, s := range part {
				if s.c.deliver(s, data, ev.Seq, dirty == nil) {
					dirty = append(dirty, s.c)
				}
			}
		}
	}
	return dirty
}

// CloseProject closes every connection of a deleted project with 4004.
func (h *Hub) CloseProject(projectID string) {
	for _, c := range h.conns(projectID) {
		c.shutdown(CloseProjectDeleted, "project deleted")
	}
}

// Connections reports the open connections in total and per project, for
// GET /api/connections and the system channel.
func (h *Hub) Connections() (total int, perProject map[string]int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	perProject = make(map[string]int, len(h.projects))
	for id, p := range h.projects {
		perProject[id] = len(p.conns)
	}
	return h.total, perProject
}

// Shutdown refuses new connections, closes every open one with 1001 and
// waits until all their goroutines have exited. If ctx ends first the
// remaining sockets are torn down without a close handshake. It is
// idempotent.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	all := h.conns("")
	for _, c := range all {
		c.shutdown(websocket.StatusGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range h.conns("") {
			c.kill()
		}
		<-done
		return fmt.Errorf("hub shutdown: %w", ctx.Err())
	}
}

// conns snapshots the connections of one project, or of all when "".
func (h *Hub) conns(projectID string) []*conn {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []*conn
	for id, p := range h.projects {
		if projectID != "" && id != projectID {
			continue
		}
		for c := range p.conns {
			out = append(out, c)
		}
	}
	return out
}

var errShuttingDown = flow.Errorf(flow.EUNAVAILABLE, "server is shutting down")

// reserve takes one connection slot of the session before the upgrade.
func (h *Hub) reserve(session string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errShuttingDown
	}
	if h.sessions[session] >= h.cfg.MaxConnsPerSession {
		return flow.Errorf(flow.ETOOMANY, "this session already holds %d connections", h.cfg.MaxConnsPerSession)
	}
	h.sessions[session]++
	h.wg.Add(1)
	return nil
}

// unreserve gives a slot back (failed upgrade or closed connection).
func (h *Hub) unreserve(session string) {
	h.mu.Lock()
	if h.sessions[session]--; h.sessions[session] <= 0 {
		delete(h.sessions, session)
	}
	h.mu.Unlock()
	h.wg.Done()
}

// register adds an upgraded connection to its project.
func (h *Hub) register(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.projects[c.projectID]
	if p == nil {
		p = &project{conns: map[*conn]struct{}{}, channels: map[string][]*subscription{}}
		h.projects[c.projectID] = p
	}
	p.conns[c] = struct{}{}
	h.total++
	h.startFlusherLocked()
	return !h.closed
}

// unregister removes a finished connection and its subscriptions; the last
// connection of a project takes the project's entry with it.
func (h *Hub) unregister(c *conn) {
	h.mu.Lock()
	p := h.projects[c.projectID]
	wasPresent := c.presence != nil
	if p != nil {
		for _, s := range c.subs {
			h.removeSubLocked(p, s)
		}
		delete(p.conns, c)
		h.total--
		if h.total == 0 {
			h.stopFlusherLocked()
		}
		if len(p.conns) == 0 {
			delete(h.projects, c.projectID)
		}
	}
	c.presence = nil
	h.mu.Unlock()
	c.subs = nil
	if wasPresent {
		h.broadcastPresence(c.projectID) // the window closed or its socket dropped
	}
}

// addSub indexes a subscription so Publish sees it from now on.
func (h *Hub) addSub(s *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.projects[s.c.projectID]
	old := p.channels[s.channel]
	next := make([]*subscription, len(old), len(old)+1)
	copy(next, old)
	p.channels[s.channel] = append(next, s)
	if s.channel == flow.ChannelSystem {
		h.sysSubs++
		if h.sysSubs == 1 && !h.closed {
			h.sysStop = make(chan struct{})
			h.wg.Add(1)
			go h.systemLoop(h.sysStop)
		}
	}
}

// removeSub takes a subscription out of the index.
func (h *Hub) removeSub(s *subscription) {
	h.mu.Lock()
	if p := h.projects[s.c.projectID]; p != nil {
		h.removeSubLocked(p, s)
	}
	h.mu.Unlock()
}

func (h *Hub) removeSubLocked(p *project, s *subscription) {
	old := p.channels[s.channel]
	next := make([]*subscription, 0, len(old))
	found := false
	for _, o := range old {
		if o == s {
			found = true
			continue
		}
		next = append(next, o)
	}
	if !found {
		return
	}
	if len(next) == 0 {
		delete(p.channels, s.channel)
	} else {
		p.channels[s.channel] = next
	}
	if s.channel == flow.ChannelSystem {
		h.sysSubs--
		if h.sysSubs == 0 && h.sysStop != nil {
			close(h.sysStop)
			h.sysStop = nil
		}
	}
}

// systemLoop publishes the monitoring frame while anyone is subscribed to
// the system channel; removeSubLocked stops it with the last subscriber.
func (h *Hub) systemLoop(stop chan struct{}) {
	defer h.wg.Done()
	t := time.NewTicker(h.cfg.SystemInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			h.publishSystem()
		}
	}
}

// systemPayload is the system channel's frame and snapshot.
func (h *Hub) systemPayload() map[string]any {
	total, per := h.Connections()
	out := map[string]any{"connections": total, "projects": per}
	if h.cfg.Stats != nil {
		out["queue"] = h.cfg.Stats()
	}
	return out
}

func (h *Hub) publishSystem() {
	payload := h.systemPayload()
	h.mu.RLock()
	type target struct {
		projectID string
		subs      []*subscription
	}
	var targets []target
	for id, p := range h.projects {
		if subs := p.channels[flow.ChannelSystem]; len(subs) > 0 {
			targets = append(targets, target{id, subs})
		}
	}
	h.mu.RUnlock()
	for _, t := range targets {
		data := encodeReply(EventSystemStats, flow.ChannelSystem, t.projectID, "", payload)
		for _, s := range t.subs {
			s.c.deliver(s, data, 0, true)
		}
	}
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// internal logs an internal error once, at the place that answers it.
func (h *Hub) internal(op string, err error) {
	var fe *flow.Error
	if err != nil && !errors.As(err, &fe) {
		h.cfg.Logger.Error("hub: "+op, "err", err)
	}
}
