package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// hook posts body to a webhook URL and returns status, headers and body.
func hook(t *testing.T, u, contentType, body string, opts ...reqOpt) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// webhookURL lists a workflow's triggers and returns the URL of one.
func (f *fixture) triggerInfo(projectID, workflowID, triggerID string) map[string]any {
	f.t.Helper()
	code, res, _ := do(f.t, "GET", f.d.URL()+"/api/projects/"+projectID+"/workflows/"+workflowID+"/triggers", f.token, "")
	if code != 200 {
		f.t.Fatalf("list triggers: %d %v", code, res)
	}
	for _, x := range res["triggers"].([]any) {
		if m := x.(map[string]any); m["id"] == triggerID {
			return m
		}
	}
	f.t.Fatalf("no trigger %s in %v", triggerID, res)
	return nil
}

const hookWorkflows = `{"name": "hooks",
  "triggers": [
    {"id": "answer", "type": "webhook", "respond": "onCompleted"},
    {"id": "fast", "type": "webhook", "respond": "immediately"}
  ],
  "nodes": [
    {"id": "greet", "tool": "transform", "params": {"expression": "'hello ' + inputs.trigger.body.name"}},
    {"id": "reply", "tool": "respond", "params": {"status": 201, "headers": {"X-Answer": "yes"}, "body": "{{ nodes.greet.output }} via {{ inputs.trigger.query.via }}"}}
  ],
  "edges": [{"source": "greet", "target": "reply"}]}`

func TestWebhookOnCompletedAnswersWithRespondNode(t *testing.T) {
	f := newFixture(t)
	p := f.project("hooks")
	f.workflow(p, "hooks", hookWorkflows)
	info := f.triggerInfo(p, "hooks", "answer")
	u, _ := info["url"].(string)
	if !strings.HasPrefix(u, f.d.URL()+"/hooks/") || len(u) < len(f.d.URL())+40 || info["respond"] != "onCompleted" {
		t.Fatalf("trigger info %v", info)
	}
	code, h, body := hook(t, u+"?via=curl", "application/json", `{"name":"Ada"}`)
	if code != 201 || h.Get("X-Answer") != "yes" || body != "hello Ada via curl" || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("answer: %d %v %q", code, h, body)
	}
	runID := h.Get("X-Flowweaver-Run-Id")
	_, run, _ := do(t, "GET", f.d.URL()+"/api/runs/"+runID, f.token, "")
	tr, _ := run["trigger"].(map[string]any)
	in := run["inputs"].(map[string]any)["trigger"].(map[string]any)
	if tr["type"] != "webhook" || tr["id"] != "answer" || in["body"].(map[string]any)["name"] != "Ada" || in["headers"].(map[string]any)["content-type"] != "application/json" {
		t.Fatalf("run trigger %v, inputs.trigger %v", tr, in)
	}
	// Manual runs say so.
	manual := f.startRun(p, "hooks")
	eventually(t, "manual run ends", func() bool { s := f.runStatus(manual); return s == "succeeded" || s == "failed" })
	_, run, _ = do(t, "GET", f.d.URL()+"/api/runs/"+manual, f.token, "")
	if run["trigger"].(map[string]any)["type"] != "manual" || run["inputs"].(map[string]any)["trigger"].(map[string]any)["type"] != "manual" {
		t.Fatalf("manual run trigger: %v %v", run["trigger"], run["inputs"])
	}
}

func TestWebhookOnCompletedWithoutRespondNodeAnswersLastOutput(t *testing.T) {
	f := newFixture(t)
	p := f.project("last")
	f.workflow(p, "last", `{"name": "last", "triggers": [{"id": "h", "type": "webhook", "respond": "onCompleted"}],
	  "nodes": [{"id": "a", "tool": "log", "params": {"message": "first"}}, {"id": "b", "tool": "transform", "params": {"expression": "{'got': inputs.trigger.body}"}}],
	  "edges": [{"source": "a", "target": "b"}]}`)
	code, h, body := hook(t, f.triggerInfo(p, "last", "h")["url"].(string), "text/plain", "plain words")
	if code != 200 || h.Get("Content-Type") != "application/json" || strings.TrimSpace(body) != `{"got":"plain words"}` {
		t.Fatalf("answer: %d %q %q", code, h.Get("Content-Type"), body)
	}
}

