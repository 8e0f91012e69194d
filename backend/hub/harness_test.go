package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/store/storetest"
)

func TestMain(m *testing.M) {
	storetest.Main(m)
}

// hangGuard bounds every wait in these tests. It is a guard against hangs,
// not a timing assertion: a busy machine only makes tests slower.
const hangGuard = 60 * time.Second

// fakeVerifier accepts tokens "ok.<subject>.<session>[.<expUnixMilli>]" and
// answers "expired..." with token_expired. The real one (backend/auth) is
// written by the lead.
type fakeVerifier struct{}

func (fakeVerifier) Verify(tok string) (*flow.Principal, error) {
	parts := strings.Split(tok, ".")
	if parts[0] == "expired" {
		return nil, flow.Errorf(flow.ETOKENEXPIRED, "token expired")
	}
	if parts[0] != "ok" || len(parts) < 3 {
		return nil, flow.Errorf(flow.EUNAUTHORIZED, "invalid token")
	}
	p := &flow.Principal{Subject: parts[1], SessionID: parts[2], TokenID: tok, ExpiresAt: time.Now().Add(time.Hour)}
	if len(parts) > 3 {
		ms, err := strconv.ParseInt(parts[3], 10, 64)
		if err != nil {
			return nil, flow.Errorf(flow.EUNAUTHORIZED, "invalid token")
		}
		p.ExpiresAt = time.UnixMilli(ms)
		if time.Now().After(p.ExpiresAt) {
			return nil, flow.Errorf(flow.ETOKENEXPIRED, "token expired")
		}
	}
	return p, nil
}

// fakeCommands stands in for the engine/workflow services (written by
// others) over the real store: runs exist once started, StartRun appends a
// real durable run.queued event, workflows keep a version.
type fakeCommands struct {
	db *store.DB

	mu        sync.Mutex
	runs      map[string]string // runID -> projectID
	workflows map[string]int64  // projectID/workflowID -> version
	n         int
}

func newFakeCommands(db *store.DB) *fakeCommands {
	return &fakeCommands{db: db, runs: map[string]string{}, workflows: map[string]int64{}}
}

func (f *fakeCommands) addRun(projectID, runID string) {
	f.mu.Lock()
	f.runs[runID] = projectID
	f.mu.Unlock()
}

func (f *fakeCommands) ListTools(ctx context.Context, projectID string) ([]flow.Tool, error) {
	return []flow.Tool{{Name: "delay", Title: "Delay", Description: "waits", InputSchema: json.RawMessage(`{"type":"object"}`), Source: "builtin"}}, nil
}

func (f *fakeCommands) StartRun(ctx context.Context, projectID, workflowID string, inputs map[string]any) (*flow.Run, error) {
	if workflowID == "missing" {
		return nil, flow.Errorf(flow.ENOTFOUND, "workflow %q not found", workflowID)
	}
	f.mu.Lock()
	f.n++
	id := fmt.Sprintf("r%d", f.n)
	f.runs[id] = projectID
	f.mu.Unlock()
	ev := flow.NewEvent(projectID, flow.EventRunQueued, id, workflowID, map[string]string{"runId": id, "workflowId": workflowID})
	if err := f.db.AppendEvent(ctx, &ev); err != nil {
		return nil, err
	}
	return &flow.Run{ID: id, ProjectID: projectID, WorkflowID: workflowID, Status: flow.RunQueued}, nil
}

func (f *fakeCommands) CancelRun(ctx context.Context, projectID, runID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.runs[runID] != projectID {
		return flow.Errorf(flow.ENOTFOUND, "run %q not found", runID)
	}
	return nil
}

func (f *fakeCommands) SaveWorkflow(ctx context.Context, projectID, workflowID string, wf json.RawMessage, baseVersion int64, by string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Contains(string(wf), `"invalid"`) {
		return 0, &flow.Error{Code: flow.EINVALID, Message: "workflow is invalid", Details: []flow.Problem{{Field: "nodes[0].tool", Node: "a", Message: "unknown tool"}}}
	}
	key := projectID + "/" + workflowID
	cur := f.workflows[key]
	if baseVersion >= 0 && baseVersion != cur {
		return 0, &flow.Error{Code: flow.ECONFLICT, Message: "workflow changed", Details: flow.WorkflowConflict{Version: cur, Workflow: &flow.Workflow{ID: workflowID, Name: "current", Version: cur}}}
	}
	f.workflows[key] = cur + 1
	return cur + 1, nil
}

