package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/flowweaver/flowweaver/backend/daemon"
)

// hangGuard bounds waits; it is a guard against hangs, not a timing goal.
const hangGuard = 60 * time.Second

type frame struct {
	Event     string          `json:"event"`
	Channel   string          `json:"channel"`
	ProjectID string          `json:"projectId"`
	Seq       int64           `json:"seq"`
	Ref       string          `json:"ref"`
	Payload   json.RawMessage `json:"payload"`
}

type client struct {
	t    testing.TB
	c    *websocket.Conn
	refs int
}

// dial opens a project's WebSocket the way a non-browser client does and
// consumes the welcome frame.
func dial(t testing.TB, d *daemon.Daemon, token, projectID string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	url := strings.Replace(d.URL(), "http://", "ws://", 1) + "/ws?projectId=" + projectID
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", projectID, err, status)
	}
	c.SetReadLimit(1 << 22)
	cl := &client{t: t, c: c}
	t.Cleanup(func() { c.CloseNow() })
	w := cl.read()
	if w.Event != "welcome" || w.ProjectID != projectID {
		t.Fatalf("first frame %+v, want welcome", w)
	}
	return cl
}

func (cl *client) send(event, channel string, payload any) string {
	cl.t.Helper()
	cl.refs++
	ref := fmt.Sprint(cl.refs)
	b, _ := json.Marshal(map[string]any{"event": event, "channel": channel, "payload": payload, "ref": ref})
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := cl.c.Write(ctx, websocket.MessageText, b); err != nil {
		cl.t.Fatalf("write: %v", err)
	}
	return ref
}

func (cl *client) read() frame {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	_, b, err := cl.c.Read(ctx)
	if err != nil {
		cl.t.Fatalf("read: %v", err)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		cl.t.Fatalf("frame %s: %v", b, err)
	}
	return f
}

// until reads frames until pred holds, returning every frame read.
func (cl *client) until(pred func(frame) bool) []frame {
	cl.t.Helper()
	var got []frame
	for {
		f := cl.read()
		got = append(got, f)
		if pred(f) {
			return got
		}
	}
}

func (cl *client) subscribe(channel string, since *int64) frame {
	cl.t.Helper()
	var payload any
	if since != nil {
		payload = map[string]any{"since": *since}
	}
	ref := cl.send("subscribe", channel, payload)
	fs := cl.until(func(f frame) bool { return f.Ref == ref })
	f := fs[len(fs)-1]
	if f.Event != "subscribed" {
		cl.t.Fatalf("subscribe %s: %s %s", channel, f.Event, f.Payload)
	}
	return f
}

type fixture struct {
	t     testing.TB
	d     *daemon.Daemon
	token string
}

func newFixture(t testing.TB) *fixture {
	d := boot(t)
	tok, _, err := d.Token(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, d: d, token: tok}
}

func (f *fixture) project(name string) string {
	f.t.Helper()
	code, p, _ := do(f.t, "POST", f.d.URL()+"/api/projects", f.token, `{"name":"`+name+`","path":"`+f.t.TempDir()+`","trusted":true}`)
	if code != 201 {
		f.t.Fatalf("create project: %d %v", code, p)
	}
	return p["id"].(string)
}

func (f *fixture) workflow(projectID, id, body string) {
	f.t.Helper()
	code, res, _ := do(f.t, "PUT", f.d.URL()+"/api/projects/"+projectID+"/workflows/"+id, f.token, body)
	if code != 200 {
		f.t.Fatalf("save workflow: %d %v", code, res)
	}
}

func (f *fixture) startRun(projectID, workflowID string) string {
	f.t.Helper()
	code, res, _ := do(f.t, "POST", f.d.URL()+"/api/projects/"+projectID+"/workflows/"+workflowID+"/runs", f.token, `{"inputs":{}}`)
	if code != 202 || res["status"] != "queued" {
		f.t.Fatalf("start run: %d %v", code, res)
	}
	return res["runId"].(string)
}

func (f *fixture) connections() (float64, map[string]any) {
	f.t.Helper()
	_, c, _ := do(f.t, "GET", f.d.URL()+"/api/connections", f.token, "")
	return c["total"].(float64), c["projects"].(map[string]any)
}

// eventually polls cond until it holds or the hang guard expires.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fixture) runStatus(runID string) string {
	_, r, _ := do(f.t, "GET", f.d.URL()+"/api/runs/"+runID, f.token, "")
	s, _ := r["status"].(string)
	return s
}

