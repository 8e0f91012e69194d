package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKill9MidForEachKeepsFinishedChildren: a real serve is killed with
// SIGKILL in the middle of a forEach; the restarted serve resumes the
// parent run, which reuses the child runs that had finished (their shell
// command ran exactly once) and completes every item, one child run each.
func TestKill9MidForEachKeepsFinishedChildren(t *testing.T) {
	dataDir, projectDir := t.TempDir(), t.TempDir()
	s := startServe(t, dataDir, "--workers", "2")
	tok := mintToken(t, dataDir)
	pid := createTrustedProject(t, s.url, tok, "loop", projectDir)
	// Items from 10 on wait for go.txt, which appears only after the kill:
	// the kill always lands mid-loop, whatever the machine's speed.
	item := `{"name":"item","nodes":[{"id":"work","tool":"shell","params":{"command":"echo {{ inputs.index }} >> items.txt; [ {{ inputs.index }} -lt 10 ] || while [ ! -f go.txt ]; do sleep 0.05; done"}}],"edges":[]}`
	loop := `{"name":"loop","nodes":[
		{"id":"list","tool":"transform","params":{"expression":"1..40"}},
		{"id":"each","tool":"forEach","params":{"items":"{{ nodes.list.output }}","workflowId":"item","concurrency":4}}],
		"edges":[{"source":"list","target":"each"}]}`
	for id, body := range map[string]string{"item": item, "loop": loop} {
		if code, res := sendJSON(t, "PUT", s.url+"/api/projects/"+pid+"/workflows/"+id, tok, body); code != 200 {
			t.Fatalf("workflow %s: %d %v", id, code, res)
		}
	}
	code, res := sendJSON(t, "POST", s.url+"/api/projects/"+pid+"/workflows/loop/runs", tok, `{}`)
	if code != 202 {
		t.Fatalf("run: %d %v", code, res)
	}
	runID := res["runId"].(string)
	children := func(url string) map[string]string { // child run id -> status
		out := map[string]string{}
		_, page := getJSON(t, url+"/api/projects/"+pid+"/runs?limit=500&parentRunId="+runID, tok)
		runs, _ := page["runs"].([]any)
		for _, r := range runs {
			m := r.(map[string]any)
			out[m["id"].(string)] = m["status"].(string)
		}
		return out
	}
	deadline := time.Now().Add(90 * time.Second)
	finished := map[string]bool{}
	for len(finished) < 8 {
		if time.Now().After(deadline) {
			t.Fatal("children did not finish")
		}
		for id, st := range children(s.url) {
			if st == "succeeded" {
				finished[id] = true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	if len(finished) >= 40 {
		t.Fatal("the loop ended before the kill; the test proves nothing")
	}
	lines, _ := os.ReadFile(filepath.Join(projectDir, "items.txt"))
	before := strings.Count(string(lines), "\n")
	if err := os.WriteFile(filepath.Join(projectDir, "go.txt"), []byte("go"), 0o644); err != nil {
		t.Fatal(err)
	}

	s2 := startServe(t, dataDir, "--workers", "2")
	deadline = time.Now().Add(120 * time.Second)
	for {
		_, run := getJSON(t, s2.url+"/api/runs/"+runID, tok)
		if run["status"] == "succeeded" {
			break
		}
		if run["status"] == "failed" || run["status"] == "canceled" || time.Now().After(deadline) {
			t.Fatalf("run after restart: %v", run)
		}
		time.Sleep(50 * time.Millisecond)
	}
	kids := children(s2.url)
	if len(kids) != 40 {
		t.Fatalf("%d child runs, want one per item (40)", len(kids))
	}
	for id := range finished {
		if kids[id] != "succeeded" {
			t.Errorf("finished child %s is now %s", id, kids[id])
		}
	}
	lines, _ = os.ReadFile(filepath.Join(projectDir, "items.txt"))
	count := map[string]int{}
	for _, l := range strings.Fields(string(lines)) {
		count[l]++
	}
	for i := 0; i < 40; i++ {
		if count[fmt.Sprint(i)] == 0 {
			t.Errorf("item %d never ran", i)
		}
	}
	// Only the children caught running by the kill (at most concurrency 4)
	// ran their command again; the finished ones did not.
	if total := strings.Count(string(lines), "\n"); total > 40+4 || total < before {
		t.Errorf("%d command runs for 40 items (%d before the kill)", total, before)
	}
	if code := s2.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestDocsControlFlowExamplesRun pastes every workflow example of the
// control flow section of docs/workflows.md into a project of a real
// serve, runs each with the inputs the doc names and checks the outcome
// the doc promises.
func TestDocsControlFlowExamplesRun(t *testing.T) {
	doc, err := os.ReadFile("docs/workflows.md")
	if err != nil {
		t.Fatal(err)
	}
	sec := string(doc)
	sec = sec[strings.Index(sec, "## Control flow"):strings.Index(sec, "## Versions and conflicts")]
	ids := map[string]string{"Handled failure": "handled", "Deploy on main": "deploy-on-main", "Release by bump": "release-by-bump",
		"Release": "release", "Build and release": "build-and-release", "Build one package": "build-package", "Build every package": "build-every-package"}
	dataDir, projectDir := t.TempDir(), t.TempDir()
	s := startServe(t, dataDir)
	tok := mintToken(t, dataDir)
	pid := createTrustedProject(t, s.url, tok, "docs", projectDir)
	for _, block := range strings.Split(sec, "```json\n")[1:] {
		body := block[:strings.Index(block, "```")]
		if !strings.Contains(body, `"nodes"`) {
			continue
		}
		var name string
		if i := strings.Index(body, `"name": "`); i >= 0 {
			name = body[i+9 : i+9+strings.Index(body[i+9:], `"`)]
		}
		id, ok := ids[name]
		if !ok {
			t.Fatalf("example %q has no id in this test", name)
		}
		if code, res := sendJSON(t, "PUT", s.url+"/api/projects/"+pid+"/workflows/"+id, tok, body); code != 200 {
			t.Fatalf("example %s: %d %v", id, code, res)
		}
	}
	runOf := func(id, inputs string) map[string]any {
		code, res := sendJSON(t, "POST", s.url+"/api/projects/"+pid+"/workflows/"+id+"/runs", tok, `{"inputs":`+inputs+`}`)
		if code != 202 {
			t.Fatalf("run %s: %d %v", id, code, res)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			_, run := getJSON(t, s.url+"/api/runs/"+res["runId"].(string), tok)
			if st, _ := run["status"].(string); st == "succeeded" || st == "failed" || st == "canceled" {
				return run
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s stuck: %v", id, run)
			}
			time.Sleep(30 * time.Millisecond)
		}
	}
	expect := func(run map[string]any, status string, nodes map[string]string, outputs map[string]string) {
		t.Helper()
		if run["status"] != status {
			t.Errorf("%s: run %v (%v), want %s", run["workflowId"], run["status"], run["error"], status)
		}
		for _, n := range run["nodes"].([]any) {
			m := n.(map[string]any)
			id := m["nodeId"].(string)
			if want, ok := nodes[id]; ok && m["status"] != want {
				t.Errorf("%s: node %s %v (%v), want %s", run["workflowId"], id, m["status"], m["error"], want)
			}
			if want, ok := outputs[id]; ok && !strings.Contains(fmt.Sprint(m["output"]), want) {
				t.Errorf("%s: node %s output %v, want it to contain %q", run["workflowId"], id, m["output"], want)
			}
		}
	}
	expect(runOf("handled", `{}`), "succeeded", map[string]string{"build": "failed", "deploy": "skipped", "notify": "succeeded", "cleanup": "succeeded"},
		map[string]string{"notify": "build failed: "})
	expect(runOf("deploy-on-main", `{"branch":"main"}`), "succeeded", map[string]string{"deploy": "succeeded", "skipDeploy": "skipped", "report": "succeeded"}, nil)
	expect(runOf("deploy-on-main", `{"branch":"dev"}`), "succeeded", map[string]string{"deploy": "skipped", "skipDeploy": "succeeded", "report": "succeeded"}, nil)
	expect(runOf("release-by-bump", `{"bump":"minor"}`), "succeeded", map[string]string{"minor": "succeeded", "patch": "skipped", "unknown": "skipped"}, nil)
	expect(runOf("release-by-bump", `{"bump":"huge"}`), "succeeded", map[string]string{"unknown": "succeeded", "minor": "skipped"}, nil)
	expect(runOf("build-and-release", `{}`), "succeeded", nil, map[string]string{"announce": "released v1.4.0"})
	expect(runOf("build-every-package", `{}`), "succeeded", nil, map[string]string{"summary": "3 of 3 built"})
	if code := s.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
