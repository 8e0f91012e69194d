package hub

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// countingWatcher records Watch/Unwatch per project and can refuse.
type countingWatcher struct {
	h *Hub

	mu       sync.Mutex
	watching map[string]int
	connsAt  []int // the project's registered connections when Watch ran
	fail     error
}

func (w *countingWatcher) Watch(_ context.Context, projectID string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return w.fail
	}
	_, per := w.h.Connections()
	w.connsAt = append(w.connsAt, per[projectID])
	w.watching[projectID]++
	return nil
}

func (w *countingWatcher) Unwatch(projectID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.watching[projectID]--
}

func (w *countingWatcher) count(projectID string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.watching[projectID]
}

func TestWatcherSeesEverySocketBeforeItRegisters(t *testing.T) {
	w := &countingWatcher{watching: map[string]int{}}
	e := newEnv(t, func(c *Config) { c.Watcher = w }, "p1", "p2")
	w.h = e.hub
	a := e.dial("p1", "ok.u.s1")
	b := e.dial("p1", "ok.u.s2")
	c := e.dial("p2", "ok.u.s3")
	if w.count("p1") != 2 || w.count("p2") != 1 {
		t.Fatalf("watching p1=%d p2=%d, want 2 and 1", w.count("p1"), w.count("p2"))
	}
	w.mu.Lock()
	if w.connsAt[0] != 0 {
		t.Errorf("the first Watch of p1 ran with %d connections registered, want 0", w.connsAt[0])
	}
	w.mu.Unlock()
	a.close()
	b.close()
	c.close()
	waitFor(t, "every Unwatch", func() bool { return w.count("p1") == 0 && w.count("p2") == 0 })
}

func TestWatchErrorRefusesTheHandshakeAndFreesTheSlot(t *testing.T) {
	w := &countingWatcher{watching: map[string]int{}, fail: errors.New("database down")}
	e := newEnv(t, func(c *Config) { c.Watcher = w; c.MaxConnsPerSession = 1 }, "p1")
	w.h = e.hub
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/ws?projectId=p1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer ok.u.s")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	body.Write(buf[:n])
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body.String(), "unavailable") {
		t.Fatalf("status %d body %s, want 503 unavailable", resp.StatusCode, body.String())
	}
	w.mu.Lock()
	w.fail = nil
	w.mu.Unlock()
	// The refused attempt gave its session slot back: the one allowed
	// connection of this session still opens.
	e.dial("p1", "ok.u.s").close()
	waitFor(t, "the Unwatch", func() bool { return w.count("p1") == 0 })
}
