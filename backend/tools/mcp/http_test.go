package mcp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/tools/mcp/internal/testserver"
)

// httpServer serves the test server over streamable HTTP on 127.0.0.1.
// Cleanups run in reverse: the source (created after this) closes first,
// then hanging handlers are released, then the listener closes.
func httpServer(t testing.TB) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	quit := make(chan struct{})
	srv := testserver.New(testserver.Options{Name: "httpserver", Quit: quit})
	var requests atomic.Int64
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(func() { close(quit) })
	return ts, &requests
}

func TestStreamableHTTPServer(t *testing.T) {
	ts, _ := httpServer(t)
	src, rec := newTestSource(t, Options{
		LookupEnv: func(k string) (string, bool) {
			if k == "FW_API_KEY" {
				return "k3y", true
			}
			return "", false
		},
	})
	p := testProject(t, `{"mcpServers": {"remote": {"type": "http", "url": "`+ts.URL+`", "headers": {"X-Api-Key": "${FW_API_KEY}", "timeout": "ignored"}, "timeout": 1000}}}`)
	ctx := context.Background()

	list, err := src.Tools(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if echo := findTool(list, "mcp:remote/echo"); echo == nil || echo.Source != "mcp:remote" {
		t.Fatalf("tools = %v, status %+v", toolNames(list), src.Status(p.ID))
	}
	if findTool(list, "mcp:remote/crash") != nil {
		t.Error("process-only tools must not be served over HTTP")
	}
	if out := mustRun(t, src, p, "mcp:remote/echo", map[string]any{"text": "over http"}); out["text"] != "over http" {
		t.Errorf("echo = %v", out)
	}
	if out := mustRun(t, src, p, "mcp:remote/header", map[string]any{"name": "X-Api-Key"}); out["text"] != "k3y" {
		t.Errorf("configured header not sent: %v", out)
	}
	_, _, err = run(ctx, src, p, "mcp:remote/fail", map[string]any{"message": "remote says no"})
	if flow.ErrorCode(err) != flow.EINVALID || !strings.Contains(flow.ErrorMessage(err), "remote says no") {
		t.Errorf("isError over http: %v", err)
	}
	out, logs, err := run(ctx, src, p, "mcp:remote/progress", map[string]any{"steps": 2})
	if err != nil || out["text"] != "done" {
		t.Fatalf("progress: %v %v", out, err)
	}
	if got := logs.all(); len(got) != 2 || got[1] != "stdout: progress 2/2: step 2" {
		t.Errorf("progress lines = %q", got)
	}
	_, _, err = run(ctx, src, p, "mcp:remote/hang", nil)
	if flow.ErrorCode(err) != flow.EUNAVAILABLE || !strings.Contains(flow.ErrorMessage(err), "timed out after 1s") {
		t.Errorf("hang over http: %v", err)
	}
	if out := mustRun(t, src, p, "mcp:remote/echo", map[string]any{"text": "still here"}); out["text"] != "still here" {
		t.Errorf("after the timeout: %v", out)
	}
	if st := src.Status(p.ID); len(st) != 1 || st[0].Status != StatusReady || st[0].Type != "http" {
		t.Errorf("status = %+v", st)
	}
	if !rec.sawStatus("remote", StatusReady, "") {
		t.Errorf("statuses = %+v", rec.statuses())
	}
}

func TestHTTPServerUnreachable(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	src, rec := newTestSource(t, Options{})
	p := testProject(t, `{"mcpServers": {"down": {"url": "`+url+`/mcp"}}}`)
	if _, err := src.Tools(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if !rec.sawStatus("down", StatusFailed, "") {
		t.Errorf("statuses = %+v", rec.statuses())
	}
	_, _, err := run(context.Background(), src, p, "mcp:down/echo", nil)
	if flow.ErrorCode(err) != flow.EUNAVAILABLE || !strings.Contains(flow.ErrorMessage(err), "failed to start") {
		t.Errorf("call to an unreachable server: %v", err)
	}
}
