package daemon_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A workflow file made invalid on disk stays listed (valid false, with its
// problems) and can be fetched as written with ?invalid=1, so the editor
// can draw it and the user can repair it; a file that is not JSON is listed
// with its problem and the lenient get still says why it cannot be drawn.
func TestInvalidWorkflowFilesListedAndFetchable(t *testing.T) {
	d := boot(t)
	tok, _, _ := d.Token(time.Hour)
	dir := t.TempDir()
	code, p, _ := do(t, "POST", d.URL()+"/api/projects", tok, `{"path":"`+dir+`","trusted":true}`)
	if code != 201 {
		t.Fatalf("create: %d %v", code, p)
	}
	id := p["id"].(string)
	wfDir := filepath.Join(dir, ".flowweaver", "workflows")
	if err := os.MkdirAll(wfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"good.json":     `{"name":"Good","nodes":[{"id":"a","tool":"delay","params":{"ms":1}}],"edges":[]}`,
		"dangling.json": `{"name":"Dangling","nodes":[{"id":"a","tool":"delay","params":{"ms":1}}],"edges":[{"source":"a","target":"gone"}]}`,
		"broken.json":   `{"name": "Broken", "nodes": [`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(wfDir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := d.URL() + "/api/projects/" + id + "/workflows"
	code, list, _ := do(t, "GET", base, tok, "")
	if code != 200 {
		t.Fatalf("list: %d %v", code, list)
	}
	if wfs := list["workflows"].([]any); len(wfs) != 1 || wfs[0].(map[string]any)["id"] != "good" {
		t.Fatalf("valid workflows = %v, want only good", wfs)
	}
	invalid, _ := list["invalid"].([]any)
	if len(invalid) != 2 {
		t.Fatalf("invalid = %v, want broken and dangling", list["invalid"])
	}
	for i, want := range []string{"broken", "dangling"} {
		e := invalid[i].(map[string]any)
		if e["id"] != want || e["valid"] != false || len(e["problems"].([]any)) == 0 {
			t.Fatalf("invalid[%d] = %v, want %s with problems", i, e, want)
		}
	}
	if name := invalid[1].(map[string]any)["name"]; name != "Dangling" {
		t.Fatalf("dangling name = %v", name)
	}

	// The plain get refuses an invalid file; the lenient one returns it as written.
	if code, body, _ := do(t, "GET", base+"/dangling", tok, ""); code != 400 {
		t.Fatalf("plain get of an invalid file: %d %v", code, body)
	}
	code, wf, _ := do(t, "GET", base+"/dangling?invalid=1", tok, "")
	if code != 200 || wf["valid"] != false || len(wf["edges"].([]any)) != 1 || len(wf["problems"].([]any)) == 0 || wf["version"] == nil {
		t.Fatalf("lenient get: %d %v", code, wf)
	}
	if code, body, _ := do(t, "GET", base+"/broken?invalid=1", tok, ""); code != 400 || body["message"] == "" {
		t.Fatalf("lenient get of a file that is not JSON: %d %v", code, body)
	}
	if code, good, _ := do(t, "GET", base+"/good?invalid=1", tok, ""); code != 200 || good["valid"] != nil || good["name"] != "Good" {
		t.Fatalf("lenient get of a valid file: %d %v", code, good)
	}

	// Repaired over the API, it is valid again.
	if code, body, _ := do(t, "PUT", base+"/dangling", tok, `{"name":"Dangling","nodes":[{"id":"a","tool":"delay","params":{"ms":1}}],"edges":[]}`); code != 200 {
		t.Fatalf("repair: %d %v", code, body)
	}
	_, list, _ = do(t, "GET", base, tok, "")
	if len(list["workflows"].([]any)) != 2 || len(list["invalid"].([]any)) != 1 {
		t.Fatalf("after the repair: %v", list)
	}
}
