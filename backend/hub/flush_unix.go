//go:build unix

package hub

import (
	"syscall"
	"time"
)

// nonBlockingWrites says whether writeNonBlocking can write to a socket
// here (it needs the descriptor's write(2)).
const nonBlockingWrites = true

// writeNonBlocking writes as much of p as the socket takes right now,
// without waiting for it to become writable, and returns how much that
// was. Go's sockets are non-blocking, so write(2) answers EAGAIN instead of
// blocking; any error ends the attempt, and the caller leaves the rest to
// the writer goroutine, whose ordinary write then meets the same error and
// closes the connection as before. Called with mu held (tryLockData).
func (b *batchConn) writeNonBlocking(p []byte) int {
	// The writer sets a deadline for its blocking writes and keeps it for a
	// while (writeDirect). One that has passed would fail this write too,
	// and every later one: a write that cannot block needs no deadline, so
	// it is cleared, and the writer sets a fresh one before its next write.
	if !b.deadline.IsZero() && !time.Now().Before(b.deadline) {
		if err := b.Conn.SetWriteDeadline(time.Time{}); err != nil {
			return 0
		}
		b.deadline = time.Time{}
	}
	n := 0
	_ = b.raw.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, err := syscall.Write(int(fd), p[n:])
			if err == syscall.EINTR {
				continue
			}
			if err != nil || m <= 0 {
				break
			}
			n += m
		}
		return true // one attempt: never wait for the socket
	})
	return n
}
