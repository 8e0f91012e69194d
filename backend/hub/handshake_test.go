package hub

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// upgradeRequest builds a raw WebSocket upgrade request so the test sees the
// exact HTTP answer given before the upgrade.
func (e *env) upgradeRequest(query string, hdr map[string]string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/ws"+query, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return req
}

func TestHandshake(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.MaxConnsPerSession = 2
		c.OriginPatterns = []string{"wails://wails"}
	}, "p1")
	// Host allowlist as the daemon configures it (set before any request).
	e.hub.cfg.AllowedHosts = []string{e.srv.Listener.Addr().String()}
	// Fill session "full" to its cap of 2 first.
	held := []*client{e.dial("p1", "ok.u.full"), e.dial("p1", "ok.u.full")}
	defer func() {
		for _, c := range held {
			c.close()
		}
	}()

	rows := []struct {
		name   string
		query  string
		hdr    map[string]string
		status int
		code   string
		proto  string
	}{
		{"rebinding host", "?projectId=p1", map[string]string{"Authorization": "Bearer ok.u.s", "Host": "evil.example"}, 403, "forbidden", ""},
		{"rebinding host before token", "?projectId=p1", map[string]string{"Host": "evil.example"}, 403, "forbidden", ""},
		{"no token", "?projectId=p1", nil, 401, "unauthorized", ""},
		{"query token ignored", "?projectId=p1&token=ok.u.s&access_token=ok.u.s", nil, 401, "unauthorized", ""},
		{"malformed token", "?projectId=p1", map[string]string{"Authorization": "Bearer garbage"}, 401, "unauthorized", ""},
		{"not bearer scheme", "?projectId=p1", map[string]string{"Authorization": "Basic b2s="}, 401, "unauthorized", ""},
		{"expired token", "?projectId=p1", map[string]string{"Authorization": "Bearer expired.u.s"}, 401, "token_expired", ""},
		{"bad subprotocol token", "?projectId=p1", map[string]string{"Sec-WebSocket-Protocol": "flowweaver.v1, bearer.nope"}, 401, "unauthorized", ""},
		{"foreign origin", "?projectId=p1", map[string]string{"Authorization": "Bearer ok.u.s", "Origin": "http://evil.example"}, 403, "forbidden", ""},
		{"foreign origin before token", "?projectId=p1", map[string]string{"Origin": "http://evil.example"}, 403, "forbidden", ""},
		{"missing projectId", "", map[string]string{"Authorization": "Bearer ok.u.s"}, 400, "bad_request", ""},
		{"unknown project", "?projectId=nope", map[string]string{"Authorization": "Bearer ok.u.s"}, 404, "not_found", ""},
		{"session cap", "?projectId=p1", map[string]string{"Authorization": "Bearer ok.u.full"}, 429, "too_many_requests", ""},
		{"not an upgrade", "?projectId=p1", map[string]string{"Authorization": "Bearer ok.u.s", "Upgrade": "", "Connection": ""}, 426, "upgrade_required", ""},
		{"header token", "?projectId=p1", map[string]string{"Authorization": "Bearer ok.u.h1"}, 101, "", ""},
		{"subprotocol token", "?projectId=p1", map[string]string{"Sec-WebSocket-Protocol": "flowweaver.v1, bearer.ok.u.h2"}, 101, "", "flowweaver.v1"},
		{"batch subprotocol preferred", "?projectId=p1", map[string]string{"Sec-WebSocket-Protocol": "flowweaver.v1, flowweaver.v1.batch, bearer.ok.u.h5"}, 101, "", "flowweaver.v1.batch"},
		{"batch subprotocol with header token", "?projectId=p1", map[string]string{"Authorization": "Bearer ok.u.h6", "Sec-WebSocket-Protocol": "flowweaver.v1.batch"}, 101, "", "flowweaver.v1.batch"},
		{"webview origin", "?projectId=p1", map[string]string{"Authorization": "Bearer ok.u.h3", "Origin": "wails://wails"}, 101, "", ""},
		{"own origin", "?projectId=p1", map[string]string{"Authorization": "Bearer ok.u.h4", "Origin": "SELF"}, 101, "", ""},
	}
	// Successful rows use their own session: a closed connection gives its
	// slot back asynchronously, so rows must not depend on each other.
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			if row.hdr["Origin"] == "SELF" {
				row.hdr["Origin"] = e.srv.URL
			}
			resp, err := e.srv.Client().Do(e.upgradeRequest(row.query, row.hdr))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != row.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, row.status)
			}
			if row.status == 101 {
				if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != row.proto {
					t.Fatalf("selected subprotocol %q, want %q", got, row.proto)
				}
				return
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("content type %q", ct)
			}
			var body struct{ Error, Message string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if body.Error != row.code || body.Message == "" {
				t.Fatalf("body %+v, want error %q with a message", body, row.code)
			}
			if row.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without WWW-Authenticate: Bearer")
			}
		})
	}
}

// A browser-style client (subprotocol token, no Authorization header) gets
// flowweaver.v1 selected and a working connection with its welcome frame.
func TestHandshakeSubprotocolClient(t *testing.T) {
	e := newEnv(t, nil, "p1")
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.wsURL("p1"), &websocket.DialOptions{Subprotocols: []string{"flowweaver.v1", "bearer.ok.u.s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if ws.Subprotocol() != Subprotocol {
		t.Fatalf("subprotocol %q", ws.Subprotocol())
	}
	c := &client{t: t, ws: ws}
	w := c.expect(EventWelcome, "")
	var p struct {
		ConnectionID string `json:"connectionId"`
		Protocol     int    `json:"protocol"`
		HeartbeatMs  int64  `json:"heartbeatMs"`
		LastSeq      int64  `json:"lastSeq"`
	}
	if err := json.Unmarshal(w.Payload, &p); err != nil || p.ConnectionID == "" || p.Protocol != 1 || p.HeartbeatMs != 15000 || w.Channel != "system" || w.ProjectID != "p1" {
		t.Fatalf("welcome %s %+v (%v)", w.Payload, w, err)
	}
	c.close()
}

func TestConfigValidate(t *testing.T) {
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "Verifier") {
		t.Fatalf("New(Config{}) = %v, want an error naming Verifier", err)
	}
	_, err := New(Config{Verifier: fakeVerifier{}, Projects: ProjectsFunc(nil), Log: nil, OutboundQueue: -1})
	if err == nil || !strings.Contains(err.Error(), "OutboundQueue") || !strings.Contains(err.Error(), "Log") {
		t.Fatalf("got %v", err)
	}
}