const quickWorkflow = `{"name":"quick","nodes":[{"id":"hello","tool":"log","params":{"message":"hello"}},{"id":"sh","tool":"shell","params":{"command":"echo one; echo two"}}],"edges":[{"source":"hello","target":"sh"}]}`
const slowWorkflow = `{"name":"slow","nodes":[{"id":"first","tool":"log","params":{"message":"start"}},{"id":"wait","tool":"delay","params":{"ms":1500}},{"id":"last","tool":"log","params":{"message":"end"}}],"edges":[{"source":"first","target":"wait"},{"source":"wait","target":"last"}]}`

// Scenario 1: two open projects hold two connections, one each, visible
// in /api/connections and on the system channel.
func TestScenarioTwoProjectsTwoConnections(t *testing.T) {
	f := newFixture(t)
	a, b := f.project("project-a"), f.project("project-b")
	ca := dial(t, f.d, f.token, a)
	dial(t, f.d, f.token, b)
	total, per := f.connections()
	if total != 2 || per[a] != 1.0 || per[b] != 1.0 {
		t.Fatalf("connections: %v %v", total, per)
	}
	ca.subscribe("system", nil)
	fs := ca.until(func(fr frame) bool { return fr.Channel == "system" && fr.Event != "subscribed" })
	var sys struct {
		Connections int            `json:"connections"`
		Projects    map[string]int `json:"projects"`
	}
	if err := json.Unmarshal(fs[len(fs)-1].Payload, &sys); err != nil {
		t.Fatal(err)
	}
	if sys.Connections != 2 || sys.Projects[a] != 1 || sys.Projects[b] != 1 {
		t.Fatalf("system frame %s", fs[len(fs)-1].Payload)
	}
}

// Scenario 2: a run in A reaches only A's connection.
func TestScenarioRunReachesOnlyItsProject(t *testing.T) {
	f := newFixture(t)
	a, b := f.project("project-a"), f.project("project-b")
	ca, cb := dial(t, f.d, f.token, a), dial(t, f.d, f.token, b)
	ca.subscribe("project:"+a, nil)
	cb.subscribe("project:"+b, nil)
	f.workflow(a, "wf", quickWorkflow)
	run := f.startRun(a, "wf")
	ca.subscribe("run:"+run, ptr(0))
	got := ca.until(func(fr frame) bool { return fr.Channel == "run:"+run && fr.Event == "run.completed" })
	seen := map[string]bool{}
	for _, fr := range got {
		if fr.ProjectID != a {
			t.Fatalf("frame of another project on A: %+v", fr)
		}
		seen[fr.Event] = true
	}
	for _, ev := range []string{"run.started", "node.started", "node.completed", "node.log", "run.completed"} {
		if !seen[ev] {
			t.Errorf("A never saw %s", ev)
		}
	}
	// B's next frame is the reply to its ping: nothing of A came before it.
	ref := cb.send("ping", "", nil)
	if fr := cb.read(); fr.Ref != ref || fr.Event != "pong" {
		t.Fatalf("B received %+v before its pong", fr)
	}
	// And B cannot even name A's run channel.
	ref = cb.send("subscribe", "run:"+run, nil)
	if fr := cb.read(); fr.Ref != ref || fr.Event != "error" || !strings.Contains(string(fr.Payload), "forbidden") {
		t.Fatalf("B subscribing to A's run: %+v %s", fr, fr.Payload)
	}
}

// Scenario 3: closing A's tab releases A's connection.
func TestScenarioClosingReleases(t *testing.T) {
	f := newFixture(t)
	a, b := f.project("project-a"), f.project("project-b")
	ca := dial(t, f.d, f.token, a)
	dial(t, f.d, f.token, b)
	_ = ca.c.Close(websocket.StatusNormalClosure, "tab closed")
	eventually(t, "A's connection released", func() bool {
		total, per := f.connections()
		_, hasA := per[a]
		return total == 1 && !hasA && per[b] == 1.0
	})
}

// Scenario 4: the run goes on while nobody watches; coming back shows its
// state in the subscribe snapshot.
func TestScenarioRunContinuesWithoutConnection(t *testing.T) {
	f := newFixture(t)
	a := f.project("project-a")
	f.workflow(a, "wf", slowWorkflow)
	ca := dial(t, f.d, f.token, a)
	run := f.startRun(a, "wf")
	_ = ca.c.Close(websocket.StatusNormalClosure, "switched tab")
	eventually(t, "run finished while the tab was away", func() bool { return f.runStatus(run) == "succeeded" })
	back := dial(t, f.d, f.token, a)
	sub := back.subscribe("run:"+run, nil)
	var p struct {
		Snapshot struct {
			Status string `json:"status"`
			Nodes  []struct {
				NodeID string `json:"nodeId"`
				Status string `json:"status"`
			} `json:"nodes"`
		} `json:"snapshot"`
	}
	if err := json.Unmarshal(sub.Payload, &p); err != nil {
		t.Fatal(err)
	}
	if p.Snapshot.Status != "succeeded" || len(p.Snapshot.Nodes) != 3 {
		t.Fatalf("snapshot %s", sub.Payload)
	}
	for _, n := range p.Snapshot.Nodes {
		if n.Status != "succeeded" {
			t.Fatalf("node %s is %s", n.NodeID, n.Status)
		}
	}
}

