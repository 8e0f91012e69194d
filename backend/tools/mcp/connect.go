package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// connect starts the server (process or HTTP session), initializes it and
// lists its tools.
func (s *server) connect(ctx context.Context) (*instance, []flow.Tool, error) {
	var current atomic.Pointer[instance]
	src := s.p.src
	client := sdk.NewClient(&sdk.Implementation{Name: "flowweaver", Title: "Flow Weaver", Version: src.o.ClientVersion}, &sdk.ClientOptions{
		// No roots, sampling or elicitation: a workflow node has nobody to ask.
		Capabilities: &sdk.ClientCapabilities{},
		ProgressNotificationHandler: func(_ context.Context, req *sdk.ProgressNotificationClientRequest) {
			src.onProgress(req.Params)
		},
		ToolListChangedHandler: func(context.Context, *sdk.ToolListChangedRequest) {
			if inst := current.Load(); inst != nil {
				s.p.spawn(func() { s.refreshTools(inst) })
			}
		},
	})
	inst := &instance{retiredDone: make(chan struct{})}
	var transport sdk.Transport
	switch s.cfg.Type {
	case typeStdio:
		var started func(int) func()
		if src.o.Started != nil {
			pid := s.p.id
			started = func(pgid int) func() { return src.o.Started(pid, pgid) }
		}
		p, err := startProc(s.cfg, src.o.Environ(), started)
		if err != nil {
			return nil, nil, err
		}
		inst.proc = p
		transport = &sdk.IOTransport{Reader: newRPCReader(p.stdout, p.noise, src.tap), Writer: p.stdin}
	default:
		abortCtx, abort := context.WithCancel(context.Background())
		tr := http.DefaultTransport.(*http.Transport).Clone()
		hc := &http.Client{Transport: &headerTransport{base: tr, headers: s.cfg.Headers, abort: abortCtx, tap: src.tap}}
		inst.abort, inst.http = abort, tr
		if s.cfg.Type == typeSSE {
			transport = &sdk.SSEClientTransport{Endpoint: s.cfg.URL, HTTPClient: hc}
		} else {
			transport = &sdk.StreamableClientTransport{Endpoint: s.cfg.URL, HTTPClient: hc}
		}
	}
	session, err := client.Connect(ctx, transport, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("initialize: %v%s", err, inst.cleanupReason())
	}
	inst.session = session
	current.Store(inst)
	list, err := listTools(ctx, s.name, session)
	if err != nil {
		inst.stop(0)
		return nil, nil, fmt.Errorf("list tools: %v%s", err, inst.procReason())
	}
	return inst, list, nil
}

// cleanupReason stops what a failed connect left running and describes how
// the process ended, which is usually the real reason ("exited: exit status
// 1; stderr: Error: Cannot find module ...").
func (i *instance) cleanupReason() string {
	if i.abort != nil {
		i.abort()
		i.http.CloseIdleConnections()
	}
	if i.proc == nil {
		return ""
	}
	i.proc.stop(0)
	return "; " + i.proc.reason()
}

func (i *instance) procReason() string {
	if i.proc == nil {
		return ""
	}
	return "; " + i.proc.reason()
}

func listTools(ctx context.Context, server string, session *sdk.ClientSession) ([]flow.Tool, error) {
	var list []flow.Tool
	for t, err := range session.Tools(ctx, nil) {
		if err != nil {
			return nil, err
		}
		list = append(list, convertTool(server, t))
	}
	sortTools(list)
	return list, nil
}

func convertTool(server string, t *sdk.Tool) flow.Tool {
	title := t.Title
	if title == "" && t.Annotations != nil {
		title = t.Annotations.Title
	}
	if title == "" {
		title = t.Name
	}
	schema, err := json.Marshal(t.InputSchema)
	if err != nil || string(schema) == "null" {
		schema = json.RawMessage(`{"type":"object"}`)
	}
	return flow.Tool{
		Name:        Prefix + server + "/" + t.Name,
		Title:       title,
		Description: t.Description,
		InputSchema: schema,
		Source:      Prefix + server,
	}
}

// refreshTools re-lists the tools after notifications/tools/list_changed.
func (s *server) refreshTools(inst *instance) {
	ctx, cancel := context.WithTimeout(s.ctx, s.p.src.o.StartTimeout)
	defer cancel()
	list, err := listTools(ctx, s.name, inst.session)
	if err != nil {
		s.p.src.o.Logger.Warn("mcp tools/list after list_changed failed", "server", s.name, "err", err)
		return
	}
	s.mu.Lock()
	if s.inst == inst {
		s.tools = list
		s.p.publishStatus(ServerStatus{Server: s.name, File: s.cfg.File, Status: s.state})
	}
	s.mu.Unlock()
	s.p.toolsChanged()
}

// headerTransport adds the configured headers to every request and ties
// requests to the instance, so stopping it aborts calls in flight. The
// session's closing DELETE is exempt (with a short timeout of its own) so
// the server can free the session.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
	abort   context.Context
	tap     func([]byte) // sees every line of every response body
}

func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var ctx context.Context
	var cancel context.CancelFunc
	if req.Method == http.MethodDelete {
		ctx, cancel = context.WithTimeout(context.WithoutCancel(req.Context()), 2*time.Second)
	} else {
		ctx, cancel = context.WithCancel(req.Context())
		stop := context.AfterFunc(t.abort, cancel)
		c := cancel
		cancel = func() { stop(); c() }
	}
	r := req.Clone(ctx)
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: &lineTap{ReadCloser: resp.Body, f: t.tap}, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
