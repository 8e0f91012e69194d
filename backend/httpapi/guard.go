package httpapi

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// guard applies the checks every request passes before any route runs:
//
//  1. Host must be a loopback name with the port the request arrived on,
//     so a DNS-rebinding page (evil.example resolving to 127.0.0.1) is
//     refused with 403 even though its requests reach our socket.
//  2. Origin, when present, must be our own origin, the desktop webview's
//     or a --dev origin; anything else is 403. Allowed foreign origins get
//     CORS headers so the webview and the dev server can call the API.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.cfg.AllowRemote && !loopbackHost(r) {
			writeError(w, r, flow.Errorf(flow.EFORBIDDEN, "host %q is not allowed: use 127.0.0.1 or localhost", r.Host), s.cfg.Logger)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			switch {
			case sameOrigin(origin, r):
			case slices.Contains(s.cfg.AllowedOrigins, origin):
				h := w.Header()
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Credentials", "true")
				h.Add("Vary", "Origin")
				if r.Method == http.MethodOptions {
					h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
					h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
					h.Set("Access-Control-Max-Age", "600")
					w.WriteHeader(http.StatusNoContent)
					return
				}
			default:
				writeError(w, r, flow.Errorf(flow.EFORBIDDEN, "origin %q is not allowed", origin), s.cfg.Logger)
				return
			}
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether r.Host names a loopback address with the
// port of the listener the request came in on.
func loopbackHost(r *http.Request) bool {
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		return false
	}
	switch strings.ToLower(host) {
	case "127.0.0.1", "localhost", "::1":
	default:
		return false
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	_, lport, err := net.SplitHostPort(local.String())
	return err == nil && lport == port
}

// sameOrigin reports whether origin is the server's own origin as the
// browser sees it: http://<the Host header that passed loopbackHost>.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.Path != "" && u.Path != "/" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authed requires a valid bearer token.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.cfg.Auth.Verify(BearerToken(r)); err != nil {
			writeError(w, r, err, s.cfg.Logger)
			return
		}
		h(w, r)
	})
}
