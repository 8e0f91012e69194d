package hub

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// batchConn sits between coder/websocket and the TCP connection so the
// writer goroutine can put many messages on the wire with one syscall.
// coder/websocket flushes its bufio.Writer after every message; while the
// writer holds a batch, those flushes land in buf, and flush writes buf
// once. Outside a batch (pongs, pings, close frames written by other
// goroutines) writes go straight through, under the same mutex so bytes
// never interleave.
type batchConn struct {
	net.Conn
	timeout time.Duration // bounds every socket write (SlowConsumerTimeout)

	// evictBy (unix nanoseconds, 0 = not evicted) caps the deadline of
	// every write once the connection is evicted, including a write that
	// is blocked on a full socket buffer right now.
	evictBy atomic.Int64

	mu   sync.Mutex
	hold bool
	buf  []byte
}

// batchPool recycles batch buffers so an idle connection holds none.
var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.hold {
		b.buf = append(b.buf, p...)
		return len(p), nil
	}
	return b.writeDirect(p)
}

func (b *batchConn) writeDirect(p []byte) (int, error) {
	d := time.Now().Add(b.timeout)
	if err := b.Conn.SetWriteDeadline(d); err != nil {
		return 0, err
	}
	// Checked after setting ours: either we see evict's deadline here, or
	// evict's SetWriteDeadline comes after ours and wins.
	if e := b.evictBy.Load(); e != 0 && e < d.UnixNano() {
		_ = b.Conn.SetWriteDeadline(time.Unix(0, e))
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

// begin starts collecting writes.
func (b *batchConn) begin() {
	b.mu.Lock()
	b.hold = true
	if b.buf == nil {
		b.buf = (*batchPool.Get().(*[]byte))[:0]
	}
	b.mu.Unlock()
}

// flush ends the batch and writes what it collected in one call.
func (b *batchConn) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hold = false
	buf := b.buf
	b.buf = nil
	if buf == nil {
		return nil
	}
	var err error
	if len(buf) > 0 {
		_, err = b.writeDirect(buf)
	}
	if cap(buf) <= 1<<20 {
		buf = buf[:0]
		batchPool.Put(&buf)
	}
	return err
}

// hijackWriter wraps the handshake's ResponseWriter so that the connection
// coder/websocket hijacks is our batchConn, with a small bufio.Writer in
// front of it (every flush goes to batchConn anyway, so a big one would only
// cost memory per idle connection).
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
