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
