package hub

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// batchConn sits between coder/websocket and the TCP connection so the
// writer goroutine can put many messages on the wire with one syscall.
//
// Data frames do not go through coder/websocket at all: coder/websocket's
// Write takes two locks (each a select on the context), resets its message
// writer and flushes its bufio.Writer for every message, which was a third
// of the writer's CPU under fan-out. writeFrames encodes a whole batch of
// text frames (server frames are unmasked, and compression is never
// negotiated) into one buffer and writes it with one syscall. Each frame is
// still one WebSocket message holding one JSON object.
//
// coder/websocket still writes every control frame (pong, ping, close) and
// the handshake goes through net/http. Those writes arrive here whole (one
// control frame is at most 129 bytes and coder/websocket flushes after
// each one through a 256-byte bufio.Writer), under the same mutex as a
// batch, so bytes never interleave. Once a close frame went out (the
// reader answering the peer's close, a 1009 for a too big frame)
// writeFrames refuses to write more data, as coder/websocket would.
type batchConn struct {
	net.Conn
	timeout time.Duration // bounds every socket write (SlowConsumerTimeout)

	// evictBy (unix nanoseconds, 0 = not evicted) caps the deadline of
	// every write once the connection is evicted, including a write that
	// is blocked on a full socket buffer right now.
	evictBy atomic.Int64

	// lines is set when the client chose SubprotocolBatch: queued frames
	// are then joined into messages of newline-separated objects
	// (appendLines). Set before the writer starts, never changed.
	lines bool

	// raw is the socket's descriptor for the flusher's non-blocking writes
	// (flush.go); nil where the platform or the connection has none, and
	// then every data frame goes through the writer goroutine.
	raw syscall.RawConn

	mu        sync.Mutex
	closeSent bool      // a close frame was written: no data frame may follow
	deadline  time.Time // the write deadline writeDirect set last
}

// batchPool recycles batch buffers so an idle connection holds none.
var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// errCloseSent is writeFrames' answer once the close frame is on the wire.
var errCloseSent = errors.New("websocket close frame already sent")

// Write is coder/websocket's path to the socket (control frames).
func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(p) > 0 && p[0]&0x0f == opClose {
		b.closeSent = true
	}
	return b.writeDirect(p)
}

// writeDirect writes p with the write deadline at most timeout away. Setting
// a deadline resets a runtime timer (3 % of serve's CPU under fan-out when
// done for every batch), so a deadline set less than timeout/8 ago is kept:
// every write may block between 7/8 of timeout and timeout, never longer.
// Called with mu held.
func (b *batchConn) writeDirect(p []byte) (int, error) {
	now := time.Now()
	if b.evictBy.Load() != 0 || b.deadline.Sub(now) < b.timeout-b.timeout/8 {
		d := now.Add(b.timeout)
		if err := b.Conn.SetWriteDeadline(d); err != nil {
			return 0, err
		}
		b.deadline = d
		// Checked after setting ours: either we see evict's deadline here, or
		// evict's SetWriteDeadline comes after ours and wins. Once evicted,
		// every write takes this path.
		if e := b.evictBy.Load(); e != 0 && e < d.UnixNano() {
			_ = b.Conn.SetWriteDeadline(time.Unix(0, e))
		}
	}
	return b.Conn.Write(p)
}

// evict makes every write end by t: the one blocked now (it takes no lock,
// because a blocked writer holds mu) and every later one. A write that
// cannot finish by then fails, and the writer drops the connection.
func (b *batchConn) evict(t time.Time) {
	b.evictBy.Store(t.UnixNano())
	_ = b.Conn.SetWriteDeadline(t)
}

// WebSocket opcodes (RFC 6455 section 5.2) this file needs.
const (
	opText  = 0x1
	opClose = 0x8
)

// writeFrames writes every payload as one unfragmented text message, all
// of them with one socket write.
func (b *batchConn) writeFrames(frames [][]byte) error {
	size := 0
	for _, f := range frames {
		size += len(f) + 10
	}
	bp := batchPool.Get().(*[]byte)
	buf := (*bp)[:0]
	if cap(buf) < size && size > 1<<20 {
		buf = make([]byte, 0, size) // a rare huge batch: not kept in the pool
	}
	buf = b.appendFrames(buf, frames)
	b.mu.Lock()
	var err error
	if b.closeSent {
		err = errCloseSent
	} else {
		_, err = b.writeDirect(buf)
	}
	b.mu.Unlock()
	if cap(buf) <= 1<<20 {
		*bp = buf[:0]
		batchPool.Put(bp)
	}
	return err
}

// appendFrames encodes frames as this connection's messages: one text
// message each, or newline-joined ones for SubprotocolBatch.
func (b *batchConn) appendFrames(buf []byte, frames [][]byte) []byte {
	if b.lines {
		return appendLines(buf, frames)
	}
	for _, f := range frames {
		buf = appendFrameHeader(buf, opText, len(f))
		buf = append(buf, f...)
	}
	return buf
}

