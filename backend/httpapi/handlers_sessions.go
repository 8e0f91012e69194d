package httpapi

import (
	"context"
	"net/http"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Sessions is what the API needs of the browser sessions service
// (backend/sessions). List results are written as JSON as they are.
type Sessions interface {
	Started(ctx context.Context, sid, userAgent string) error
	// List describes the live sessions; current is the caller's.
	ListSessions(ctx context.Context, current string) (any, error)
	Revoke(ctx context.Context, ids []string) ([]string, error)
	RevokeOthers(ctx context.Context, keep string) ([]string, error)
}

// callerSession is the session id of the request's bearer token.
func (s *Server) callerSession(r *http.Request) string {
	sid, _ := s.cfg.Auth.SessionOf(BearerToken(r))
	return sid
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	if !s.have(w, r, s.cfg.Sessions != nil, "sessions") {
		return
	}
	cur := s.callerSession(r)
	list, err := s.cfg.Sessions.ListSessions(r.Context(), cur)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": list, "current": cur})
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) {
	if !s.have(w, r, s.cfg.Sessions != nil, "sessions") {
		return
	}
	done, err := s.cfg.Sessions.Revoke(r.Context(), []string{r.PathValue("sid")})
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	if s.callerSession(r) == r.PathValue("sid") {
		clearSessionCookie(w, r)
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": done})
}

func (s *Server) revokeOtherSessions(w http.ResponseWriter, r *http.Request) {
	if !s.have(w, r, s.cfg.Sessions != nil, "sessions") {
		return
	}
	done, err := s.cfg.Sessions.RevokeOthers(r.Context(), s.callerSession(r))
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": done})
}

// logout signs this browser out: the session of the bearer token, or else
// of the cookie, is revoked on the server (every tab of the browser shares
// it, so all of them are signed out and their sockets closed), and the
// cookie is deleted. Without either, it only deletes the cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sid := s.callerSession(r)
	if sid == "" {
		if c, err := r.Cookie(sessionCookieName(r)); err == nil {
			sid, _ = s.cfg.Auth.SessionOfCookie(c.Value)
		}
	}
	clearSessionCookie(w, r)
	if sid != "" && s.cfg.Sessions != nil {
		_, err := s.cfg.Sessions.Revoke(r.Context(), []string{sid})
		if err != nil && flow.ErrorCode(err) != flow.ENOTFOUND {
			writeError(w, r, err, s.cfg.Logger)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
