//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// clusterEnv is two or more `flowweaver serve` processes on one PostgreSQL
// database, each with its own data dir, serving one trusted project whose
// folder every node sees (the same path on one machine).
type clusterEnv struct {
	t          *testing.T
	dsn        string
	projectDir string
	dataDirs   []string
	nodes      []*server
	tok        string
	projectID  string
}

func newClusterEnv(t *testing.T, dsn string, nodes int) *clusterEnv {
	t.Helper()
	e := &clusterEnv{t: t, dsn: dsn, projectDir: t.TempDir()}
	for range nodes {
		e.addNode()
	}
	// The signing key is the cluster's: a token from node 0's data dir
	// works on every node.
	e.tok = mintToken(t, e.dataDirs[0])
	e.projectID = createTrustedProject(t, e.nodes[0].url, e.tok, "cluster", e.projectDir)
	e.waitEveryNodeSeesTheProject()
	return e
}

// waitEveryNodeSeesTheProject waits until every node advertises the
// project's folder. The node that created the project advertises it at
// once, the others at their next advertisement (every 2 s); until then
// only the first node may claim the project's jobs, and on a quiet machine
// it can drain a whole test's runs alone in that window.
func (e *clusterEnv) waitEveryNodeSeesTheProject() {
	e.t.Helper()
	want := map[string]bool{e.projectDir: true}
	if p, err := filepath.EvalSymlinks(e.projectDir); err == nil {
		want[p] = true
	}
	waitUntil(e.t, "every node to advertise the project folder", func() bool {
		code, res := getJSON(e.t, e.nodes[0].url+"/api/queue", e.tok)
		if code != 200 {
			return false
		}
		nodes, _ := res["nodes"].([]any)
		seeing := 0
		for _, n := range nodes {
			m, _ := n.(map[string]any)
			if alive, _ := m["alive"].(bool); !alive {
				continue
			}
			paths, isList := m["paths"].([]any)
			if !isList && m["paths"] == nil { // null: the node takes every project's jobs
				seeing++
				continue
			}
			for _, p := range paths {
				if s, _ := p.(string); want[s] {
					seeing++
					break
				}
			}
		}
		return seeing >= len(e.nodes)
	})
}

// addNode starts one more serve on the database with a fresh data dir.
func (e *clusterEnv) addNode() *server {
	e.t.Helper()
	dir := e.t.TempDir()
	s := startServe(e.t, dir, "--db", e.dsn)
	e.dataDirs = append(e.dataDirs, dir)
	e.nodes = append(e.nodes, s)
	return s
}

// workflow saves a workflow of the project through node 0.
func (e *clusterEnv) workflow(id, body string) {
	e.t.Helper()
	if code, res := sendJSON(e.t, "PUT", e.nodes[0].url+"/api/projects/"+e.projectID+"/workflows/"+id, e.tok, body); code != 200 {
		e.t.Fatalf("workflow %s: %d %v", id, code, res)
	}
}

// tryStartRun starts a run through a node without failing the test (it
// may run in a goroutine, or while PostgreSQL is down): the run id if the
// node acknowledged it (202), else the status and error.
func (e *clusterEnv) tryStartRun(node *server, workflowID string) (string, int, error) {
	req, _ := http.NewRequest("POST", node.url+"/api/projects/"+e.projectID+"/workflows/"+workflowID+"/runs", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+e.tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 202 {
		return "", resp.StatusCode, fmt.Errorf("start run: %d %s", resp.StatusCode, b)
	}
	var res struct {
		RunID string `json:"runId"`
	}
	if err := json.Unmarshal(b, &res); err != nil || res.RunID == "" {
		return "", resp.StatusCode, fmt.Errorf("start run: %s", b)
	}
	return res.RunID, 202, nil
}

// runs lists every run of the project (all pages) by id -> status.
func (e *clusterEnv) runs(node *server) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	cursor := ""
	for {
		_, page := getJSON(e.t, node.url+"/api/projects/"+e.projectID+"/runs?limit=500&cursor="+cursor, e.tok)
		list, _ := page["runs"].([]any)
		for _, r := range list {
			m := r.(map[string]any)
			out[m["id"].(string)], _ = m["status"].(string)
		}
		next, _ := page["next"].(string)
		if next == "" || len(list) == 0 {
			return out
		}
		cursor = next
	}
}

