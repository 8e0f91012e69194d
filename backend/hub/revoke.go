package hub

import "strings"

// CloseSessions closes every connection of these login sessions (their
// ids, the tokens' sid) with 4001: the client asks for a fresh token, is
// refused (the session was signed out) and shows its sign-in screen. It
// returns how many connections it closed.
func (h *Hub) CloseSessions(sessionIDs []string) int {
	if len(sessionIDs) == 0 {
		return 0
	}
	want := make(map[string]bool, len(sessionIDs))
	for _, id := range sessionIDs {
		want[id] = true
	}
	n := 0
	for _, c := range h.conns("") {
		if _, sid, _ := strings.Cut(c.session, "\x00"); want[sid] {
			c.shutdown(CloseTokenExpired, "session signed out")
			n++
		}
	}
	return n
}

// revocations is what a Verifier may also tell: whether a session was
// signed out (auth.Authority does).
type revocations interface{ Revoked(sessionID string) bool }

// signedOut closes the race between a handshake and a revocation: a
// connection that registers after CloseSessions took its snapshot was
// verified before the session was marked revoked, and is caught here,
// because the mark comes before the snapshot.
func (h *Hub) signedOut(sessionID string) bool {
	r, ok := h.cfg.Verifier.(revocations)
	return ok && r.Revoked(sessionID)
}