func TestWebhookImmediatelyAnswers202(t *testing.T) {
	f := newFixture(t)
	p := f.project("fast")
	f.workflow(p, "hooks", hookWorkflows)
	code, _, body := hook(t, f.triggerInfo(p, "hooks", "fast")["url"].(string), "application/json", `{"name":"Bo"}`)
	if code != 202 || !strings.Contains(body, `"runId":"r_`) {
		t.Fatalf("answer: %d %s", code, body)
	}
	runID := body[strings.Index(body, `"r_`)+1 : strings.LastIndex(body, `"`)]
	eventually(t, "the run ends", func() bool { return f.runStatus(runID) == "succeeded" })
	// Background tabs poll GET /api/projects: lastRunAt tells them a run
	// started by itself, even one that is already over.
	_, proj, _ := do(t, "GET", f.d.URL()+"/api/projects/"+p, f.token, "")
	if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(proj["lastRunAt"])); err != nil || time.Since(at) > time.Minute {
		t.Fatalf("lastRunAt = %v (%v)", proj["lastRunAt"], err)
	}
}

func TestWebhookFailingRunAnswers500(t *testing.T) {
	f := newFixture(t)
	p := f.project("fail")
	f.workflow(p, "fail", `{"name": "fail", "triggers": [{"id": "h", "type": "webhook", "respond": "onCompleted"}],
	  "nodes": [{"id": "boom", "tool": "shell", "params": {"command": "echo broken >&2; exit 3"}}], "edges": []}`)
	code, _, body := hook(t, f.triggerInfo(p, "fail", "h")["url"].(string), "", "")
	if code != 500 || !strings.Contains(body, `"error":"run_failed"`) || !strings.Contains(body, `"runId":"r_`) || !strings.Contains(body, "boom") {
		t.Fatalf("answer: %d %s", code, body)
	}
}

func TestWebhookRefusals(t *testing.T) {
	f := newFixture(t)
	p := f.project("refuse")
	f.workflow(p, "hooks", hookWorkflows)
	u := f.triggerInfo(p, "hooks", "fast")["url"].(string)
	if code, _, body := hook(t, f.d.URL()+"/hooks/not-a-key", "", "{}"); code != 404 || !strings.Contains(body, "not_found") {
		t.Fatalf("unknown key: %d %s", code, body)
	}
	parsed, _ := url.Parse(u)
	if code, _, _ := hook(t, u, "", "{}", withHost("evil.example:"+parsed.Port())); code != 403 {
		t.Fatalf("foreign Host: %d", code)
	}
	if code, _, body := hook(t, u, "", strings.Repeat("x", 4<<20+1)); code != 413 || !strings.Contains(body, "payload_too_large") {
		t.Fatalf("body too big: %d %s", code, body)
	}
	if code, _, _ := hook(t, u, "", strings.Repeat("x", 4<<20)); code != 202 {
		t.Fatalf("4 MiB body: %d", code)
	}
	if code, _, _ := do(t, "GET", u, "", ""); code != 405 {
		t.Fatalf("GET: %d", code)
	}
	// Rotating the key retires the old URL.
	code, rotated, _ := do(t, "POST", f.d.URL()+"/api/projects/"+p+"/workflows/hooks/triggers/fast/rotate", f.token, "")
	if code != 200 || rotated["url"] == u || rotated["url"] == nil {
		t.Fatalf("rotate: %d %v", code, rotated)
	}
	if code, _, _ := hook(t, u, "", "{}"); code != 404 {
		t.Fatalf("old key after rotate: %d", code)
	}
	if code, _, _ := hook(t, rotated["url"].(string), "", "{}"); code != 202 {
		t.Fatalf("new key: %d", code)
	}
	// Switched off: the URL stays, but answers 404 until switched on.
	f.workflow(p, "hooks", strings.Replace(hookWorkflows, `"respond": "immediately"`, `"respond": "immediately", "enabled": false`, 1))
	if code, _, body := hook(t, rotated["url"].(string), "", "{}"); code != 404 || !strings.Contains(body, "switched off") {
		t.Fatalf("disabled: %d %s", code, body)
	}
}