// Scenario 5: a connection dropped without a close handshake resumes with
// since: every missed durable event arrives once, in order.
func TestScenarioDropAndResume(t *testing.T) {
	f := newFixture(t)
	a := f.project("project-a")
	f.workflow(a, "wf", slowWorkflow)
	c1 := dial(t, f.d, f.token, a)
	c1.subscribe("project:"+a, nil)
	run := f.startRun(a, "wf")
	c1.subscribe("run:"+run, ptr(0))
	got := c1.until(func(fr frame) bool {
		return fr.Event == "node.completed" && strings.Contains(string(fr.Payload), `"first"`)
	})
	var last int64
	seqs := map[int64]bool{}
	for _, fr := range got {
		if fr.Seq > 0 {
			seqs[fr.Seq] = true
			last = max(last, fr.Seq)
		}
	}
	c1.c.CloseNow() // the network drops: no close frame
	eventually(t, "run finished", func() bool { return f.runStatus(run) == "succeeded" })

	c2 := dial(t, f.d, f.token, a)
	sub := c2.subscribe("run:"+run, &last)
	if !strings.Contains(string(sub.Payload), `"recovered":true`) {
		t.Fatalf("subscribed %s", sub.Payload)
	}
	rest := c2.until(func(fr frame) bool { return fr.Event == "run.completed" })
	prev := last
	for _, fr := range rest {
		if fr.Seq == 0 {
			continue
		}
		if fr.Seq <= prev || seqs[fr.Seq] {
			t.Fatalf("seq %d after %d (duplicate or out of order)", fr.Seq, prev)
		}
		seqs[fr.Seq] = true
		prev = fr.Seq
	}
	// The union is exactly the run channel's history.
	history, err := f.d.Store().EventsAfter(context.Background(), a, "run:"+run, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range history {
		if !seqs[ev.Seq] {
			t.Fatalf("event %d (%s) never delivered", ev.Seq, ev.Type)
		}
	}
	if len(seqs) != len(history) {
		t.Fatalf("delivered %d distinct events, history has %d", len(seqs), len(history))
	}
}

// Scenario 6: ten projects open, three with active runs: three connections
// exist, and the server says so cheaply.
func TestScenarioTenProjectsThreeConnections(t *testing.T) {
	f := newFixture(t)
	var ids []string
	for i := 0; i < 10; i++ {
		ids = append(ids, f.project(fmt.Sprintf("p%d", i)))
	}
	for _, id := range ids[:3] {
		f.workflow(id, "wf", slowWorkflow)
		dial(t, f.d, f.token, id)
		f.startRun(id, "wf")
	}
	total, per := f.connections()
	if total != 3 || len(per) != 3 {
		t.Fatalf("connections %v %v", total, per)
	}
	// The cheap poll a background tab uses shows which projects are active.
	_, list, _ := do(t, "GET", f.d.URL()+"/api/projects", f.token, "")
	active := 0
	for _, p := range list["projects"].([]any) {
		if p.(map[string]any)["activeRuns"].(float64) > 0 {
			active++
		}
	}
	if active > 3 {
		t.Fatalf("%d projects report active runs", active)
	}
}

// The handshake checks of docs/websocket.md in order, against the daemon.
func TestHandshakeTable(t *testing.T) {
	f := newFixture(t)
	a := f.project("a")
	port := f.d.URL()[strings.LastIndex(f.d.URL(), ":")+1:]
	cases := []struct {
		name  string
		query string
		opts  []reqOpt
		token string
		want  int
	}{
		{"rebinding host", "?projectId=" + a, []reqOpt{withHost("evil.example:" + port)}, f.token, 403},
		{"foreign origin", "?projectId=" + a, []reqOpt{withHeader("Origin", "http://evil.example")}, f.token, 403},
		{"no token", "?projectId=" + a, nil, "", 401},
		{"garbage token", "?projectId=" + a, nil, "garbage", 401},
		{"token in query ignored", "?projectId=" + a + "&token=" + f.token + "&access_token=" + f.token, nil, "", 401},
		{"missing projectId", "", nil, f.token, 400},
		{"unknown project", "?projectId=nope", nil, f.token, 404},
	}
	for _, tc := range cases {
		opts := append([]reqOpt{withHeader("Connection", "Upgrade"), withHeader("Upgrade", "websocket"),
			withHeader("Sec-WebSocket-Version", "13"), withHeader("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")}, tc.opts...)
		code, body, hdr := do(t, "GET", f.d.URL()+"/ws"+tc.query, tc.token, "", opts...)
		if code != tc.want {
			t.Errorf("%s: %d, want %d (%v)", tc.name, code, tc.want, body)
			continue
		}
		if body["error"] == nil || body["message"] == nil {
			t.Errorf("%s: body %v is not a JSON error", tc.name, body)
		}
		if code == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: no WWW-Authenticate", tc.name)
		}
	}
	// Browser style: the token rides in Sec-WebSocket-Protocol and the
	// server selects flowweaver.v1.
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	url := strings.Replace(f.d.URL(), "http://", "ws://", 1) + "/ws?projectId=" + a
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: []string{"flowweaver.v1", "bearer." + f.token},
		HTTPHeader:   http.Header{"Origin": {f.d.URL()}},
	})
	if err != nil {
		t.Fatalf("browser-style dial: %v", err)
	}
	defer c.CloseNow()
	if c.Subprotocol() != "flowweaver.v1" {
		t.Fatalf("selected subprotocol %q", c.Subprotocol())
	}
	// The desktop webview origin may connect too.
	c2, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: []string{"flowweaver.v1", "bearer." + f.token},
		HTTPHeader:   http.Header{"Origin": {"wails://wails"}},
	})
	if err != nil {
		t.Fatalf("webview-origin dial: %v", err)
	}
	c2.CloseNow()
}

