package hub

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/coder/websocket"
	"github.com/flowweaver/flowweaver/backend/flow"
)

// bearerPrefix marks the token in the Sec-WebSocket-Protocol list:
// "flowweaver.v1, bearer.<jwt>" (browsers cannot set Authorization).
const bearerPrefix = "bearer."

// ServeHTTP serves GET /ws?projectId=<id>. Every handshake check
// (docs/websocket.md, Handshake) runs before the upgrade, in the contract's
// order, and answers with a JSON error body; then the connection gets its
// welcome frame.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET with a WebSocket upgrade")
		return
	}
	if !h.hostAllowed(r.Host) {
		writeError(w, http.StatusForbidden, flow.EFORBIDDEN, "host not allowed")
		return
	}
	if !h.originAllowed(r) {
		writeError(w, http.StatusForbidden, flow.EFORBIDDEN, "origin not allowed")
		return
	}
	token := requestToken(r)
	if token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="flowweaver"`)
		writeError(w, http.StatusUnauthorized, flow.EUNAUTHORIZED, "a bearer token is required (Authorization header or the bearer.<token> subprotocol)")
		return
	}
	pr, err := h.cfg.Verifier.Verify(token)
	if err != nil || pr == nil {
		code := flow.ErrorCode(err)
		if code != flow.ETOKENEXPIRED {
			code = flow.EUNAUTHORIZED
		}
		msg := "invalid token"
		if err != nil {
			msg = flow.ErrorMessage(err)
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="flowweaver", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, code, msg)
		return
	}
	projectID := r.URL.Query().Get("projectId")
	if projectID == "" {
		writeError(w, http.StatusBadRequest, flow.EINVALID, "query parameter projectId is required")
		return
	}
	ok, err := h.cfg.Projects.ProjectExists(r.Context(), projectID)
	if err != nil {
		h.internal("project lookup", err)
		writeError(w, http.StatusInternalServerError, flow.EINTERNAL, "internal error")
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, flow.ENOTFOUND, "project not found")
		return
	}
	if !isUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		writeError(w, http.StatusUpgradeRequired, "upgrade_required", "this endpoint speaks WebSocket only")
		return
	}
	session := sessionKey(pr)
	if err := h.reserve(session); err != nil {
		if flow.ErrorCode(err) == flow.ETOOMANY {
			writeError(w, http.StatusTooManyRequests, flow.ETOOMANY, flow.ErrorMessage(err))
		} else {
			writeError(w, http.StatusServiceUnavailable, flow.EUNAVAILABLE, flow.ErrorMessage(err))
		}
		return
	}

	if h.cfg.Watcher != nil {
		if err := h.cfg.Watcher.Watch(r.Context(), projectID); err != nil {
			h.internal("watch project", err)
			h.unreserve(session)
			writeError(w, http.StatusServiceUnavailable, flow.EUNAVAILABLE, "this project's event feed is unavailable, retry shortly")
			return
		}
	}
	hw := &hijackWriter{ResponseWriter: w, timeout: h.cfg.SlowConsumerTimeout}
	ws, err := websocket.Accept(hw, r, &websocket.AcceptOptions{
		Subprotocols:   []string{SubprotocolBatch, Subprotocol},
		OriginPatterns: h.cfg.OriginPatterns,
		// batchConn writes data frames itself and never sets RSV1.
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		h.unwatch(projectID)
		h.unreserve(session)
		return // Accept has answered
	}
	ws.SetReadLimit(h.cfg.ReadLimit)
	hw.bc.lines = ws.Subprotocol() == SubprotocolBatch
	h.startConn(ws, hw.bc, projectID, pr, session, isLoopback(r.RemoteAddr))
	// Returning lets net/http drop everything it held for the request
	// (buffers, headers, the deep handshake stack); the connection lives
	// on in its own reader and writer goroutines.
}

// startConn registers an upgraded connection, queues its welcome frame and
// starts its two goroutines. The reader goroutine owns the cleanup and gives
// the session slot (and the Hub.wg count) back at the end.
func (h *Hub) startConn(ws *websocket.Conn, bc *batchConn, projectID string, pr *flow.Principal, session string, local bool) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		h: h, id: newID(), projectID: projectID, subject: pr.Subject, session: session, local: local,
		ws: ws, bc: bc, ctx: ctx, cancel: cancel,
		notify: make(chan struct{}, 1), space: make(chan struct{}, 1),
		done: make(chan struct{}), writerDone: make(chan struct{}),
		subs: map[string]*subscription{},
	}
	if !h.register(c) {
		c.shutdown(websocket.StatusGoingAway, "server shutting down")
	} else if h.signedOut(pr.SessionID) {
		c.shutdown(CloseTokenExpired, "session signed out") // revoked between Verify and register
	}
	_, last, err := h.cfg.Log.SeqRange(ctx, projectID)
	h.internal("welcome seq", err)
	c.send(encodeReply(EventWelcome, flow.ChannelSystem, projectID, "", map[string]any{
		"connectionId": c.id,
		"protocol":     1,
		"heartbeatMs":  h.cfg.HeartbeatInterval.Milliseconds(),
		"lastSeq":      last,
	}))
	c.armExpiry(pr.ExpiresAt)
	go c.writeLoop()
	go func() {
		defer h.unreserve(session)
		c.readLoop()
		c.shutdown(websocket.StatusNormalClosure, "")
		<-c.writerDone
		c.mu.Lock()
		if c.evictTimer != nil {
			c.evictTimer.Stop()
		}
		c.mu.Unlock()
		c.pingWG.Wait()
		h.unregister(c)
		h.unwatch(projectID)
	}()
}

// unwatch pairs a successful Watch.
func (h *Hub) unwatch(projectID string) {
	if h.cfg.Watcher != nil {
		h.cfg.Watcher.Unwatch(projectID)
	}
}

// sessionKey identifies a login session for the connection cap.
func sessionKey(p *flow.Principal) string { return p.Subject + "\x00" + p.SessionID }

// requestToken reads the bearer token from the Authorization header or the
// subprotocol list. The query string is never read: URLs end up in logs.
func requestToken(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if strings.HasPrefix(p, bearerPrefix) {
				return p[len(bearerPrefix):]
			}
		}
	}
	return ""
}

func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(hd http.Header, key, token string) bool {
	for _, v := range hd.Values(key) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func (h *Hub) hostAllowed(host string) bool {
	if len(h.cfg.AllowedHosts) == 0 {
		return true
	}
	for _, a := range h.cfg.AllowedHosts {
		if strings.EqualFold(a, host) {
			return true
		}
	}
	return false
}

// originAllowed applies the same rule as coder/websocket's Accept (no
// Origin, the request's own host, or an OriginPatterns match) so the answer
// is a JSON 403 given before the token check, as the contract orders.
func (h *Hub) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, pat := range h.cfg.OriginPatterns {
		target := u.Host
		if strings.Contains(pat, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, err := path.Match(strings.ToLower(pat), strings.ToLower(target)); err == nil && ok {
			return true
		}
	}
	return false
}

// writeError writes the JSON error body used everywhere:
// {"error": "<code>", "message": "<text>"}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}
