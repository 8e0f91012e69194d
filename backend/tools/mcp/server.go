package mcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// backoffReset: a server that ran this long before crashing starts its
// failure count afresh, so one crash a day never earns a 30 s delay.
const backoffReset = time.Minute

// server is one configured MCP server of a project: its state machine and
// the running instance (session, process) shared by all runs.
//
//	idle --kick--> starting --ok--> ready --crash/hang--> failed --backoff--> starting
//	                        \--error--> failed                 any --close--> stopped
type server struct {
	p      *project
	name   string
	cfg    *serverConfig
	cfgErr error              // the entry is unusable; the server never starts
	ctx    context.Context    // canceled by close: aborts a start in flight
	cancel context.CancelFunc // of ctx

	mu        sync.Mutex
	state     string
	closed    bool
	inst      *instance
	starting  chan struct{} // closed when the start attempt in flight ends
	lastErr   string
	startFail bool // the last failure was a failed start (not a crash)
	failures  int  // consecutive failures
	nextStart time.Time
	timer     *time.Timer // automatic restart
	tools     []flow.Tool // last listed; kept while failed

	fingerprint string // of the config entry (set once, before use)
}

func newServer(p *project, cfg *serverConfig, cfgErr error) *server {
	ctx, cancel := context.WithCancel(p.ctx)
	s := &server{p: p, name: cfg.Name, cfg: cfg, cfgErr: cfgErr, ctx: ctx, cancel: cancel, state: StatusIdle}
	switch {
	case cfg.Gate != "":
		s.state = cfg.Gate
	case cfgErr != nil:
		s.state, s.lastErr = StatusFailed, cfgErr.Error()
	}
	return s
}

// gateError explains why a held-back server does not start.
func (s *server) gateError() *flow.Error {
	if s.cfg.Gate == StatusPending {
		return flow.Errorf(flow.EUNTRUSTED, "mcp server %q (%s) was added or changed after the project was trusted: approve it in the tool palette first", s.name, s.cfg.File)
	}
	return flow.Errorf(flow.EUNTRUSTED, "mcp server %q is not started: the project is not trusted", s.name)
}

// instance is one running connection to the server.
type instance struct {
	session     *sdk.ClientSession
	proc        *proc              // stdio only
	abort       context.CancelFunc // HTTP only: aborts requests in flight
	http        *http.Transport    // HTTP only: its idle connections are closed at the end
	readyAt     time.Time
	closing     atomic.Bool   // we are stopping it; its end is not a crash
	retired     atomic.Bool   // retire started (once)
	retiredDone chan struct{} // closed when retire finished
	once        sync.Once
	mu          sync.Mutex
	reason      string // why it ended, once known
}

func (i *instance) pid() int {
	if i == nil || i.proc == nil {
		return 0
	}
	return i.proc.pid()
}

// stop ends the instance: stdio servers get stdin closed, grace to exit,
// then SIGKILL on their process group; HTTP requests in flight are aborted.
func (i *instance) stop(grace time.Duration) {
	i.closing.Store(true)
	i.once.Do(func() {
		if i.proc != nil {
			i.proc.stop(grace)
		}
		if i.abort != nil {
			i.abort()
		}
		_ = i.session.Close()
		if i.http != nil {
			i.http.CloseIdleConnections()
		}
	})
}

func (i *instance) setReason(r string) {
	i.mu.Lock()
	if i.reason == "" {
		i.reason = r
	}
	i.mu.Unlock()
}

func (i *instance) endReason() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.reason
}

func (s *server) status() ServerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := ServerStatus{Server: s.name, File: s.cfg.File, Type: s.cfg.Type, Status: s.state, Tools: len(s.tools), PID: s.inst.pid(), Fingerprint: s.fingerprint}
	switch {
	case s.state == StatusFailed:
		st.Error = s.lastErr
	case s.cfg.Gate != "" && s.state == s.cfg.Gate:
		st.Error = s.gateError().Message
	}
	return st
}

