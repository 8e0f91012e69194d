package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/auth"
	"github.com/flowweaver/flowweaver/backend/daemon"
	"github.com/flowweaver/flowweaver/backend/datadir"
)

// target is the Flow Weaver process a command talks to, through the same
// REST API and WebSocket either way:
//
//   - hand-over: another process (the desktop app or `serve`) holds the
//     data dir; it is found through its runtime file, and the run shows
//     live in its UI;
//   - in-process: nobody holds the data dir; this process takes the lock
//     and boots the same daemon (engine, store, hub) on a loopback port
//     that it does not advertise, and releases everything on close.
type target interface {
	// api is the client of the process as last found.
	api() *api
	// reconnect waits until the process (or, after a restart, its
	// successor) answers again and returns its client.
	reconnect(ctx context.Context) (*api, error)
	// describe names the process for messages.
	describe() string
	// close stops what this process started (in-process) and releases
	// the data dir.
	close(ctx context.Context) error
}

// targetOptions tune openTarget.
type targetOptions struct {
	// Passive boots an in-process daemon without workers (runs, logs).
	Passive bool
	// FindWait bounds the wait for a holder that is still starting.
	FindWait time.Duration
	// LostPatience bounds how long reconnect waits for a holder to come
	// back after the connection was lost.
	LostPatience time.Duration
}

func (o targetOptions) withDefaults() targetOptions {
	if o.FindWait <= 0 {
		o.FindWait = 15 * time.Second
	}
	if o.LostPatience <= 0 {
		o.LostPatience = 2 * time.Minute
	}
	return o
}

// openTarget hands over to the process holding dataDir, or runs in-process
// when none does. A holder that cannot take runs (another in-process
// `flowweaver run`, or one that never answers) is a *datadir.LockedError:
// exit 4, naming its PID.
func openTarget(ctx context.Context, env *Env, dataDir string, opts targetOptions) (target, error) {
	opts = opts.withDefaults()
	tokens, err := newTokenSource(dataDir)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(opts.FindWait)
	for {
		lock, err := datadir.Acquire(dataDir, "run")
		if err == nil {
			return startInProcess(ctx, env, lock, opts)
		}
		var held *datadir.LockedError
		if !errors.As(err, &held) {
			return nil, err
		}
		if held.Holder.Kind == "run" {
			// An in-process run serves nobody but itself.
			return nil, held
		}
		if a := findHolder(ctx, dataDir, tokens); a != nil {
			return &handOver{dataDir: dataDir, tokens: tokens, cur: a, opts: opts}, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w; it does not answer at the address in %s", held, datadir.RuntimeFileName)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// findHolder returns a client of the process named by the runtime file if
// it is the live holder and answers, else nil.
func findHolder(ctx context.Context, dataDir string, tokens *tokenSource) *api {
	rt, err := datadir.ReadRuntime(dataDir)
	if err != nil || !datadir.Live(dataDir, rt) {
		return nil
	}
	a := &api{base: rt.URL, token: tokens.get, http: &http.Client{Timeout: 30 * time.Second}, who: rt.Kind, pid: rt.PID}
	hctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if a.health(hctx) != nil {
		return nil
	}
	return a
}

// handOver talks to the desktop app or `serve` holding the data dir.
type handOver struct {
	dataDir string
	tokens  *tokenSource
	opts    targetOptions

	mu  sync.Mutex
	cur *api
}

func (h *handOver) api() *api {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

func (h *handOver) describe() string {
	a := h.api()
	return fmt.Sprintf("flowweaver %s (pid %d)", a.who, a.pid)
}

// reconnect waits for a live holder to answer again. It never takes the
// lock itself: a server restarting on this data dir must find it free.
func (h *handOver) reconnect(ctx context.Context) (*api, error) {
	deadline := time.Now().Add(h.opts.LostPatience)
	delay := 100 * time.Millisecond
	for {
		if a := findHolder(ctx, h.dataDir, h.tokens); a != nil {
			h.mu.Lock()
			h.cur = a
			h.mu.Unlock()
			return a, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lost the connection to %s and no flow weaver process came back on %s within %s", h.describe(), h.dataDir, h.opts.LostPatience)
		}
		if err := sleepCtx(ctx, delay); err != nil {
			return nil, err
		}
		delay = min(delay*2, 2*time.Second)
	}
}

func (h *handOver) close(context.Context) error { return nil }

// inProcess is a daemon booted by this process under its own lock.
type inProcess struct {
	d    *daemon.Daemon
	lock *datadir.Lock
	cur  *api
}

func startInProcess(ctx context.Context, env *Env, lock *datadir.Lock, opts targetOptions) (_ target, err error) {
	defer func() {
		if err != nil {
			_ = lock.Release()
		}
	}()
	// Only warnings of the engine reach the terminal; the run's own
	// output is printed from its events, as in hand-over mode.
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The daemon outlives ctx (Ctrl-C): the run is canceled through the
	// API first, then close stops the daemon.
	bg := context.WithoutCancel(ctx)
	d, err := daemon.New(bg, daemon.Config{
		Addr:    "127.0.0.1:0",
		DataDir: lock.Dir(),
		Lock:    lock,
		Role:    "run",
		Passive: opts.Passive,
		// One run, not a server: the projects' triggers wait for the app or serve.
		NoTriggers: true,
		Version:    env.Version,
		Logger:     logger,
	})
	if err != nil {
		return nil, err
	}
	if err := d.Start(bg); err != nil {
		_ = d.Stop(context.Background())
		return nil, err
	}
	tok := func() (string, error) { t, _, err := d.Token(time.Hour); return t, err }
	a := &api{base: d.URL(), token: tok, http: &http.Client{Timeout: 30 * time.Second}, who: "run", pid: lock.Holder().PID}
	return &inProcess{d: d, lock: lock, cur: a}, nil
}

func (p *inProcess) api() *api        { return p.cur }
func (p *inProcess) describe() string { return "this process" }

// reconnect: the daemon is ours and does not go away; a lost socket is
// only retried after a short pause.
func (p *inProcess) reconnect(ctx context.Context) (*api, error) {
	return p.cur, sleepCtx(ctx, 100*time.Millisecond)
}

func (p *inProcess) close(ctx context.Context) error {
	err := p.d.Stop(ctx)
	if rerr := p.lock.Release(); err == nil {
		err = rerr
	}
	return err
}

// tokenSource mints tokens from the data dir's key, reusing one until it
// is close to expiry.
type tokenSource struct {
	a *auth.Authority

	mu  sync.Mutex
	tok string
	exp time.Time
}

func newTokenSource(dataDir string) (*tokenSource, error) {
	a, err := dataDirAuthority(dataDir, true)
	if err != nil {
		return nil, err
	}
	return &tokenSource{a: a}, nil
}

func (t *tokenSource) get() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != "" && time.Until(t.exp) > 10*time.Minute {
		return t.tok, nil
	}
	tok, exp, err := t.a.Issue(time.Hour)
	if err != nil {
		return "", err
	}
	t.tok, t.exp = tok, exp
	return tok, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
