package hub

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/flowweaver/flowweaver/backend/flow"
)

// conn is one WebSocket connection. Its handler goroutine (readLoop) reads
// frames and serves commands one at a time; its writer goroutine
// (writeLoop) owns every data write. Nothing else writes data frames.
type conn struct {
	h         *Hub
	id        string
	projectID string
	subject   string
	session   string // key of Hub.sessions
	local     bool   // the peer is on this machine (loopback)
	ws        *websocket.Conn
	bc        *batchConn

	ctx    context.Context // canceled when the connection starts closing
	cancel context.CancelFunc

	notify     chan struct{} // cap 1: queue not empty, closing, or a ping is due
	space      chan struct{} // cap 1: the writer took the queue
	done       chan struct{} // closed when the connection starts closing
	writerDone chan struct{}
	pingDue    atomic.Bool // set by the heartbeat timer, taken by the writer
	pinging    atomic.Bool
	pingWG     sync.WaitGroup

	mu    sync.Mutex // guards the fields below and subscription state
	queue [][]byte
	// writing: the writer goroutine or the hub's flusher took frames off
	// the queue and is writing them; the other one leaves the queue alone
	// (flush.go). writerWaiting: the writer woke meanwhile and must be
	// woken again. rest: the unwritten end of the flusher's non-blocking
	// write, which the writer writes first (batchConn.mu is held for it).
	// flushPending: the connection is on the flusher's list.
	writing       bool
	writerWaiting bool
	rest          []byte
	flushPending  bool
	closing       bool
	closeCode     websocket.StatusCode
	closeReason   string
	hardClose     bool // peer is unresponsive: skip the close handshake
	exp           time.Time
	expTimer      *time.Timer
	evictTimer    *time.Timer // cuts an evicted connection's socket after EvictGrace

	// Owned by the reader goroutine (and unregister once it has exited).
	subs     map[string]*subscription
	bad      int
	badStart time.Time

	spare [][]byte // owned by the writer goroutine

	presence *Editor // guarded by Hub.mu; nil until presence.set
}

// subscription is one joined channel of a connection. While buffering (the
// replay of a subscribe is running) live events are parked in buf; goLive
// moves the ones the replay did not cover to the queue.
type subscription struct {
	c       *conn
	channel string

	// guarded by c.mu
	buffering bool
	buf       []queued
	removed   bool
	// skipThrough is the last seq the subscribe reply or its replay covered.
	// The store publishes after commit, so an event can be in the log (and
	// replayed) before its Publish call arrives: such late live copies are
	// dropped here.
	skipThrough int64
}

type queued struct {
	seq  int64
	data []byte
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// deliver hands one encoded live event to a subscription. It never blocks.
// With wake the writer is woken at once. Without, it reports whether the
// connection must be handed to the hub's flusher: the frame was queued and
// the connection is not on the flusher's list yet.
func (c *conn) deliver(s *subscription, data []byte, seq int64, wake bool) (flush bool) {
	c.mu.Lock()
	if c.closing || s.removed || (seq != 0 && seq <= s.skipThrough) {
		c.mu.Unlock()
		return false
	}
	if s.buffering {
		if len(s.buf) >= 4*c.h.cfg.OutboundQueue {
			c.closeLocked(CloseSlowConsumer, "slow consumer")
		} else {
			s.buf = append(s.buf, queued{seq, data})
		}
		c.mu.Unlock()
		return false
	}
	ok := c.enqueueLocked(data)
	if ok && !wake && !c.flushPending {
		c.flushPending = true
		flush = true
	}
	c.mu.Unlock()
	if ok && wake {
		signal(c.notify)
	}
	return flush
}

// send queues a reply frame; like a live event it counts against the queue.
func (c *conn) send(data []byte) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	ok := c.enqueueLocked(data)
	c.mu.Unlock()
	if ok {
		signal(c.notify)
	}
}

// enqueueLocked appends a frame to the outbound queue, or closes a
// connection whose queue is full as a slow consumer (4008). It is called
// with c.mu held and reports whether the frame was queued (the caller then
// wakes the writer). Closing signals c.done, which wakes the writer too.
func (c *conn) enqueueLocked(data []byte) bool {
	if len(c.queue) >= c.h.cfg.OutboundQueue {
		c.closeLocked(CloseSlowConsumer, "slow consumer")
		return false
	}
	c.queue = append(c.queue, data)
	return true
}

var errConnClosing = errors.New("connection is closing")