// setState changes the state and publishes it. Caller holds s.mu.
func (s *server) setState(state, errMsg string) {
	s.state = state
	s.p.publishStatus(ServerStatus{Server: s.name, File: s.cfg.File, Status: state, Error: errMsg, Fingerprint: s.fingerprint})
}

func (s *server) toolList() []flow.Tool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]flow.Tool(nil), s.tools...)
}

// kick starts the server unless it is ready, starting, closed, broken or
// waiting out a backoff. It returns a channel closed when the start attempt
// in flight ends, or nil when nothing is starting.
func (s *server) kick() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kickLocked()
}

func (s *server) kickLocked() chan struct{} {
	if s.closed || s.cfgErr != nil || s.cfg.Gate != "" {
		return nil
	}
	switch s.state {
	case StatusReady:
		return nil
	case StatusStarting:
		return s.starting
	}
	if s.p.src.o.Now().Before(s.nextStart) {
		return nil
	}
	ch := make(chan struct{})
	if !s.p.spawn(func() { s.start(ch) }) {
		return nil
	}
	s.starting = ch
	s.setState(StatusStarting, "")
	return ch
}

// start runs one start attempt (in a goroutine owned by the project).
func (s *server) start(done chan struct{}) {
	ctx, cancel := context.WithTimeout(s.ctx, s.p.src.o.StartTimeout)
	var inst *instance
	var list []flow.Tool
	err := s.allowed()
	if err == nil {
		inst, list, err = s.connect(ctx)
	}
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && s.ctx.Err() == nil {
		err = fmt.Errorf("did not become ready within %v: %w", s.p.src.o.StartTimeout, err)
	}
	cancel()

	var orphan *instance // started but not wanted any more
	s.mu.Lock()
	func() {
		defer close(done)
		s.starting = nil
		switch {
		case s.closed:
			orphan = inst
		case err != nil:
			s.p.src.o.Logger.Warn("mcp server failed to start", "project", s.p.id, "server", s.name, "err", s.p.mask(err.Error()))
			s.fail(err.Error(), true, time.Time{})
		default:
			inst.readyAt = s.p.src.o.Now()
			if !s.p.spawn(func() { s.watch(inst) }) {
				orphan = inst
				return
			}
			s.inst, s.tools = inst, list
			s.lastErr = ""
			s.setState(StatusReady, "")
		}
	}()
	s.mu.Unlock()
	if orphan != nil {
		orphan.stop(0)
	}
	s.p.toolsChanged()
}

// allowed asks Options.AllowStart.
func (s *server) allowed() error {
	allow := s.p.src.o.AllowStart
	if allow == nil {
		return nil
	}
	c := s.cfg
	if err := allow(s.p.id, ServerInfo{Name: c.Name, File: c.File, Type: c.Type, Command: c.Command, Args: c.Args, URL: c.URL}); err != nil {
		return fmt.Errorf("not allowed to start: %v", err)
	}
	return nil
}

// fail records a failure and schedules an automatic restart. Caller holds s.mu.
func (s *server) fail(reason string, startFail bool, readyAt time.Time) {
	now := s.p.src.o.Now()
	if !readyAt.IsZero() && now.Sub(readyAt) > backoffReset {
		s.failures = 0
	}
	s.failures++
	d := s.p.src.o.BackoffMin << min(s.failures-1, 30)
	if d > s.p.src.o.BackoffMax || d <= 0 {
		d = s.p.src.o.BackoffMax
	}
	s.nextStart = now.Add(d)
	s.lastErr, s.startFail = reason, startFail
	if s.failures <= s.p.src.o.MaxRestarts {
		if s.timer != nil {
			s.timer.Stop()
		}
		s.timer = time.AfterFunc(d, func() { s.kick() })
	}
	s.setState(StatusFailed, reason)
}

// watch waits for the session to end; an end we did not ask for is a crash.
func (s *server) watch(inst *instance) {
	_ = inst.session.Wait()
	if inst.closing.Load() {
		return
	}
	s.retire(inst, "connection closed by the server", true)
}

