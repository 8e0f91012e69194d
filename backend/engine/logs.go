package engine

import (
	"sync"

	"github.com/flowweaver/flowweaver/backend/secrets"
)

// logLine is one line a tool wrote.
type logLine struct {
	node   string
	stream string
	text   string
}

// logBuffer collects tools.Call.Log lines of one run until they are
// written as node.log events. Lines are taken in order by one writer at a
// time. When
// the buffer holds maxLines, Log waits for a flush: a tool printing a
// million lines slows to the speed of the database instead of filling
// memory. Lines are only taken inside a write transaction, so the
// database's single writer orders every take with its commit and events
// keep the order the lines were logged in.
type logBuffer struct {
	mu       sync.Mutex
	space    *sync.Cond
	lines    []logLine
	bytes    int
	maxLines int
	batch    int
	maxLine  int
	mask     *secrets.Masker // applied to every line before it is buffered
	kick     chan struct{}   // a batch is full
	closed   bool            // nothing is flushed any more; Log drops lines
}

func newLogBuffer(batch, maxLines, maxLine int, mask *secrets.Masker) *logBuffer {
	b := &logBuffer{batch: batch, maxLines: maxLines, maxLine: maxLine, mask: mask, kick: make(chan struct{}, 1)}
	b.space = sync.NewCond(&b.mu)
	return b
}

// Log appends one line; safe for concurrent use.
func (b *logBuffer) Log(node, stream, line string) {
	if stream != "stderr" {
		stream = "stdout"
	}
	// Masking happens here, once per whole line and before the line is
	// cut or batched: tools hand over complete lines, so a value that was
	// written in pieces is whole again, and a value straddling the cut is
	// masked, not half kept.
	line = b.mask.Cut(line, b.maxLine, "…")
	b.mu.Lock()
	for len(b.lines) >= b.maxLines && !b.closed {
		b.space.Wait()
	}
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.lines = append(b.lines, logLine{node, stream, line})
	b.bytes += len(line)
	full := len(b.lines) >= b.batch
	b.mu.Unlock()
	if full {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

// take removes and returns every buffered line.
func (b *logBuffer) take() []logLine {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.lines
	b.lines, b.bytes = nil, 0
	b.space.Broadcast()
	return out
}

// close makes Log drop lines and wakes every waiting logger.
func (b *logBuffer) close() {
	b.mu.Lock()
	b.closed = true
	b.lines = nil
	b.space.Broadcast()
	b.mu.Unlock()
}

// logBatch is the payload of one node.log event.
type logBatch struct {
	RunID  string   `json:"runId"`
	NodeID string   `json:"nodeId"`
	Stream string   `json:"stream"`
	Lines  []string `json:"lines"`
}

// batches groups lines into events: per node and stream, in the order
// the lines were logged, at most max lines or maxBytes per event. Lines of
// one stream keep their order; stdout and stderr of one flush become
// separate events, so interleaved output costs two events, not one per
// switch.
func batches(runID string, lines []logLine, max, maxBytes int) []logBatch {
	type key struct{ node, stream string }
	var out []logBatch
	open := map[key]int{} // index in out of the batch being filled
	sizes := map[key]int{}
	for _, l := range lines {
		k := key{l.node, l.stream}
		i, ok := open[k]
		if !ok || len(out[i].Lines) >= max || sizes[k]+len(l.text) > maxBytes {
			out = append(out, logBatch{RunID: runID, NodeID: l.node, Stream: l.stream})
			i = len(out) - 1
			open[k] = i
			sizes[k] = 0
		}
		out[i].Lines = append(out[i].Lines, l.text)
		sizes[k] += len(l.text) + 4
	}
	return out
}