func TestTriggerListingAndPreviews(t *testing.T) {
	f := newFixture(t)
	p := f.project("list")
	f.workflow(p, "nightly", `{"name": "n", "triggers": [{"id": "n", "type": "schedule", "cron": "0 3 * * *", "timezone": "UTC"}, {"id": "src", "type": "files", "glob": "**/*.md"}],
	  "nodes": [{"id": "a", "tool": "log", "params": {"message": "x"}}], "edges": []}`)
	info := f.triggerInfo(p, "nightly", "n")
	next, _ := time.Parse(time.RFC3339, info["nextFireAt"].(string))
	if next.Hour() != 3 || !next.After(time.Now()) || len(info["nextFireTimes"].([]any)) != 5 || info["active"] != true {
		t.Fatalf("schedule info %v", info)
	}
	if src := f.triggerInfo(p, "nightly", "src"); src["glob"] != "**/*.md" || src["debounceMs"] != float64(300) {
		t.Fatalf("files info %v", src)
	}
	code, prev, _ := do(t, "GET", f.d.URL()+"/api/triggers/schedule-preview?cron="+url.QueryEscape("*/5 * * * *")+"&timezone=Europe/Berlin", f.token, "")
	if code != 200 || len(prev["nextFireTimes"].([]any)) != 5 {
		t.Fatalf("preview: %d %v", code, prev)
	}
	if code, prev, _ = do(t, "GET", f.d.URL()+"/api/triggers/schedule-preview?cron=nonsense", f.token, ""); code != 400 || !strings.Contains(prev["message"].(string), "fields") {
		t.Fatalf("bad preview: %d %v", code, prev)
	}
	// Bad triggers are refused at save time with every problem listed.
	code, res, _ := do(t, "PUT", f.d.URL()+"/api/projects/"+p+"/workflows/bad", f.token, `{"name": "b", "triggers": [
	  {"id": "x", "type": "schedule", "cron": "99 * * * *"}, {"id": "x", "type": "files", "glob": "src/[a"}, {"id": "z", "type": "schedule", "cron": "@daily", "timezone": "Atlantis/City"}],
	  "nodes": [], "edges": []}`)
	if code != 400 || len(res["problems"].([]any)) != 4 {
		t.Fatalf("bad triggers: %d %v", code, res)
	}
}

// countRuns lists a project's runs.
func (f *fixture) countRuns(projectID string) int {
	f.t.Helper()
	_, res, _ := do(f.t, "GET", f.d.URL()+"/api/projects/"+projectID+"/runs", f.token, "")
	runs, _ := res["runs"].([]any)
	return len(runs)
}

// A trigger never fires in an untrusted project; trust makes it fire,
// revoking trust stops it again.
func TestTriggersFollowProjectTrust(t *testing.T) {
	f := newFixture(t)
	code, p, _ := do(t, "POST", f.d.URL()+"/api/projects", f.token, `{"name":"u","path":"`+t.TempDir()+`"}`)
	if code != 201 || p["trusted"] != false {
		t.Fatalf("create untrusted project: %d %v", code, p)
	}
	pid := p["id"].(string)
	f.workflow(pid, "w", `{"name": "w", "triggers": [{"id": "tick", "type": "schedule", "cron": "@every 1s"}, {"id": "h", "type": "webhook"}],
	  "nodes": [{"id": "a", "tool": "log", "params": {"message": "x"}}], "edges": []}`)
	info := f.triggerInfo(pid, "w", "tick")
	if info["active"] != false || info["nextFireAt"] != nil {
		t.Fatalf("untrusted schedule listed as active: %v", info)
	}
	u := f.triggerInfo(pid, "w", "h")["url"].(string)
	if code, _, body := hook(t, u, "", "{}"); code != 403 || !strings.Contains(body, "untrusted") {
		t.Fatalf("webhook in an untrusted project: %d %s", code, body)
	}
	time.Sleep(2500 * time.Millisecond)
	if n := f.countRuns(pid); n != 0 {
		t.Fatalf("%d runs in an untrusted project", n)
	}
	if code, res, _ := do(t, "PUT", f.d.URL()+"/api/projects/"+pid+"/trust", f.token, `{"trusted":true}`); code != 200 {
		t.Fatalf("trust: %d %v", code, res)
	}
	eventually(t, "the schedule fires once trusted", func() bool { return f.countRuns(pid) >= 2 })
	if code, _, _ := hook(t, u, "", "{}"); code != 202 {
		t.Fatalf("webhook once trusted: %d", code)
	}
	if code, res, _ := do(t, "PUT", f.d.URL()+"/api/projects/"+pid+"/trust", f.token, `{"trusted":false}`); code != 200 {
		t.Fatalf("revoke: %d %v", code, res)
	}
	time.Sleep(1500 * time.Millisecond) // a tick in flight may still land
	n := f.countRuns(pid)
	time.Sleep(2500 * time.Millisecond)
	if m := f.countRuns(pid); m != n {
		t.Fatalf("the schedule kept firing after trust was revoked: %d -> %d runs", n, m)
	}
}
