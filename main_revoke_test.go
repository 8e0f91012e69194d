package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const (
	chromeUA  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	firefoxUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)

// browserLogin is what a browser holds after redeeming a login code: the
// access token, the session cookie and the device key.
type browserLogin struct {
	token, cookie, deviceKey string
}

// call sends a request as a browser page of base would, and returns the
// status and the body.
func call(t *testing.T, method, u, token, cookie, body string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func loginAs(t *testing.T, s *server, loginURL, userAgent, deviceKey string) browserLogin {
	t.Helper()
	code := loginURL[strings.Index(loginURL, "#code=")+len("#code="):]
	st, body, h := call(t, "POST", s.url+"/api/auth/login", "", "", `{"code":"`+code+`","deviceKey":"`+deviceKey+`"}`, "User-Agent", userAgent)
	if st != 200 {
		t.Fatalf("login: %d %s", st, body)
	}
	var out struct{ Token string }
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	c := strings.SplitN(h.Get("Set-Cookie"), ";", 2)[0]
	if !strings.HasPrefix(c, "fw_session") {
		t.Fatalf("no session cookie: %q", h.Get("Set-Cookie"))
	}
	return browserLogin{token: out.Token, cookie: c, deviceKey: deviceKey}
}

func openURL(t *testing.T, dataDir string) string {
	t.Helper()
	out, err := exec.Command(binary, "open", "--no-browser", "--data-dir", dataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("open: %v %s", err, out)
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "open ")
}

type sessionView struct {
	ID, Device string
	Current    bool
}

func listedSessions(t *testing.T, s *server, token string) []sessionView {
	t.Helper()
	st, body, _ := call(t, "GET", s.url+"/api/auth/sessions", token, "", "")
	if st != 200 {
		t.Fatalf("list sessions: %d %s", st, body)
	}
	var out struct{ Sessions []sessionView }
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out.Sessions
}

// sessionOf finds the id of the session whose device is device.
func sessionOf(t *testing.T, list []sessionView, device string) string {
	t.Helper()
	for _, s := range list {
		if s.Device == device {
			return s.ID
		}
	}
	t.Fatalf("no session of %q in %+v", device, list)
	return ""
}

// Browser sessions are listed with their device and revocable: a revoked
// session's socket is closed, its token, refresh and cookie get 401 at
// once, also after a restart; signing out revokes this browser's own
// session; the CLI lists and revokes them too.
func TestBrowserSessionsAreListedAndRevocable(t *testing.T) {
	dataDir, projectDir := t.TempDir(), t.TempDir()
	s := startServe(t, dataDir)
	chrome := loginAs(t, s, s.loginURL, chromeUA, strings.Repeat("c", 43))
	firefox := loginAs(t, s, openURL(t, dataDir), firefoxUA, strings.Repeat("f", 43))

	list := listedSessions(t, s, chrome.token)
	if len(list) != 2 {
		t.Fatalf("sessions: %+v", list)
	}
	chromeID, firefoxID := sessionOf(t, list, "Chrome 131 on Linux"), sessionOf(t, list, "Firefox 133 on Windows")
	for _, v := range list {
		if v.Current != (v.ID == chromeID) {
			t.Fatalf("current marks the caller's session only: %+v", list)
		}
	}

	// Firefox has a project tab open.
	pid := createTrustedProject(t, s.url, mintToken(t, dataDir), "sessions", projectDir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+strings.TrimPrefix(s.url, "http://")+"/ws?projectId="+url.QueryEscape(pid),
		&websocket.DialOptions{Subprotocols: []string{"flowweaver.v1", "bearer." + firefox.token}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	closed := make(chan error, 1)
	go func() {
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				closed <- err
				return
			}
		}
	}()

	// Chrome signs Firefox out.
	if st, body, _ := call(t, "DELETE", s.url+"/api/auth/sessions/"+firefoxID, chrome.token, "", ""); st != 200 {
		t.Fatalf("revoke: %d %s", st, body)
	}
	select {
	case err := <-closed:
		if websocket.CloseStatus(err) != 4001 {
			t.Fatalf("revoked socket closed with %v, want 4001", err)
		}
	case <-ctx.Done():
		t.Fatal("the revoked session's socket stayed open")
	}
	if st, _, _ := call(t, "GET", s.url+"/api/projects", firefox.token, "", ""); st != 401 {
		t.Fatalf("revoked token: %d, want 401", st)
	}
	if st, _, _ := call(t, "POST", s.url+"/api/auth/refresh", firefox.token, "", ""); st != 401 {
		t.Fatalf("revoked token refresh: %d, want 401", st)
	}
	if st, body, _ := call(t, "POST", s.url+"/api/auth/session", "", firefox.cookie, `{"deviceKey":"`+firefox.deviceKey+`"}`, "Origin", s.url); st != 401 || !strings.Contains(body, "signed out") {
		t.Fatalf("revoked cookie: %d %s, want 401 signed out", st, body)
	}
	if st, _, _ := call(t, "DELETE", s.url+"/api/auth/sessions/"+firefoxID, chrome.token, "", ""); st != 404 {
		t.Fatalf("revoking twice: %d, want 404", st)
	}
	// Chrome is untouched.
	if st, _, _ := call(t, "POST", s.url+"/api/auth/session", "", chrome.cookie, `{"deviceKey":"`+chrome.deviceKey+`"}`, "Origin", s.url); st != 200 {
		t.Fatalf("the other session's cookie: %d", st)
	}

	// The CLI lists what is left.
	out, err := exec.Command(binary, "sessions", "list", "--data-dir", dataDir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), chromeID) || strings.Contains(string(out), firefoxID) || !strings.Contains(string(out), "Chrome 131 on Linux") {
		t.Fatalf("sessions list: %v\n%s", err, out)
	}

	// Sign out (this browser): its own session is revoked and the cookie cleared.
	st, _, h := call(t, "POST", s.url+"/api/auth/logout", chrome.token, chrome.cookie, "", "Origin", s.url)
	if st != 204 || !strings.Contains(h.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout: %d %q", st, h.Get("Set-Cookie"))
	}
	if st, _, _ := call(t, "GET", s.url+"/api/projects", chrome.token, "", ""); st != 401 {
		t.Fatalf("token after sign out: %d, want 401", st)
	}

	// After a restart the revoked cookies stay refused.
	s.stop(t, os.Interrupt)
	s = startServe(t, dataDir)
	defer s.stop(t, os.Interrupt)
	for _, b := range []browserLogin{chrome, firefox} {
		if st, _, _ := call(t, "POST", s.url+"/api/auth/session", "", b.cookie, `{"deviceKey":"`+b.deviceKey+`"}`, "Origin", s.url); st != 401 {
			t.Fatalf("a revoked cookie after restart: %d, want 401", st)
		}
	}

	// `flowweaver sessions revoke --all` signs out every browser.
	edge := loginAs(t, s, s.loginURL, chromeUA+" Edg/131.0.0.0", strings.Repeat("e", 43))
	out, err = exec.Command(binary, "sessions", "revoke", "--all", "--data-dir", dataDir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "signed out 1 browser session") {
		t.Fatalf("sessions revoke --all: %v %s", err, out)
	}
	if st, _, _ := call(t, "GET", s.url+"/api/projects", edge.token, "", ""); st != 401 {
		t.Fatalf("token after revoke --all: %d, want 401", st)
	}
	if out, err := exec.Command(binary, "sessions", "revoke", "--data-dir", dataDir).CombinedOutput(); err == nil {
		t.Fatalf("revoke without ids or --all succeeded: %s", out)
	}
}
