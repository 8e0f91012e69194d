package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
)

func logNode(id string) flow.Node {
	return flow.Node{ID: id, Tool: "log", Params: map[string]any{"message": id}}
}

func edge(s, t, on string) flow.Edge { return flow.Edge{Source: s, Target: t, On: on} }

// TestControlFlowTable runs the edge semantics: branches with joins,
// switch with default, failure and always edges, nested skips, handled
// and unhandled failures.
func TestControlFlowTable(t *testing.T) {
	ifJoin := &flow.Workflow{Name: "if", Nodes: []flow.Node{
		{ID: "check", Tool: "if", Params: map[string]any{"condition": "inputs.flag"}},
		logNode("yes"), logNode("no"), logNode("join"),
	}, Edges: []flow.Edge{edge("check", "yes", "true"), edge("check", "no", "false"), edge("yes", "join", ""), edge("no", "join", "")}}
	sw := &flow.Workflow{Name: "switch", Nodes: []flow.Node{
		{ID: "bump", Tool: "switch", Params: map[string]any{"value": "{{ inputs.bump }}", "cases": []any{"patch", "minor"}}},
		logNode("p"), logNode("m"), logNode("d"),
	}, Edges: []flow.Edge{edge("bump", "p", "patch"), edge("bump", "m", "minor"), edge("bump", "d", "default")}}
	handlers := func(first string) *flow.Workflow {
		return &flow.Workflow{Name: "handlers", Nodes: []flow.Node{
			{ID: "a", Tool: first, Params: map[string]any{"message": "a"}}, logNode("onFail"), logNode("cleanup"), logNode("next"),
		}, Edges: []flow.Edge{edge("a", "onFail", "failure"), edge("a", "cleanup", "always"), edge("a", "next", "")}}
	}
	nested := &flow.Workflow{Name: "nested", Nodes: []flow.Node{
		{ID: "check", Tool: "if", Params: map[string]any{"condition": "inputs.flag == true"}},
		logNode("a"), logNode("b"), logNode("c"), logNode("e"), logNode("join"), logNode("after"),
	}, Edges: []flow.Edge{edge("check", "a", "true"), edge("a", "b", ""), edge("b", "c", ""), edge("check", "e", "false"),
		edge("c", "join", ""), edge("e", "join", ""), edge("c", "after", "")}}
	poisonedJoin := func(handled bool) *flow.Workflow {
		wf := &flow.Workflow{Name: "join", Nodes: []flow.Node{
			{ID: "bad", Tool: "fail"}, logNode("ok"), logNode("join"), logNode("after"), logNode("onFail"),
		}, Edges: []flow.Edge{edge("bad", "join", ""), edge("ok", "join", ""), edge("join", "after", "always")}}
		if handled {
			wf.Edges = append(wf.Edges, edge("bad", "onFail", "failure"))
		}
		return wf
	}
	// notify hears of the build either way: after the last step, or
	// straight from a failed build (its failure edge wins over the skip
	// spreading from the failed build).
	notify := func(first string) *flow.Workflow {
		return &flow.Workflow{Name: "notify", Nodes: []flow.Node{
			{ID: "build", Tool: first, Params: map[string]any{"message": "b"}}, logNode("test"), logNode("lint"), logNode("deploy"), logNode("notify"),
		}, Edges: []flow.Edge{edge("build", "test", ""), edge("test", "deploy", ""), edge("lint", "deploy", ""),
			edge("deploy", "notify", ""), edge("build", "notify", "failure")}}
	}
	cases := []struct {
		name   string
		wf     *flow.Workflow
		inputs map[string]any
		run    flow.RunStatus
		nodes  map[string]flow.NodeStatus
		edges  map[string]string // "source>target:on" -> state
	}{
		{"if true joins", ifJoin, map[string]any{"flag": true}, flow.RunSucceeded,
			map[string]flow.NodeStatus{"check": flow.NodeSucceeded, "yes": flow.NodeSucceeded, "no": flow.NodeSkipped, "join": flow.NodeSucceeded},
			map[string]string{"check>yes:true": "taken", "check>no:false": "untaken", "no>join:success": "untaken", "yes>join:success": "taken"}},
		{"if false joins", ifJoin, map[string]any{"flag": false}, flow.RunSucceeded,
			map[string]flow.NodeStatus{"yes": flow.NodeSkipped, "no": flow.NodeSucceeded, "join": flow.NodeSucceeded},
			map[string]string{"check>yes:true": "untaken", "check>no:false": "taken"}},
		{"if on a non-boolean fails", ifJoin, map[string]any{"flag": "yes"}, flow.RunFailed,
			map[string]flow.NodeStatus{"check": flow.NodeFailed, "yes": flow.NodeSkipped, "no": flow.NodeSkipped, "join": flow.NodeSkipped}, nil},
		{"switch case", sw, map[string]any{"bump": "minor"}, flow.RunSucceeded,
			map[string]flow.NodeStatus{"p": flow.NodeSkipped, "m": flow.NodeSucceeded, "d": flow.NodeSkipped}, nil},
		{"switch default", sw, map[string]any{"bump": "huge"}, flow.RunSucceeded,
			map[string]flow.NodeStatus{"p": flow.NodeSkipped, "m": flow.NodeSkipped, "d": flow.NodeSucceeded},
			map[string]string{"bump>d:default": "taken", "bump>p:patch": "untaken"}},
		{"failure handled by failure and always edges", handlers("fail"), nil, flow.RunSucceeded,
			map[string]flow.NodeStatus{"a": flow.NodeFailed, "onFail": flow.NodeSucceeded, "cleanup": flow.NodeSucceeded, "next": flow.NodeSkipped}, nil},
		{"success takes success and always", handlers("log"), nil, flow.RunSucceeded,
			map[string]flow.NodeStatus{"a": flow.NodeSucceeded, "onFail": flow.NodeSkipped, "cleanup": flow.NodeSucceeded, "next": flow.NodeSucceeded}, nil},
		{"nested skips then join", nested, map[string]any{"flag": false}, flow.RunSucceeded,
			map[string]flow.NodeStatus{"a": flow.NodeSkipped, "b": flow.NodeSkipped, "c": flow.NodeSkipped, "e": flow.NodeSucceeded, "join": flow.NodeSucceeded, "after": flow.NodeSkipped}, nil},
		{"unhandled failure fails the run and skips its join", poisonedJoin(false), nil, flow.RunFailed,
			map[string]flow.NodeStatus{"bad": flow.NodeFailed, "ok": flow.NodeSucceeded, "join": flow.NodeSkipped, "after": flow.NodeSkipped}, nil},
		{"failure spreads past a join; a failure edge still runs its target", notify("fail"), nil, flow.RunSucceeded,
			map[string]flow.NodeStatus{"build": flow.NodeFailed, "test": flow.NodeSkipped, "lint": flow.NodeSucceeded, "deploy": flow.NodeSkipped, "notify": flow.NodeSucceeded},
			map[string]string{"build>notify:failure": "taken", "deploy>notify:success": "untaken"}},
		{"no failure: the same workflow runs through", notify("log"), nil, flow.RunSucceeded,
			map[string]flow.NodeStatus{"deploy": flow.NodeSucceeded, "notify": flow.NodeSucceeded}, nil},
		{"handled failure leaves the run succeeded", poisonedJoin(true), nil, flow.RunSucceeded,
			map[string]flow.NodeStatus{"bad": flow.NodeFailed, "onFail": flow.NodeSucceeded, "join": flow.NodeSkipped}, nil},
	}
	e := newEnv(t, "p1")
	en := e.engine(engine.Config{})
	start(t, en)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.wf.ID = "wf"
			e.wfs.put("p1", tc.wf)
			r, err := en.StartRun(context.Background(), "p1", "wf", tc.inputs)
			if err != nil {
				t.Fatal(err)
			}
			got := wait(t, en, r.ID)
			if got.Status != tc.run {
				t.Errorf("run %s (%s), want %s", got.Status, got.Error, tc.run)
			}
			for id, want := range tc.nodes {
				if n := node(got, id); n.Status != want {
					t.Errorf("node %s %s (%s), want %s", id, n.Status, n.Error, want)
				}
			}
			states := map[string]string{}
			for _, es := range got.Edges {
				states[es.Source+">"+es.Target+":"+es.On] = es.State
			}
			for k, want := range tc.edges {
				if states[k] != want {
					t.Errorf("edge %s %q, want %q (all: %v)", k, states[k], want, states)
				}
			}
			// Every skip has its event with a reason, and every end event
			// says which of its edges were taken.
			for _, ev := range runEvents(t, e.db, "p1", r.ID) {
				var p struct {
					NodeID string            `json:"nodeId"`
					Reason string            `json:"reason"`
					Edges  []json.RawMessage `json:"edges"`
				}
				_ = json.Unmarshal(ev.Payload, &p)
				if ev.Type == flow.EventNodeSkipped && p.Reason == "" {
					t.Errorf("node.skipped of %s has no reason", p.NodeID)
				}
				if ev.Type == flow.EventNodeCompleted && p.Edges == nil {
					t.Errorf("node.completed of %s has no edges", p.NodeID)
				}
			}
		})
	}
}