// sendWait queues a replayed frame, waiting for room instead of evicting:
// replay volume is the client's own request, not a sign of slowness.
func (c *conn) sendWait(data []byte) error {
	for {
		c.mu.Lock()
		if c.closing {
			c.mu.Unlock()
			return errConnClosing
		}
		if len(c.queue) < c.h.cfg.OutboundQueue {
			c.queue = append(c.queue, data)
			c.mu.Unlock()
			signal(c.notify)
			return nil
		}
		c.mu.Unlock()
		select {
		case <-c.space:
		case <-c.done:
		}
	}
}

// goLive ends a subscription's buffering: buffered events the replay
// already sent (seq <= replayed) are dropped, the rest are queued in order.
func (c *conn) goLive(s *subscription, replayed int64) {
	c.mu.Lock()
	if !c.closing && !s.removed {
		for _, q := range s.buf {
			if q.seq != 0 && q.seq <= replayed {
				continue
			}
			c.queue = append(c.queue, q.data)
		}
	}
	s.buf = nil
	s.buffering = false
	s.skipThrough = replayed
	c.mu.Unlock()
	signal(c.notify)
}

// shutdown starts closing the connection with code; the writer sends the
// close frame after what is queued (a slow consumer's queue is dropped).
// Only the first call counts.
func (c *conn) shutdown(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	c.closeLocked(code, reason)
	c.mu.Unlock()
}

func (c *conn) closeLocked(code websocket.StatusCode, reason string) {
	if c.closing {
		return
	}
	c.closing = true
	c.closeCode = code
	c.closeReason = reason
	if code == CloseSlowConsumer {
		// The writer is most likely blocked on a full socket buffer. It
		// gets EvictGrace to finish that write and send the 4008 close
		// frame; then the socket is closed, which ends the reader, the
		// writer and the connection's slot whatever the peer does.
		c.queue = nil
		c.h.evictions.Add(1)
		c.bc.evict(c.h.cfg.Now().Add(c.h.cfg.EvictGrace))
		c.evictTimer = time.AfterFunc(c.h.cfg.EvictGrace, func() { _ = c.bc.Conn.Close() })
	}
	if c.expTimer != nil {
		c.expTimer.Stop()
	}
	c.cancel()
	close(c.done)
	signal(c.notify) // the writer waits on notify alone
}

// kill tears the socket down without a handshake (Shutdown past its
// deadline). Closing the raw connection unblocks every read and write.
func (c *conn) kill() {
	c.shutdown(websocket.StatusGoingAway, "server shutting down")
	_ = c.bc.Conn.Close()
}

// writeLoop drains the queue in batches and sends heartbeats. It is the
// only goroutine that writes data frames, and the one that sends the close
// frame.
//
// It waits on the notify channel alone: new frames, closing and the
// heartbeat timer all signal it. A select over notify, done and a ticker
// locked three channels and parked a timer for every wake-up (4-6 % of
// serve's CPU under fan-out).
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	every := c.h.cfg.HeartbeatInterval
	beat := time.AfterFunc(every, func() {
		c.pingDue.Store(true)
		signal(c.notify)
	})
	defer beat.Stop()
	for {
		<-c.notify
		if c.pingDue.CompareAndSwap(true, false) {
			c.ping()
			beat.Reset(every) // only the writer touches beat after AfterFunc
		}
		if d := c.h.cfg.WriteDelay; d > 0 {
			select {
			case <-time.After(d):
			case <-c.done:
			}
		}
		c.mu.Lock()
		if c.writing { // the flusher is writing; it wakes us when it is done
			c.writerWaiting = true
			c.mu.Unlock()
			continue
		}
		batch, rest := c.queue, c.rest
		c.queue, c.rest = c.spare[:0], nil
		c.spare = nil
		took := len(batch) > 0 || rest != nil
		c.writing = took
		closing, code, reason, hard := c.closing, c.closeCode, c.closeReason, c.hardClose
		c.mu.Unlock()
		signal(c.space)
		if took {
			if err := c.writeTaken(rest, batch); err != nil {
				c.shutdown(websocket.StatusAbnormalClosure, "write failed")
				_ = c.ws.CloseNow()
				return
			}
			clear(batch)
			if cap(batch) <= 256 {
				c.spare = batch[:0]
			}
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
		}
		if closing {
			if hard {
				_ = c.ws.CloseNow()
			} else {
				_ = c.ws.Close(code, reason)
			}
			return
		}
	}
}