// tryLockData takes mu for a non-blocking data write if nobody holds it
// and data may still be written (no close frame sent, not evicted). On
// true the caller writes with writeNonBlocking and unlocks mu, or hands
// mu to the writer goroutine together with the unwritten rest.
func (b *batchConn) tryLockData() bool {
	if b.raw == nil || !b.mu.TryLock() {
		return false
	}
	if b.closeSent || b.evictBy.Load() != 0 {
		b.mu.Unlock()
		return false
	}
	return true
}

// finishPartial writes the rest of a non-blocking write that did not
// complete, with the usual deadline, and unlocks mu, which the flusher left
// locked so nothing else could be written in between.
func (b *batchConn) finishPartial(rest []byte) error {
	defer b.mu.Unlock()
	_, err := b.writeDirect(rest)
	return err
}

// maxLinesMessage bounds the payload of one message of joined frames, so a
// burst or a replay page does not become one huge message: it stays under
// common client read limits (coder/websocket's default is 32 KiB). A frame
// bigger than this on its own still goes out, alone in its message.
const maxLinesMessage = 16 << 10

// appendLines encodes frames as text messages of one or more frames each,
// separated by a newline, each message at most maxLinesMessage bytes unless
// a single frame is bigger. Most of a subscriber's cost per delivery is per
// WebSocket message (a read, a frame header, a wake-up), so a client that
// reads a whole group commit as one message does far less work.
//
// A frame never contains a raw newline here: JSON escapes it inside strings,
// and one between tokens (a payload written by hand with line breaks) is
// removed by compacting that frame, so splitting a message at newlines
// always gives whole objects.
func appendLines(dst []byte, frames [][]byte) []byte {
	for i := 0; i < len(frames); {
		size, j := 0, i
		for ; j < len(frames); j++ {
			frames[j] = withoutNewlines(frames[j])
			next := size + len(frames[j])
			if j > i {
				next++ // the separator
			}
			if j > i && next > maxLinesMessage {
				break
			}
			size = next
		}
		dst = appendFrameHeader(dst, opText, size)
		for k := i; k < j; k++ {
			if k > i {
				dst = append(dst, '\n')
			}
			dst = append(dst, frames[k]...)
		}
		i = j
	}
	return dst
}

// withoutNewlines returns f compacted when it holds a newline (only
// possible as whitespace between JSON tokens); frames are valid JSON, so
// compacting keeps their meaning.
func withoutNewlines(f []byte) []byte {
	if bytes.IndexByte(f, '\n') < 0 {
		return f
	}
	var out bytes.Buffer
	if err := json.Compact(&out, f); err != nil {
		return bytes.ReplaceAll(f, []byte{'\n'}, []byte{' '}) // not reached: our frames are valid JSON
	}
	return out.Bytes()
}

// appendFrameHeader appends the header of a final, unmasked frame without
// extensions (RFC 6455 section 5.2).
func appendFrameHeader(dst []byte, opcode byte, n int) []byte {
	dst = append(dst, 0x80|opcode)
	u := uint64(n) //nolint:gosec // n is a slice length, never negative
	switch {
	case u <= 125:
		return append(dst, byte(u))
	case u <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, 126), uint16(u))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 127), u)
	}
}

// hijackWriter wraps the handshake's ResponseWriter so that the connection
// coder/websocket hijacks is our batchConn, with a small bufio.Writer in
// front of it (coder/websocket only writes control frames through it and
// flushes after each, so a big one would only cost memory per idle
// connection).
// readBufSize is the per-connection read buffer.
const readBufSize = 1024

type hijackWriter struct {
	http.ResponseWriter
	timeout time.Duration
	bc      *batchConn
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Writer.Buffered() > 0 {
		if err := brw.Writer.Flush(); err != nil {
			_ = c.Close()
			return nil, nil, fmt.Errorf("flush handshake: %w", err)
		}
	}
	w.bc = &batchConn{Conn: c, timeout: w.timeout}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil && nonBlockingWrites {
			w.bc.raw = raw
		}
	}
	// net/http's 4 KiB reader is swapped for a 1 KiB one (client frames are
	// small and rare); bytes the client already sent move along with it.
	br := brw.Reader
	if n := br.Buffered(); n <= readBufSize {
		pending, _ := br.Peek(n)
		small := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(pending)), w.bc), readBufSize)
		if n > 0 {
			if _, err := small.Peek(n); err != nil {
				_ = c.Close()
				return nil, nil, fmt.Errorf("carry buffered bytes: %w", err)
			}
		}
		br = small
	}
	return w.bc, bufio.NewReadWriter(br, bufio.NewWriterSize(w.bc, 256)), nil
}

func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
