package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// progressSink routes the progress notifications of one call to its node
// log. The SDK answers a call as soon as the response is read, while the
// notifications read just before it are still queued for the handler
// goroutine; so the transports count progress notifications as they read
// them ("read") and the call waits until the handler has logged as many
// ("handled") before returning. Without this the last lines of a fast
// tool would often be lost.
type progressSink struct {
	log func(stream, line string)

	mu      sync.Mutex
	read    int
	handled int
	wake    chan struct{} // closed and replaced when handled grows
}

func (src *Source) newProgress(log func(stream, line string)) (string, *progressSink) {
	token := "fw-" + strconv.FormatUint(src.tokens.Add(1), 10)
	sink := &progressSink{log: log, wake: make(chan struct{})}
	src.progress.Store(token, sink)
	return token, sink
}

func (src *Source) sink(token any) *progressSink {
	v, ok := src.progress.Load(fmt.Sprint(token))
	if !ok {
		return nil
	}
	return v.(*progressSink)
}

// onProgress logs one notification: "progress 2/5: message".
func (src *Source) onProgress(p *sdk.ProgressNotificationParams) {
	if p == nil {
		return
	}
	sink := src.sink(p.ProgressToken)
	if sink == nil {
		return
	}
	line := "progress " + strconv.FormatFloat(p.Progress, 'f', -1, 64)
	if p.Total > 0 {
		line += "/" + strconv.FormatFloat(p.Total, 'f', -1, 64)
	}
	if p.Message != "" {
		line += ": " + p.Message
	}
	sink.log("stdout", line)
	sink.mu.Lock()
	sink.handled++
	close(sink.wake)
	sink.wake = make(chan struct{})
	sink.mu.Unlock()
}

// tap counts a progress notification seen on the wire. line is one JSON
// message, or one SSE line ("data: {...}").
func (src *Source) tap(line []byte) {
	if !bytes.Contains(line, []byte(`notifications/progress`)) {
		return
	}
	line = bytes.TrimSpace(line)
	line = bytes.TrimSpace(bytes.TrimPrefix(line, []byte("data:")))
	var msg struct {
		Method string `json:"method"`
		Params struct {
			Token any `json:"progressToken"`
		} `json:"params"`
	}
	if json.Unmarshal(line, &msg) != nil || msg.Method != "notifications/progress" {
		return
	}
	if sink := src.sink(msg.Params.Token); sink != nil {
		sink.mu.Lock()
		sink.read++
		sink.mu.Unlock()
	}
}

// settle waits until every progress notification read for this call has
// been logged, at most max.
func (s *progressSink) settle(ctx context.Context, max time.Duration) {
	t := time.NewTimer(max)
	defer t.Stop()
	for {
		s.mu.Lock()
		done, wake := s.handled >= s.read, s.wake
		s.mu.Unlock()
		if done {
			return
		}
		select {
		case <-wake:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// lineTap passes a byte stream through unchanged and calls f with every
// complete line (used on HTTP response bodies).
type lineTap struct {
	io.ReadCloser
	f    func([]byte)
	part []byte
}

func (l *lineTap) Read(p []byte) (int, error) {
	n, err := l.ReadCloser.Read(p)
	data := p[:n]
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if len(l.part) < maxLine {
				l.part = append(l.part, data...)
			}
			break
		}
		if len(l.part) > 0 {
			l.f(append(l.part, data[:i]...))
			l.part = l.part[:0]
		} else {
			l.f(data[:i])
		}
		data = data[i+1:]
	}
	if err != nil && len(l.part) > 0 {
		l.f(l.part)
		l.part = nil
	}
	return n, err
}