// writeTaken writes what the writer took off the connection: the rest of
// a partial flusher write first (batchConn.mu is still held for it), then
// the frames as separate messages with one socket write
// (batchConn.writeFrames). The socket write deadline bounds both.
func (c *conn) writeTaken(rest []byte, batch [][]byte) error {
	if rest != nil {
		if err := c.bc.finishPartial(rest); err != nil {
			return err
		}
	}
	if len(batch) == 0 {
		return nil
	}
	return c.bc.writeFrames(batch)
}

// ping sends one heartbeat on a short-lived goroutine (Ping waits for the
// pong, which the reader goroutine receives). No pong within two periods
// closes the connection.
func (c *conn) ping() {
	if !c.pinging.CompareAndSwap(false, true) {
		return
	}
	c.pingWG.Add(1)
	go func() {
		defer c.pingWG.Done()
		defer c.pinging.Store(false)
		ctx, cancel := context.WithTimeout(c.ctx, 2*c.h.cfg.HeartbeatInterval)
		defer cancel()
		if err := c.ws.Ping(ctx); err != nil && c.ctx.Err() == nil {
			c.mu.Lock()
			c.hardClose = !c.closing
			c.closeLocked(websocket.StatusPolicyViolation, "no pong")
			c.mu.Unlock()
		}
	}()
}

// armExpiry closes the connection with 4001 when the token expires, unless
// auth.refresh moved c.exp in the meantime.
func (c *conn) armExpiry(exp time.Time) {
	if exp.IsZero() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.exp = exp
	d := exp.Sub(c.h.cfg.Now())
	if c.expTimer == nil {
		c.expTimer = time.AfterFunc(d, c.checkExpiry)
	} else if !c.closing {
		c.expTimer.Reset(d)
	}
}

func (c *conn) checkExpiry() {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	if d := c.exp.Sub(c.h.cfg.Now()); d > 0 {
		c.expTimer.Reset(d)
		c.mu.Unlock()
		return
	}
	c.closeLocked(CloseTokenExpired, "token expired")
	c.mu.Unlock()
}

// readLoop reads client frames until the connection ends. The read context
// is never canceled: coder/websocket would tear the socket down at once and
// the writer's close frame would be lost.
func (c *conn) readLoop() {
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			// The peer closed (coder/websocket has answered its close frame),
			// the read limit was hit (1009 already sent) or the socket died.
			c.shutdown(websocket.StatusNormalClosure, "")
			return
		}
		if typ == websocket.MessageBinary {
			c.shutdown(websocket.StatusUnsupportedData, "binary frames are not supported")
			return
		}
		if !utf8.Valid(data) {
			// RFC 6455 §8.1: a text frame that is not UTF-8 fails the
			// connection with 1007 (coder/websocket leaves the check to us).
			c.shutdown(websocket.StatusInvalidFramePayloadData, "text frame is not valid UTF-8")
			return
		}
		c.handle(data)
		if c.ctx.Err() != nil {
			return
		}
	}
}

// reject answers a bad frame with an error event and counts it; persistent
// abuse closes the connection with 1008.
func (c *conn) reject(env envelope, err *flow.Error) {
	c.send(c.errorFrame(env, err))
	now := c.h.cfg.Now()
	if now.Sub(c.badStart) > c.h.cfg.BadFrameWindow {
		c.badStart, c.bad = now, 0
	}
	c.bad++
	if c.bad > c.h.cfg.BadFrameLimit {
		c.shutdown(websocket.StatusPolicyViolation, "too many bad frames")
	}
}

// errorFrame encodes an error event for env (its channel and ref).
func (c *conn) errorFrame(env envelope, err error) []byte {
	return encodeReply(EventError, env.Channel, c.projectID, env.Ref, errorPayload(err))
}

// errorPayload is the payload of an error event: code and message, plus the
// structured details a client can act on (conflict: version and workflow;
// bad_request: problems).
func errorPayload(err error) map[string]any {
	p := map[string]any{"code": flow.ErrorCode(err), "message": flow.ErrorMessage(err)}
	var fe *flow.Error
	if errors.As(err, &fe) && fe.Details != nil {
		switch d := fe.Details.(type) {
		case flow.WorkflowConflict:
			p["version"], p["workflow"] = d.Version, d.Workflow
		case *flow.WorkflowConflict:
			p["version"], p["workflow"] = d.Version, d.Workflow
		case []flow.Problem:
			p["problems"] = d
		default:
			p["details"] = d
		}
	}
	return p
}
