package auth

import (
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Tokens are stateless JWTs, so signing a session out needs server-side
// state: the ids of revoked sessions, which Verify and SessionLogin
// refuse (a revoked session's access tokens, its cookie and every token it
// would be refreshed to). The Registry persists them and loads them at
// start; this is only the in-memory copy every check reads. Verify also
// notes when each session was last seen, for the sessions list; the
// Registry writes that down now and then (TakeSeen).

type sessionState struct {
	mu      sync.RWMutex
	revoked map[string]bool
	seen    map[string]time.Time
}

func newSessionState() sessionState {
	return sessionState{revoked: map[string]bool{}, seen: map[string]time.Time{}}
}

func (s *sessionState) isRevoked(sid string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.revoked[sid]
}

// see records that sid was used at t. The map holds at most one entry per
// session used since the last TakeSeen.
func (s *sessionState) see(sid string, t time.Time) {
	// Most calls find a fresh entry under the read lock and stop there.
	s.mu.RLock()
	last, ok := s.seen[sid]
	s.mu.RUnlock()
	if ok && t.Sub(last) < time.Second {
		return
	}
	s.mu.Lock()
	if t.After(s.seen[sid]) {
		s.seen[sid] = t
	}
	s.mu.Unlock()
}

// errSignedOut is the answer to every credential of a revoked session; the
// details tell the page to show "signed out" rather than "expired".
func errSignedOut() error {
	return &flow.Error{Code: flow.EUNAUTHORIZED, Message: "this session was signed out: sign in again with a login link",
		Details: map[string]string{"reason": "signed_out"}}
}

// MarkRevoked makes every token and cookie of these sessions invalid in
// this process from now on.
func (a *Authority) MarkRevoked(ids ...string) {
	a.sessions.mu.Lock()
	for _, id := range ids {
		a.sessions.revoked[id] = true
		delete(a.sessions.seen, id)
	}
	a.sessions.mu.Unlock()
}

// Revoked reports whether a session was signed out.
func (a *Authority) Revoked(sid string) bool { return a.sessions.isRevoked(sid) }

// TakeSeen returns when each session was last used since the previous
// call, and forgets it.
func (a *Authority) TakeSeen() map[string]time.Time {
	a.sessions.mu.Lock()
	defer a.sessions.mu.Unlock()
	out := a.sessions.seen
	a.sessions.seen = map[string]time.Time{}
	return out
}

// Seen records a use of sid at t (the Registry puts back what it could
// not write down).
func (a *Authority) Seen(sid string, t time.Time) { a.sessions.see(sid, t) }
