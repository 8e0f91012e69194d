package cli

import (
	"bytes"
	"context"

	"github.com/coder/websocket"
	"github.com/flowweaver/flowweaver/backend/hub"
)

// The project socket's subprotocols, as the hub names them. The CLI
// offers the batched framing first; a server that does not know it selects
// flowweaver.v1, so reading Subprotocol() after the dial tells which
// framing the messages use.
const (
	subprotocol      = hub.Subprotocol
	subprotocolBatch = hub.SubprotocolBatch
)

// frameReader reads a project socket's server frames one at a time,
// whichever framing the server selected. With flowweaver.v1.batch a
// message holds one or more frames, one per line, each exactly the frame a
// flowweaver.v1 client gets as its own message, in the same order; a frame
// never holds a raw newline (JSON escapes them), so splitting at newlines
// gives the frames. The follower then handles each as it handled a message.
type frameReader struct {
	c       *websocket.Conn
	batch   bool
	pending [][]byte
	// messages counts the messages read (several frames may share one).
	messages int
}

func newFrameReader(c *websocket.Conn) *frameReader {
	return &frameReader{c: c, batch: c.Subprotocol() == subprotocolBatch}
}

// next returns the next frame's text. It may be empty or malformed (a
// trailing empty line, a broken server): the caller skips those exactly as
// it skips a malformed message.
func (r *frameReader) next(ctx context.Context) ([]byte, error) {
	for len(r.pending) == 0 {
		_, data, err := r.c.Read(ctx)
		if err != nil {
			return nil, err
		}
		r.messages++
		if !r.batch {
			return data, nil
		}
		r.pending = bytes.Split(data, []byte{'\n'})
	}
	f := r.pending[0]
	r.pending = r.pending[1:]
	return f, nil
}