func (f *fakeCommands) Snapshot(ctx context.Context, projectID, channel string) (any, error) {
	kind, id := flow.SplitChannel(channel)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch kind {
	case flow.ChannelProject:
		return map[string]any{"runs": []any{}}, nil
	case flow.ChannelTools:
		return map[string]any{"tools": []any{}}, nil
	case flow.ChannelRun:
		if f.runs[id] == projectID {
			return map[string]any{"id": id, "status": "running"}, nil
		}
	case flow.ChannelWorkflow:
		if v, ok := f.workflows[projectID+"/"+id]; ok {
			return map[string]any{"version": v}, nil
		}
	}
	return nil, flow.Errorf(flow.ENOTFOUND, "%s not found", channel)
}

// env is one running hub over a real SQLite file and a real listener.
type env struct {
	t    testing.TB
	db   *store.DB
	hub  *Hub
	srv  *httptest.Server
	cmds *fakeCommands
}

func newEnv(t *testing.T, mod func(*Config), projects ...string) *env {
	t.Helper()
	return newEnvTB(t, mod, projects...)
}

func newEnvTB(t testing.TB, mod func(*Config), projects ...string) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.DSN(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range projects {
		if err := db.CreateProject(ctx, &flow.Project{ID: p, Name: p, Path: "/tmp/" + p}); err != nil {
			t.Fatal(err)
		}
	}
	cmds := newFakeCommands(db)
	cfg := Config{
		Verifier: fakeVerifier{},
		Projects: ProjectsFunc(func(ctx context.Context, id string) (bool, error) {
			_, err := db.Project(ctx, id)
			if flow.ErrorCode(err) == flow.ENOTFOUND {
				return false, nil
			}
			return err == nil, err
		}),
		Log:      db,
		Commands: cmds,
		Stats:    func() any { return map[string]int{"queued": 0} },
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mod != nil {
		mod(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db.SetOnCommit(h.Publish)
	mux := http.NewServeMux()
	mux.Handle("/ws", h)
	srv := httptest.NewServer(mux)
	e := &env{t: t, db: db, hub: h, srv: srv, cmds: cmds}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
		_ = db.Close()
	})
	return e
}

func (e *env) wsURL(projectID string) string {
	return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws?projectId=" + projectID
}

// frame is a server frame as a client sees it.
type frame struct {
	Event     string          `json:"event"`
	Channel   string          `json:"channel"`
	ProjectID string          `json:"projectId"`
	Seq       int64           `json:"seq"`
	TS        string          `json:"ts"`
	Ref       string          `json:"ref"`
	Payload   json.RawMessage `json:"payload"`
}

type client struct {
	t  testing.TB
	ws *websocket.Conn
}

func (e *env) dial(projectID, token string) *client {
	e.t.Helper()
	c, err := dialClient(e.wsURL(projectID), token)
	if err != nil {
		e.t.Fatalf("dial %s: %v", projectID, err)
	}
	c.t = e.t
	w := c.read()
	if w.Event != EventWelcome || w.ProjectID != projectID {
		e.t.Fatalf("first frame = %+v, want welcome", w)
	}
	return c
}

func dialClient(url, token string) (*client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(-1)
	return &client{ws: ws}, nil
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(b))
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) readErr() (frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		return frame{}, fmt.Errorf("decode %q: %w", b, err)
	}
	return f, nil
}

func (c *client) read() frame {
	c.t.Helper()
	f, err := c.readErr()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

// expect reads the next frame and checks its event and ref.
func (c *client) expect(event, ref string) frame {
	c.t.Helper()
	f := c.read()
	if f.Event != event || f.Ref != ref {
		c.t.Fatalf("got %s ref=%q payload=%s, want %s ref=%q", f.Event, f.Ref, f.Payload, event, ref)
	}
	return f
}

func (c *client) subscribe(channel string, since *int64, ref string) frame {
	c.t.Helper()
	msg := map[string]any{"event": "subscribe", "channel": channel, "ref": ref}
	if since != nil {
		msg["payload"] = map[string]any{"since": *since}
	}
	c.send(msg)
	return c.expect(EventSubscribed, ref)
}

// closeStatus reads until the connection ends and returns its close code.
func (c *client) closeStatus() websocket.StatusCode {
	for {
		if _, err := c.readErr(); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func (c *client) close() { _ = c.ws.Close(websocket.StatusNormalClosure, "") }

// appendEvents writes n durable events through the real store.
func (e *env) appendEvents(projectID, typ, runID string, n int) []int64 {
	e.t.Helper()
	var seqs []int64
	for i := 0; i < n; i++ {
		ev := flow.NewEvent(projectID, typ, runID, "", map[string]any{"runId": runID, "i": i})
		if err := e.db.AppendEvent(context.Background(), &ev); err != nil {
			e.t.Fatal(err)
		}
		seqs = append(seqs, ev.Seq)
	}
	return seqs
}

// waitFor polls cond until it holds (a hang guard, not a timing assertion).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }

func contextWithGuard() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), hangGuard)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func closeCode(err error) websocket.StatusCode { return websocket.CloseStatus(err) }