// logEvents reads the durable log of a channel through a node's REST API.
func (e *clusterEnv) logEvents(node *server, channel string) []wsFrame {
	e.t.Helper()
	var out []wsFrame
	since := int64(0)
	for {
		req, _ := http.NewRequest("GET", node.url+"/api/projects/"+e.projectID+"/events?channel="+channel+"&since="+strconv.FormatInt(since, 10), nil)
		req.Header.Set("Authorization", "Bearer "+e.tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			e.t.Fatal(err)
		}
		var page struct {
			Events []wsFrame `json:"events"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		_ = resp.Body.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, page.Events...)
		if len(page.Events) < 1000 {
			return out
		}
		since = page.Events[len(page.Events)-1].Seq
	}
}

// marks reads the lines the workflows' shell nodes append to marks.txt in
// the project folder: fields per line.
func (e *clusterEnv) marks() [][]string {
	b, _ := os.ReadFile(filepath.Join(e.projectDir, "marks.txt"))
	var out [][]string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// wsFrame is a server frame (or a logged event: same field names).
type wsFrame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Seq     int64           `json:"seq"`
	Ref     string          `json:"ref"`
	Payload json.RawMessage `json:"payload"`
}

// wsClient is a project socket that records every frame it reads.
type wsClient struct {
	t    *testing.T
	c    *websocket.Conn
	refs int

	mu      sync.Mutex
	frames  []wsFrame
	readErr error
	update  chan struct{}
}

func dialNode(t *testing.T, node *server, tok, projectID string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := strings.Replace(node.url, "http://", "ws://", 1) + "/ws?projectId=" + projectID
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(1 << 22)
	w := &wsClient{t: t, c: c, update: make(chan struct{}, 1)}
	go w.readLoop()
	t.Cleanup(func() { c.CloseNow() })
	return w
}

func (w *wsClient) readLoop() {
	for {
		_, b, err := w.c.Read(context.Background())
		w.mu.Lock()
		if err != nil {
			w.readErr = err
			w.mu.Unlock()
			return
		}
		var f wsFrame
		if json.Unmarshal(b, &f) == nil {
			w.frames = append(w.frames, f)
		}
		w.mu.Unlock()
		select {
		case w.update <- struct{}{}:
		default:
		}
	}
}

// waitFrame waits until some frame satisfies pred and returns it.
func (w *wsClient) waitFrame(what string, pred func(wsFrame) bool) wsFrame {
	w.t.Helper()
	deadline := time.After(180 * time.Second)
	for {
		w.mu.Lock()
		for _, f := range w.frames {
			if pred(f) {
				w.mu.Unlock()
				return f
			}
		}
		err := w.readErr
		w.mu.Unlock()
		if err != nil {
			w.t.Fatalf("socket closed waiting for %s: %v", what, err)
		}
		select {
		case <-w.update:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			w.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// subscribe joins a channel and returns the subscribed reply.
func (w *wsClient) subscribe(channel string) wsFrame {
	w.t.Helper()
	w.refs++
	ref := "s" + strconv.Itoa(w.refs)
	b, _ := json.Marshal(map[string]any{"event": "subscribe", "channel": channel, "ref": ref})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatal(err)
	}
	f := w.waitFrame("subscribed "+channel, func(f wsFrame) bool { return f.Ref == ref })
	if f.Event != "subscribed" {
		w.t.Fatalf("subscribe %s: %s %s", channel, f.Event, f.Payload)
	}
	return f
}

// channelFrames returns the durable frames received on a channel.
func (w *wsClient) channelFrames(channel string) []wsFrame {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []wsFrame
	for _, f := range w.frames {
		if f.Channel == channel && f.Seq > 0 {
			out = append(out, f)
		}
	}
	return out
}

// checkSameEvents fails unless got is exactly want (seq and type, in order).
func checkSameEvents(t *testing.T, what string, got, want []wsFrame) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d events on the socket, %d in the log", what, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i].Seq != want[i].Seq || got[i].Event != want[i].Event {
			t.Fatalf("%s: event %d is seq %d %s on the socket, seq %d %s in the log", what, i, got[i].Seq, got[i].Event, want[i].Seq, want[i].Event)
		}
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// containsRun reports whether a run event's payload names runID.
func containsRun(payload []byte, runID string) bool {
	var p struct {
		RunID string `json:"runId"`
	}
	return json.Unmarshal(payload, &p) == nil && p.RunID == runID
}
