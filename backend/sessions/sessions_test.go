package sessions

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/auth"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	db     *store.DB
	auth   *auth.Authority
	reg    *Registry
	clock  *clock
	closed [][]string
}

func newFixture(t *testing.T, path string) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	f := &fixture{db: db, clock: &clock{t: time.Now().Truncate(time.Second)}}
	key := make([]byte, 32)
	if f.auth, err = auth.New(key, auth.Options{Now: f.clock.now}); err != nil {
		t.Fatal(err)
	}
	f.reg, err = New(ctx, Config{Auth: f.auth, DB: db, Now: f.clock.now,
		CloseSessions: func(ids []string) int { f.closed = append(f.closed, ids); return len(ids) }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// start issues a token and records it as a browser session.
func (f *fixture) start(t *testing.T, ua string) (sid, token string) {
	t.Helper()
	tok, _, err := f.auth.Issue(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if sid, err = f.auth.SessionOf(tok); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Started(context.Background(), sid, ua); err != nil {
		t.Fatal(err)
	}
	return sid, tok
}

func TestRevokeRefusesTokensClosesSocketsAndSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fw.db")
	f := newFixture(t, path)
	ctx := context.Background()
	a, aTok := f.start(t, "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15")
	b, bTok := f.start(t, "curl/8.5.0")
	list, err := f.reg.List(ctx, a)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if _, err := f.reg.Revoke(ctx, []string{b}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Verify(bTok); flow.ErrorCode(err) != flow.EUNAUTHORIZED {
		t.Fatalf("revoked token verifies: %v", err)
	}
	if _, _, err := f.auth.Refresh(bTok, time.Hour); err == nil {
		t.Fatal("revoked token refreshed")
	}
	if _, err := f.auth.Verify(aTok); err != nil {
		t.Fatalf("the other session: %v", err)
	}
	if len(f.closed) != 1 || f.closed[0][0] != b {
		t.Fatalf("sockets closed for %v", f.closed)
	}
	if _, err := f.reg.Revoke(ctx, []string{b}); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("second revoke: %v", err)
	}
	if list, _ := f.reg.List(ctx, a); len(list) != 1 || list[0].ID != a || !list[0].Current || list[0].Device != "Safari 17 on macOS" {
		t.Fatalf("after revoke: %+v", list)
	}

	// A second process on the same database (a restart) refuses b too.
	g := newFixture(t, path)
	if _, err := g.auth.Verify(bTok); flow.ErrorCode(err) != flow.EUNAUTHORIZED {
		t.Fatalf("after restart the revoked token verifies: %v", err)
	}
	// A revocation by the other process is picked up at the next Sync.
	if _, err := g.reg.RevokeOthers(ctx, "nobody"); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Verify(aTok); flow.ErrorCode(err) != flow.EUNAUTHORIZED {
		t.Fatalf("a revocation by another process was not picked up: %v", err)
	}
}

func TestLastSeenFollowsUseAndOldSessionsArePruned(t *testing.T) {
	f := newFixture(t, filepath.Join(t.TempDir(), "fw.db"))
	ctx := context.Background()
	sid, tok := f.start(t, "x")
	created := f.clock.now()
	f.clock.add(10 * time.Minute)
	if _, err := f.auth.Verify(tok); err != nil {
		t.Fatal(err)
	}
	list, err := f.reg.List(ctx, "")
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	if !list[0].CreatedAt.Equal(created) || !list[0].LastSeenAt.Equal(created.Add(10*time.Minute)) {
		t.Fatalf("created %v last seen %v, want %v and 10 min later", list[0].CreatedAt, list[0].LastSeenAt, created)
	}
	// Tokens of the CLI or the desktop are no browser session: not listed.
	other, _, _ := f.auth.Issue(time.Hour)
	if _, err := f.auth.Verify(other); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.reg.List(ctx, ""); len(list) != 1 || list[0].ID != sid {
		t.Fatalf("a CLI token got listed: %+v", list)
	}
	f.clock.add(Retention + time.Minute)
	if err := f.reg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.reg.List(ctx, ""); len(list) != 0 {
		t.Fatalf("a session unused for longer than its cookie lives is still listed: %+v", list)
	}
}

func TestDevice(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36":                                   "Chrome 131 on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0":           "Edge 131 on Windows",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0":                                                                  "Firefox 133 on Linux",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1": "Safari 17 on iOS",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36":                            "Chrome 131 on Android",
		"":          "Unknown device",
		"something": "Unknown browser",
	} {
		if got := Device(ua); got != want {
			t.Errorf("Device(%q) = %q, want %q", ua, got, want)
		}
	}
}
