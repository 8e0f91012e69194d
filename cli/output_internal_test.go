package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestShortError(t *testing.T) {
	for in, want := range map[string]string{
		"shell: command exited with code 3":               "exit 3",
		"node test: shell: command exited with code 127":  "exit 127",
		"http: GET https://x: 503 Service Unavailable\nx": "http: GET https://x: 503 Service Unavailable",
		"": "failed",
	} {
		if got := shortError(in); got != want {
			t.Errorf("shortError(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		12 * time.Millisecond:   "12ms",
		400 * time.Millisecond:  "0.4s",
		1200 * time.Millisecond: "1.2s",
		65 * time.Second:        "1m05s",
		62 * time.Minute:        "1h02m",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestNodeColorStable(t *testing.T) {
	if a, b := nodeColor("build"), nodeColor(strings.Clone("build")); a != b {
		t.Fatal("colour not stable")
	}
	seen := map[string]bool{}
	for _, id := range []string{"build", "test", "lint", "deploy", "package", "docs"} {
		seen[nodeColor(id)] = true
	}
	if len(seen) < 3 {
		t.Fatalf("six nodes share %d colours", len(seen))
	}
}

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	j := fs.Bool("json", false, "")
	var in stringList
	fs.Var(&in, "input", "")
	pos, err := parseInterspersed(fs, []string{"build", "--json", "--input", "a=1", "--", "--not-a-flag"})
	if err != nil || !*j || len(in) != 1 || strings.Join(pos, " ") != "build --not-a-flag" {
		t.Fatalf("pos %q json %v inputs %q err %v", pos, *j, in, err)
	}
}

// TestPrinterLines: the printer's output for a run's events, without a
// terminal: no colour, stdout and stderr lines on their streams, one
// ending per node even if an event is seen twice.
func TestPrinterLines(t *testing.T) {
	var out, errw bytes.Buffer
	p := newPrinter(&Env{Stdout: &out, Stderr: &errw, Getenv: func(string) string { return "" }}, outputOptions{})
	ev := func(typ string, payload map[string]any) event {
		b, _ := json.Marshal(payload)
		return event{Event: typ, Payload: b, TS: time.Now()}
	}
	p.event(ev("node.started", map[string]any{"nodeId": "build"}))
	p.event(ev("node.log", map[string]any{"nodeId": "build", "stream": "stdout", "lines": []string{"a", "b"}}))
	p.event(ev("node.log", map[string]any{"nodeId": "build", "stream": "stderr", "lines": []string{"warn"}}))
	p.event(ev("node.completed", map[string]any{"nodeId": "build", "durationMs": 1200}))
	p.event(ev("node.completed", map[string]any{"nodeId": "build", "durationMs": 1200}))
	p.event(ev("node.failed", map[string]any{"nodeId": "test", "error": "shell: command exited with code 3"}))
	if got := out.String(); got != "build | a\nbuild | b\n" {
		t.Errorf("stdout %q", got)
	}
	if got := errw.String(); got != "build | warn\n✓ build 1.2s\n✗ test exit 3\n" {
		t.Errorf("stderr %q", got)
	}
}

// syncWriter is a goroutine-safe buffer for the spinner test.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
func (w *syncWriter) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

// TestSpinnerStartStop: the spinner draws while nodes are long-running,
// erases its line on stop and leaves no goroutine behind.
func TestSpinnerStartStop(t *testing.T) {
	defer goleak.VerifyNone(t)
	w := &syncWriter{}
	s := newSpinner(w, false, func() []string { return []string{"build 2.0s"} })
	s.start()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(w.String(), "build 2.0s") {
		if time.Now().After(deadline) {
			t.Fatal("spinner never drew")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.stop()
	s.stop() // idempotent
	if !strings.HasSuffix(w.String(), "\r\x1b[K") {
		t.Fatalf("spinner line not erased: %q", w.String())
	}
}
