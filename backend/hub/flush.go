package hub

import (
	"bytes"
	"runtime"
	"sync"
	"sync/atomic"
)

// flusher puts the frames of committed events on the wire from a few
// goroutines per hub, so a group commit does not wake one writer goroutine
// per subscriber.
//
// Under fan-out every commit woke the writer of each of its subscribers
// (100 goroutines for 100 subscribers); they queued on the run queue, the
// last one ran a millisecond or more after the commit, and each wake-up and
// switch cost CPU of its own. Publish now only queues the frames and hands
// the connections to the flusher, in subscription order; the flusher's
// workers take them a few at a time and write each connection's queue with
// one non-blocking write. Whatever does not fit in the socket buffer right
// away (a slow reader), and every connection whose writer is busy, is left
// to that connection's own writer goroutine, which writes with the usual
// deadline and eviction. The flusher never blocks on a socket, so one slow
// reader cannot hold it up. There is one worker per P (at most
// maxFlushWorkers): a worker whose thread the OS preempts in the middle of
// a commit's connections leaves the rest to the others instead of holding
// them all up.
//
// The flusher runs while the hub has connections: register starts it with
// the first one, unregister stops it with the last (Shutdown closes them
// all, so it waits for it through Hub.wg).
type flusher struct {
	mu    sync.Mutex
	conns []*conn // connections Publish queued frames on, in that order, from head
	head  int
	wake  chan struct{} // cap 1: conns is not empty
	stop  chan struct{} // closes the running workers; guarded by Hub.mu

	// written counts queues the flusher wrote whole, handedOff the ones
	// it left to a writer goroutine after writing part (tests read them).
	written, handedOff atomic.Int64
}

// maxFlushWorkers bounds the flusher's goroutines; flushChunk is how many
// connections a worker takes at a time.
const (
	maxFlushWorkers = 4
	flushChunk      = 8
)

// maxFlushBytes bounds what the flusher encodes for one connection; a
// bigger queue (a replay, a burst a reader is behind on) is its writer's.
const maxFlushBytes = 64 << 10

// add hands connections with newly queued frames to the flusher.
func (f *flusher) add(conns []*conn) {
	if len(conns) == 0 {
		return
	}
	f.mu.Lock()
	f.conns = append(f.conns, conns...)
	f.mu.Unlock()
	signal(f.wake)
}

// startFlusherLocked starts the hub's flusher if it is not running.
// Called with h.mu held.
func (h *Hub) startFlusherLocked() {
	if h.flush.stop != nil || h.closed {
		return
	}
	h.flush.stop = make(chan struct{})
	n := min(runtime.GOMAXPROCS(0), maxFlushWorkers)
	h.wg.Add(n)
	for range n {
		go h.flushLoop(h.flush.stop)
	}
}

// stopFlusherLocked stops the flusher (the hub has no connection left).
// Called with h.mu held.
func (h *Hub) stopFlusherLocked() {
	if h.flush.stop == nil {
		return
	}
	close(h.flush.stop)
	h.flush.stop = nil
}

// take removes up to len(dst) connections from the front of the list and
// reports how many, and whether more are left.
func (f *flusher) take(dst []*conn) (n int, more bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n = copy(dst, f.conns[f.head:])
	clear(f.conns[f.head : f.head+n])
	f.head += n
	if f.head == len(f.conns) {
		f.conns, f.head = f.conns[:0], 0
		if cap(f.conns) > 1<<12 {
			f.conns = nil // a burst's list: do not keep it
		}
		return n, false
	}
	return n, true
}

// flushLoop is one of the flusher's workers; it runs until stop.
func (h *Hub) flushLoop(stop chan struct{}) {
	defer h.wg.Done()
	f := &h.flush
	var buf []byte
	var chunk [flushChunk]*conn
	for {
		select {
		case <-stop:
			f.mu.Lock()
			clear(f.conns) // only closed connections can be left
			f.conns, f.head = f.conns[:0], 0
			f.mu.Unlock()
			return
		case <-f.wake:
		}
		// Let what is runnable (requests, the next commit) go first: under
		// load the queues fill meanwhile and each connection's frames go
		// out in fewer writes, as they did when every writer waited its
		// turn on the run queue (writing at once cost a third more writes).
		runtime.Gosched()
		for {
			n, more := f.take(chunk[:])
			if n == 0 {
				break
			}
			if more {
				signal(f.wake) // an idle worker takes the next chunk
			}
			for _, c := range chunk[:n] {
				buf = c.flushNow(buf)
			}
			clear(chunk[:n])
			if cap(buf) > maxFlushBytes*2 {
				buf = nil // a big batch once: do not keep its buffer
			}
		}
	}
}

// flushNow writes c's queue from the flusher goroutine with one
// non-blocking socket write, or leaves it to c's writer goroutine: when
// the writer is writing, the connection is closing, a previous write is
// unfinished, the queue is large, or the socket is not writable at once.
// It returns buf for reuse.
//
// Frames never interleave: c.writing marks that the writer or the flusher
// has taken frames off the queue, and the other one leaves the queue alone
// until it is cleared. A partial write keeps batchConn.mu locked and hands
// the rest to the writer, which writes it first and unlocks, so no control
// frame (a ping, a pong, a close) can land inside a data frame.
func (c *conn) flushNow(buf []byte) []byte {
	c.mu.Lock()
	c.flushPending = false
	if c.closing || c.writing || c.rest != nil || len(c.queue) == 0 || queuedBytes(c.queue) > maxFlushBytes || !c.bc.tryLockData() {
		pending := len(c.queue) > 0 && !c.closing
		c.mu.Unlock()
		if pending {
			signal(c.notify)
		}
		return buf
	}
	buf = c.bc.appendFrames(buf[:0], c.queue)
	clear(c.queue)
	c.queue = c.queue[:0]
	c.writing = true
	c.mu.Unlock()
	signal(c.space)

	n := c.bc.writeNonBlocking(buf)
	f := &c.h.flush
	if n < len(buf) {
		f.handedOff.Add(1)
	} else {
		f.written.Add(1)
	}

	c.mu.Lock()
	c.writing = false
	wake := c.writerWaiting
	c.writerWaiting = false
	if n < len(buf) {
		// batchConn.mu stays locked: the writer writes the rest and unlocks.
		c.rest = bytes.Clone(buf[n:])
		wake = true
	} else {
		c.bc.mu.Unlock()
	}
	c.mu.Unlock()
	if wake {
		signal(c.notify)
	}
	return buf
}

func queuedBytes(q [][]byte) int {
	n := 0
	for _, f := range q {
		n += len(f)
	}
	return n
}
