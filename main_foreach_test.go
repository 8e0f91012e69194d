package main

import (
	"fmt"
	"os"
	"os/exec"
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
	out, err := exec.Command(binary, "token", "--data-dir", dataDir, "--ttl", "10m").Output()
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(out))
	code, p := sendJSON(t, "POST", s.url+"/api/projects", tok, `{"name":"loop","path":"`+projectDir+`","trusted":true}`)
	if code != 201 {
		t.Fatalf("project: %d %v", code, p)
	}
	pid := p["id"].(string)
	item := `{"name":"item","nodes":[{"id":"work","tool":"shell","params":{"command":"echo {{ inputs.index }} >> items.txt && sleep 0.2"}}],"edges":[]}`
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
