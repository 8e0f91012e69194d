//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A real full disk: the data dir is a 4 MiB tmpfs (the test runs as root
// in CI; elsewhere it is skipped, and the mapping is still covered by the
// store's max_page_count test). Once a filler file takes the free space,
// a write answers 507 {"error":"disk_full"} with a message the UI shows;
// the server keeps serving, and after space is freed writes work again.
func TestDiskFullAnswers507(t *testing.T) {
	dataDir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dataDir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dataDir).Run() })
	projectDir := t.TempDir()
	s := startServe(t, dataDir)
	tok := mintToken(t, dataDir)
	pid := createTrustedProject(t, s.url, tok, "full", projectDir)

	// Fill the file system but for a few KiB.
	var st syscall.Statfs_t
	if err := syscall.Statfs(dataDir, &st); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dataDir, "filler")
	free := int64(st.Bavail) * st.Bsize //nolint:gosec // G115: a test filesystem's free block count fits in int64
	if err := os.WriteFile(filler, make([]byte, free-16<<10), 0o600); err != nil {
		t.Fatalf("fill: %v", err)
	}
	msg := strings.Repeat("n", 4000)
	var last map[string]any
	full := false
	for i := 0; i < 200 && !full; i++ {
		code, res := sendJSON(t, "POST", s.url+"/api/projects/"+pid+"/notifications", tok,
			fmt.Sprintf(`{"level":"info","message":"%d %s"}`, i, msg))
		switch code {
		case 202:
		case 507:
			full, last = true, res
		default:
			t.Fatalf("notification %d: %d %v", i, code, res)
		}
	}
	if !full {
		t.Fatal("no write ever failed on a full disk")
	}
	if last["error"] != "disk_full" || !strings.Contains(fmt.Sprint(last["message"]), "disk is full") {
		t.Fatalf("507 body %v", last)
	}
	// Still serving reads.
	if code, _ := getJSON(t, s.url+"/api/projects/"+pid, tok); code != 200 {
		t.Fatalf("read on a full disk: %d", code)
	}
	// Space again: writes work.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if code, res := sendJSON(t, "POST", s.url+"/api/projects/"+pid+"/notifications", tok, `{"level":"info","message":"room again"}`); code != 202 {
		t.Fatalf("after freeing space: %d %v", code, res)
	}
	if code := s.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
