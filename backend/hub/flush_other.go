//go:build !unix

package hub

// nonBlockingWrites is false where writeNonBlocking has no write(2): every
// data frame then goes through the connection's writer goroutine.
const nonBlockingWrites = false

func (b *batchConn) writeNonBlocking(p []byte) int { return 0 }