func TestIfBranchEventCarriesBranch(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", &flow.Workflow{ID: "wf", Name: "if", Nodes: []flow.Node{
		{ID: "check", Tool: "if", Params: map[string]any{"condition": "{{ inputs.n > 2 }}"}}, logNode("big"),
	}, Edges: []flow.Edge{edge("check", "big", "true")}})
	en := e.engine(engine.Config{})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "wf", map[string]any{"n": 3})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, en, r.ID)
	evs := runEvents(t, e.db, "p1", r.ID)
	found := false
	for _, ev := range evs {
		if ev.Type == flow.EventNodeCompleted && strings.Contains(string(ev.Payload), `"nodeId":"check"`) {
			found = strings.Contains(string(ev.Payload), `"branch":"true"`) &&
				strings.Contains(string(ev.Payload), `"edges":[{"target":"big","on":"true","taken":true}]`)
			if !found {
				t.Errorf("check's node.completed: %s", ev.Payload)
			}
		}
	}
	if !found {
		t.Errorf("no node.completed of check in %s", types(evs))
	}
}

// TestRerunFromFailedNode: a failed run is started again from its failed
// node with the workflow fixed; the nodes before it keep their results
// (they do not run again), the new run links to the old one.
func TestRerunFromFailedNode(t *testing.T) {
	e := newEnv(t, "p1")
	wf := &flow.Workflow{ID: "wf", Name: "rerun", Nodes: []flow.Node{
		logNode("build"), {ID: "test", Tool: "fail"}, {ID: "report", Tool: "echo", Params: map[string]any{"b": "{{ nodes.build.output.message }}"}},
	}, Edges: []flow.Edge{edge("build", "test", ""), edge("test", "report", "")}}
	e.wfs.put("p1", wf)
	en := e.engine(engine.Config{})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "wf", map[string]any{"x": 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := wait(t, en, r.ID); got.Status != flow.RunFailed {
		t.Fatalf("first run %s", got.Status)
	}
	if _, err := en.RerunFrom(context.Background(), "p1", r.ID, "nope"); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Errorf("unknown node: %v", err)
	}
	fixed := *wf
	fixed.Nodes = append([]flow.Node{}, wf.Nodes...)
	fixed.Nodes[1] = logNode("test")
	e.wfs.put("p1", &fixed)
	r2, err := en.RerunFrom(context.Background(), "p1", r.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	got := wait(t, en, r2.ID)
	if got.Status != flow.RunSucceeded || got.RerunOf != r.ID || got.RerunFrom != "test" || got.Inputs["x"] != float64(1) {
		t.Fatalf("rerun %s %q of=%q from=%q inputs=%v", got.Status, got.Error, got.RerunOf, got.RerunFrom, got.Inputs)
	}
	if n := e.tt.invocations(r2.ID, "build"); n != 0 {
		t.Errorf("build ran %d times in the re-run; its output should be reused", n)
	}
	if string(node(got, "report").Output) != `{"b":"build"}` {
		t.Errorf("report %s: %+v", node(got, "report").Output, got.Nodes)
	}
	if _, err := en.RerunFrom(context.Background(), "p1", r2.ID, "build"); err != nil {
		t.Errorf("re-run from the first node: %v", err)
	}
}