// retire ends an instance that crashed or hung and marks the server failed
// (restarting it after a backoff). fallback is the reason used unless the
// process exited by itself; lost says the connection is gone, so the
// process is most likely exiting and worth a moment's wait for its status.
// Concurrent callers wait until the first one is done.
func (s *server) retire(inst *instance, fallback string, lost bool) {
	if !inst.retired.CompareAndSwap(false, true) {
		<-inst.retiredDone
		return
	}
	defer close(inst.retiredDone)
	reason := fallback
	if p := inst.proc; p != nil {
		if lost {
			select {
			case <-p.exited:
			case <-time.After(time.Second):
			}
		}
		select {
		case <-p.exited:
			reason = p.reason()
		default:
			if t := p.stderr.String(); t != "" {
				reason += "; stderr: " + t
			}
		}
	}
	inst.setReason(reason)
	s.mu.Lock()
	if s.inst == inst {
		s.inst = nil
		s.p.src.o.Logger.Warn("mcp server stopped unexpectedly", "project", s.p.id, "server", s.name, "reason", s.p.mask(reason))
		if !s.closed {
			s.fail(reason, false, inst.readyAt)
		}
	}
	s.mu.Unlock()
	inst.stop(0)
}

// close stops the server for good (project closed, entry changed or removed).
func (s *server) close(grace time.Duration, state string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.cancel()
	if s.timer != nil {
		s.timer.Stop()
	}
	inst := s.inst
	s.inst = nil
	s.setState(state, "")
	s.mu.Unlock()
	if inst != nil {
		inst.stop(grace)
	}
}

// acquire returns the running instance, starting the server if needed. A
// call waits for at most one start attempt; a server that failed to start
// and is waiting out its backoff fails the call at once with the reason,
// while one that crashed is restarted when its backoff ends.
func (s *server) acquire(ctx context.Context) (*instance, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, flow.Errorf(flow.EUNAVAILABLE, "mcp server %q was stopped", s.name)
		}
		if s.cfg.Gate != "" {
			s.mu.Unlock()
			return nil, s.gateError()
		}
		if s.cfgErr != nil {
			s.mu.Unlock()
			return nil, flow.Errorf(flow.EINVALID, "mcp server %q is misconfigured: %v", s.name, s.cfgErr)
		}
		if s.state == StatusReady {
			inst := s.inst
			s.mu.Unlock()
			return inst, nil
		}
		ch := s.kickLocked()
		wait := s.nextStart.Sub(s.p.src.o.Now())
		lastErr, startFail := s.lastErr, s.startFail
		s.mu.Unlock()

		if ch == nil {
			if startFail || wait <= 0 {
				return nil, flow.Errorf(flow.EUNAVAILABLE, "mcp server %q failed to start: %s", s.name, lastErr)
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
				continue
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		s.mu.Lock()
		state, lastErr := s.state, s.lastErr
		inst := s.inst
		s.mu.Unlock()
		if state == StatusReady && inst != nil {
			return inst, nil
		}
		if state == StatusFailed {
			return nil, flow.Errorf(flow.EUNAVAILABLE, "mcp server %q failed to start: %s", s.name, lastErr)
		}
	}
}

// check is the health check after a failed or timed-out call: a server
// whose connection is gone or that does not answer a ping is retired, so
// the next call gets a fresh process. It reports whether it was retired.
func (s *server) check(inst *instance) bool {
	if inst.retired.Load() {
		<-inst.retiredDone
		return true
	}
	ctx, cancel := context.WithTimeout(s.p.ctx, s.p.src.o.PingTimeout)
	defer cancel()
	err := inst.session.Ping(ctx, nil)
	if err == nil {
		return false
	}
	if ctx.Err() != nil {
		s.retire(inst, fmt.Sprintf("did not answer a ping within %v", s.p.src.o.PingTimeout), false)
	} else {
		s.retire(inst, "connection lost: "+err.Error(), true)
	}
	return true
}
