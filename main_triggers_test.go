package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestKill9AtTheFiringMomentNeverFiresASlotTwice kills a real serve with
// SIGKILL right after it committed a schedule slot (the moment its run
// row appears in the database), five times over, restarting it each
// time. Every slot must have started exactly one run, and every run must
// finish after the restarts: the slot claim and the run are one
// transaction, and the run resumes from its checkpoint.
func TestKill9AtTheFiringMomentNeverFiresASlotTwice(t *testing.T) {
	dataDir, projectDir := t.TempDir(), t.TempDir()
	s := startServe(t, dataDir)
	tok := mintToken(t, dataDir)
	pid := createTrustedProject(t, s.url, tok, "tick", projectDir)
	wf := `{"name":"tick","triggers":[{"id":"often","type":"schedule","cron":"@every 1s"}],
		"nodes":[{"id":"mark","tool":"shell","params":{"command":"echo $FLOWWEAVER_RUN_ID >> ran.txt"}}],"edges":[]}`
	if code, res := sendJSON(t, "PUT", s.url+"/api/projects/"+pid+"/workflows/tick", tok, wf); code != 200 {
		t.Fatalf("workflow: %d %v", code, res)
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "flowweaver.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	count := func() int {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM runs`).Scan(&n); err != nil {
			return -1
		}
		return n
	}
	for round := range 5 {
		before := count()
		deadline := time.Now().Add(60 * time.Second)
		for count() <= before {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no schedule run committed", round)
			}
			time.Sleep(2 * time.Millisecond)
		}
		_ = s.cmd.Process.Signal(syscall.SIGKILL) // right after the slot's commit
		if <-s.done; s.waitErr == nil {
			t.Fatal("serve exited cleanly after SIGKILL")
		}
		s = startServe(t, dataDir)
	}
	// Let the last server fire a few more, then stop it cleanly.
	time.Sleep(2 * time.Second)
	if code := s.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	s = startServe(t, dataDir) // finish what the SIGTERM handed back
	defer s.stop(t, syscall.SIGTERM)

	rows, err := db.Query(`SELECT id, trigger_info, status FROM runs ORDER BY created_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	slots := map[string]string{}
	var ids []string
	for rows.Next() {
		var id, status string
		var info []byte
		if err := rows.Scan(&id, &info, &status); err != nil {
			t.Fatal(err)
		}
		var tr struct {
			Type         string `json:"type"`
			ScheduledFor string `json:"scheduledFor"`
		}
		if err := json.Unmarshal(info, &tr); err != nil || tr.Type != "schedule" || tr.ScheduledFor == "" {
			t.Fatalf("run %s trigger %s", id, info)
		}
		if other, dup := slots[tr.ScheduledFor]; dup {
			t.Fatalf("slot %s fired twice: runs %s and %s", tr.ScheduledFor, other, id)
		}
		slots[tr.ScheduledFor] = id
		ids = append(ids, id)
	}
	if len(ids) < 6 {
		t.Fatalf("only %d runs", len(ids))
	}
	// Every committed run finishes (after the restarts), and ran its node.
	deadline := time.Now().Add(90 * time.Second)
	for _, id := range ids {
		for {
			_, run := getJSON(t, s.url+"/api/runs/"+id, tok)
			if run["status"] == "succeeded" {
				break
			}
			if run["status"] == "failed" || time.Now().After(deadline) {
				t.Fatalf("run %s after the restarts: %v", id, run)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ran, _ := os.ReadFile(filepath.Join(projectDir, "ran.txt"))
	for _, id := range ids {
		if !strings.Contains(string(ran), id) {
			t.Fatalf("run %s never ran its node", id)
		}
	}
}
