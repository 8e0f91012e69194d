package httpapi

import (
	"net"
	"net/http"
	"time"

	"github.com/flowweaver/flowweaver/backend/auth"
	"github.com/flowweaver/flowweaver/backend/flow"
)

type tokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	// Session tells the page that a browser session cookie was set.
	Session bool `json:"session,omitempty"`
}

// login redeems a one-time code. With a deviceKey it also starts a browser
// session: an HttpOnly, SameSite=Strict cookie that new tabs and windows
// of this browser trade for tokens at /api/auth/session (see auth.SessionLogin).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code      string `json:"code"`
		DeviceKey string `json:"deviceKey"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	if req.Code == "" {
		writeError(w, r, flow.Errorf(flow.EINVALID, "code is required"), s.cfg.Logger)
		return
	}
	tok, exp, err := s.cfg.Auth.Login(req.Code, s.cfg.TokenTTL)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	resp := tokenResponse{Token: tok, ExpiresAt: exp.UTC()}
	if s.cfg.Sessions != nil {
		// Listed in the settings (device, created, last seen), revocable.
		sid, err := s.cfg.Auth.SessionOf(tok)
		if err == nil {
			err = s.cfg.Sessions.Started(r.Context(), sid, r.UserAgent())
		}
		if err != nil {
			writeError(w, r, err, s.cfg.Logger)
			return
		}
	}
	if req.DeviceKey != "" {
		sid, err := s.cfg.Auth.SessionOf(tok)
		if err == nil {
			var session string
			var sexp time.Time
			if session, sexp, err = s.cfg.Auth.IssueSession(sid, req.DeviceKey); err == nil {
				setSessionCookie(w, r, session, sexp)
				resp.Session = true
			}
		}
		if err != nil {
			writeError(w, r, err, s.cfg.Logger)
			return
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	tok, exp, err := s.cfg.Auth.Refresh(BearerToken(r), s.cfg.TokenTTL)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{Token: tok, ExpiresAt: exp.UTC()})
}

// sessionLogin signs a new tab or window in from the browser session: the
// cookie plus the page's device key give an access token of the same
// session, and the cookie is renewed. Only the server's own pages may ask
// (an Origin header is required and must pass the guard), so another site
// cannot even make the browser attach the cookie to a request that counts.
func (s *Server) sessionLogin(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") == "" {
		writeError(w, r, flow.Errorf(flow.EFORBIDDEN, "a browser session is only for the Flow Weaver page (Origin header required)"), s.cfg.Logger)
		return
	}
	var req struct {
		DeviceKey string `json:"deviceKey"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	var session string
	if c, err := r.Cookie(sessionCookieName(r)); err == nil {
		session = c.Value
	}
	tok, exp, renewed, rexp, err := s.cfg.Auth.SessionLogin(session, req.DeviceKey, s.cfg.TokenTTL)
	if err != nil {
		if session != "" {
			clearSessionCookie(w, r)
		}
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	setSessionCookie(w, r, renewed, rexp)
	writeJSON(w, http.StatusOK, tokenResponse{Token: tok, ExpiresAt: exp.UTC(), Session: true})
}

// newLoginCode mints a one-time login code for `flowweaver open`.
func (s *Server) newLoginCode(w http.ResponseWriter, r *http.Request) {
	code := s.cfg.Auth.NewLoginCode()
	writeJSON(w, http.StatusOK, map[string]string{"code": code, "url": "http://" + r.Host + "/#code=" + code})
}

// sessionCookieName includes the port: cookies ignore ports, and two
// servers on one host must not overwrite each other's session.
func sessionCookieName(r *http.Request) string {
	_, port, err := net.SplitHostPort(r.Host)
	if err != nil || port == "" {
		return "fw_session"
	}
	return "fw_session_" + port
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, value string, exp time.Time) {
	// Not Secure: the server speaks plain HTTP on loopback, where a Secure
	// cookie would never be sent back. HttpOnly and SameSite=Strict are set.
	http.SetCookie(w, &http.Cookie{ //nolint:gosec // G124: see above
		Name:     sessionCookieName(r),
		Value:    value,
		Path:     "/api/auth/",
		Expires:  exp,
		MaxAge:   int(auth.SessionTTL / time.Second),
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	// Not Secure: the server speaks plain HTTP on loopback, where a Secure
	// cookie would never be sent back. HttpOnly and SameSite=Strict are set.
	http.SetCookie(w, &http.Cookie{ //nolint:gosec // G124: see above
		Name:     sessionCookieName(r),
		Value:    "",
		Path:     "/api/auth/",
		MaxAge:   -1,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
}
