package daemon_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestNotificationProjectChecks: POST /api/projects/{id}/notifications
// answers not_found for a project that does not exist or was deleted
// (before a bad body is even looked at), and a notification to a deleted
// project sent among many good ones fails alone: every good one is a 202
// with its own seq, stored in the project's history.
func TestNotificationProjectChecks(t *testing.T) {
	d := boot(t)
	tok, _, _ := d.Token(time.Hour)
	_, p, _ := do(t, "POST", d.URL()+"/api/projects", tok, `{"path":"`+t.TempDir()+`"}`)
	id := p["id"].(string)
	_, gone, _ := do(t, "POST", d.URL()+"/api/projects", tok, `{"path":"`+t.TempDir()+`"}`)
	goneID := gone["id"].(string)
	// The doomed project has a cached seq before it is deleted.
	if code, _, _ := do(t, "POST", d.URL()+"/api/projects/"+goneID+"/notifications", tok, `{"message":"before"}`); code != 202 {
		t.Fatalf("notification before delete: %d", code)
	}
	if code, _, _ := do(t, "DELETE", d.URL()+"/api/projects/"+goneID, tok, ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	for _, tc := range []struct{ project, body string }{
		{"nope", `{"message":"hi"}`},
		{"nope", `{"level":"loud"}`},
		{"nope", `not json`},
		{goneID, `{"message":"after"}`},
		{goneID, `{"level":"loud"}`},
	} {
		code, body, _ := do(t, "POST", d.URL()+"/api/projects/"+tc.project+"/notifications", tok, tc.body)
		if code != 404 || body["error"] != "not_found" || !strings.Contains(fmt.Sprint(body["message"]), tc.project) {
			t.Errorf("%s %s: %d %v, want 404 not_found naming the project", tc.project, tc.body, code, body)
		}
	}
	if code, body, _ := do(t, "POST", d.URL()+"/api/projects/"+id+"/notifications", tok, `{"level":"loud","message":""}`); code != 400 || body["error"] != "bad_request" {
		t.Fatalf("bad notification to a live project: %d %v", code, body)
	}

	const n = 40
	var wg sync.WaitGroup
	codes := make([]int, n)
	seqs := make([]float64, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := id
			if i%10 == 5 {
				target = goneID
			}
			codes[i], seqs[i] = postNotification(d.URL()+"/api/projects/"+target+"/notifications", tok, fmt.Sprintf(`{"message":"m%d"}`, i))
		}()
	}
	wg.Wait()
	// Connections the client dialed for the burst and never used would hold
	// the server's shutdown for its grace period.
	http.DefaultClient.CloseIdleConnections()
	seen := map[float64]bool{}
	for i, code := range codes {
		want := 202
		if i%10 == 5 {
			want = 404
		}
		if code != want {
			t.Fatalf("notification %d: %d, want %d", i, code, want)
		}
		if want == 202 {
			if seqs[i] < 1 || seen[seqs[i]] {
				t.Fatalf("notification %d: seq %v (seen before: %v)", i, seqs[i], seen[seqs[i]])
			}
			seen[seqs[i]] = true
		}
	}
	code, hist, _ := do(t, "GET", d.URL()+"/api/projects/"+id+"/events?limit=1000", tok, "")
	if code != 200 {
		t.Fatalf("history: %d", code)
	}
	stored := 0
	for _, e := range hist["events"].([]any) {
		if e.(map[string]any)["event"] == "notification" {
			stored++
		}
	}
	if stored != len(seen) {
		t.Fatalf("%d notifications in the history, want %d", stored, len(seen))
	}
}

// postNotification sends one notification from a goroutine (no t.Fatal
// there): the status code, and the seq of a 202 (0 otherwise).
func postNotification(url, token, body string) (int, float64) {
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		return 0, 0
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0
	}
	defer res.Body.Close()
	var out struct{ Seq float64 }
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out.Seq
}
