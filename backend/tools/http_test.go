package tools

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// newLocalServer starts an httptest server on 127.0.0.1.
func newLocalServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("server not on 127.0.0.1: %s", srv.URL)
	}
	return srv
}

func TestHTTP(t *testing.T) {
	var gotBody, gotCT, gotHdr, gotMethod string
	srv := newLocalServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody, gotCT, gotHdr, gotMethod = string(b), r.Header.Get("Content-Type"), r.Header.Get("X-Token"), r.Method
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Add("X-Multi", "a")
			w.Header().Add("X-Multi", "b")
			_, _ = w.Write([]byte(`{"items":[1,2],"ok":true}`))
		case "/text":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("not here"))
		case "/bin":
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write([]byte{0xff, 0x00})
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat("z", 100)))
		case "/badjson":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{nope`))
		}
	}))
	reg := NewRegistry(Options{MaxHTTPBody: 50})
	p := testProject(t)

	out, _, err := run(t, reg, p, "http", map[string]any{
		"method": "post", "url": srv.URL + "/json",
		"headers": map[string]any{"X-Token": "t1"},
		"body":    map[string]any{"a": 1.0},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := out.(map[string]any)
	if gotMethod != "POST" || gotBody != `{"a":1}` || gotCT != "application/json" || gotHdr != "t1" {
		t.Errorf("request: %s %q %q %q", gotMethod, gotBody, gotCT, gotHdr)
	}
	body, ok := m["body"].(map[string]any)
	if m["status"] != 200 || !ok || body["ok"] != true || m["bodyEncoding"] != "json" {
		t.Errorf("output = %v", m)
	}
	if h := m["headers"].(map[string]string); h["X-Multi"] != "a, b" {
		t.Errorf("headers = %v", h)
	}

	// Non-2xx is an output, not an error...
	out, _, err = run(t, reg, p, "http", map[string]any{"url": srv.URL + "/text", "body": "raw", "headers": map[string]any{"Content-Type": "text/plain"}})
	if err != nil {
		t.Fatal(err)
	}
	if m := out.(map[string]any); m["status"] != 404 || m["body"] != "not here" || gotBody != "raw" || gotCT != "text/plain" || gotMethod != "GET" {
		t.Errorf("404 output = %v", m)
	}
	// ...unless failOnStatus says so; the response is still returned.
	out, _, err = run(t, reg, p, "http", map[string]any{"url": srv.URL + "/text", "failOnStatus": true})
	wantCode(t, err, EToolFailed, "returned 404 Not Found")
	if out.(map[string]any)["body"] != "not here" {
		t.Errorf("failOnStatus output = %v", out)
	}

	out, _, _ = run(t, reg, p, "http", map[string]any{"url": srv.URL + "/bin"})
	if m := out.(map[string]any); m["body"] != "/wA=" || m["bodyEncoding"] != "base64" {
		t.Errorf("binary = %v", m)
	}
	out, _, _ = run(t, reg, p, "http", map[string]any{"url": srv.URL + "/big"})
	if m := out.(map[string]any); m["body"] != strings.Repeat("z", 50) || m["truncated"] != true {
		t.Errorf("big = %v", m)
	}
	out, _, _ = run(t, reg, p, "http", map[string]any{"url": srv.URL + "/badjson"})
	if m := out.(map[string]any); m["body"] != "{nope" || m["bodyEncoding"] != "text" {
		t.Errorf("bad json = %v", m)
	}
}

func TestHTTPBadParams(t *testing.T) {
	reg := NewRegistry(Options{})
	p := testProject(t)
	cases := []struct {
		params map[string]any
		msg    string
	}{
		{map[string]any{}, "url is required"},
		{map[string]any{"url": "ftp://x/"}, "absolute http:// or https:// URL"},
		{map[string]any{"url": "/relative"}, "absolute http:// or https:// URL"},
		{map[string]any{"url": "http://127.0.0.1/", "method": "TRACE"}, "method must be one of"},
		{map[string]any{"url": "http://127.0.0.1/", "headers": map[string]any{"Bad Name": "x"}}, "not a valid HTTP token"},
		{map[string]any{"url": "http://127.0.0.1/", "headers": map[string]any{"X": "a\r\nInjected: 1"}}, "line break"},
		{map[string]any{"url": "http://127.0.0.1/", "failOnStatus": "yes"}, "failOnStatus must be true or false"},
		{map[string]any{"url": "http://127.0.0.1/", "timeout": 5.0}, `"timeout" is not a param of http`},
	}
	for _, c := range cases {
		_, _, err := run(t, reg, p, "http", c.params)
		wantCode(t, err, flow.EINVALID, c.msg)
	}
}

func TestHTTPUnavailableAndCancel(t *testing.T) {
	// A port that was just free: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	reg := NewRegistry(Options{})
	_, _, err = run(t, reg, testProject(t), "http", map[string]any{"url": "http://user:pw@" + addr + "/"})
	wantCode(t, err, flow.EUNAVAILABLE, "GET http://user:xxxxx@"+addr)
	if strings.Contains(err.Error(), "pw@") {
		t.Errorf("password leaked in error: %v", err)
	}

	release := make(chan struct{})
	srv := newLocalServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = reg.Run(ctx, "http", Call{Project: testProject(t), Params: map[string]any{"url": srv.URL}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	wantCode(t, err, flow.EUNAVAILABLE, "timed out")
}