// Deleting a project closes its sockets with 4004.
func TestProjectDeleteClosesSockets(t *testing.T) {
	f := newFixture(t)
	a := f.project("a")
	ca := dial(t, f.d, f.token, a)
	if code, _, _ := do(t, "DELETE", f.d.URL()+"/api/projects/"+a, f.token, ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	for {
		_, _, err := ca.c.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != 4004 {
				t.Fatalf("close: %v", err)
			}
			return
		}
	}
}

func ptr(v int64) *int64 { return &v }

// A node's duration reaches both its checkpoint and its node.completed
// event (a delay node cannot take less than its delay).
func TestNodeDurationRecorded(t *testing.T) {
	f := newFixture(t)
	a := f.project("a")
	f.workflow(a, "wf", `{"name":"d","nodes":[{"id":"wait","tool":"delay","params":{"ms":60}}],"edges":[]}`)
	run := f.startRun(a, "wf")
	eventually(t, "run succeeded", func() bool { return f.runStatus(run) == "succeeded" })
	_, r, _ := do(t, "GET", f.d.URL()+"/api/runs/"+run, f.token, "")
	node := r["nodes"].([]any)[0].(map[string]any)
	if node["durationMs"].(float64) < 60 {
		t.Fatalf("checkpoint durationMs = %v", node["durationMs"])
	}
	evs, err := f.d.Store().EventsAfter(context.Background(), a, "run:"+run, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Type == "node.completed" {
			var p struct{ DurationMs int64 }
			if err := json.Unmarshal(ev.Payload, &p); err != nil {
				t.Fatal(err)
			}
			if p.DurationMs < 60 {
				t.Fatalf("node.completed durationMs = %d: %s", p.DurationMs, ev.Payload)
			}
			return
		}
	}
	t.Fatal("no node.completed event")
}

// GET /api/projects counts each project's queued and running runs: the
// cheap poll background tabs rely on.
func TestProjectsReportActiveRuns(t *testing.T) {
	f := newFixture(t)
	a, b := f.project("a"), f.project("b")
	f.workflow(a, "wf", slowWorkflow)
	run := f.startRun(a, "wf")
	counts := func() map[string]float64 {
		_, list, _ := do(t, "GET", f.d.URL()+"/api/projects", f.token, "")
		out := map[string]float64{}
		for _, p := range list["projects"].([]any) {
			m := p.(map[string]any)
			out[m["id"].(string)] = m["activeRuns"].(float64)
		}
		return out
	}
	if c := counts(); c[a] != 1 || c[b] != 0 {
		t.Fatalf("while running: %v", c)
	}
	if _, p, _ := do(t, "GET", f.d.URL()+"/api/projects/"+a, f.token, ""); p["activeRuns"] != 1.0 {
		t.Fatalf("GET project while running: %v", p)
	}
	eventually(t, "run finished", func() bool { return f.runStatus(run) == "succeeded" })
	if c := counts(); c[a] != 0 || c[b] != 0 {
		t.Fatalf("after the run: %v", c)
	}
}
