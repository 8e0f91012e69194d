//go:build unix

package workflow

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// A FIFO planted under a workflow's name must not block the server (a
// plain open would wait for a writer forever).
func TestFIFOIsFlaggedNotRead(t *testing.T) {
	e := newEnv(t, Options{})
	e.save("build", validWorkflow(), 0)
	e.takeEvents()
	if err := syscall.Mkfifo(filepath.Join(e.dir, "pipe.json"), 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	sums, err := e.svc.Summaries(context.Background(), e.project.ID)
	if err != nil || len(sums) != 2 || sums[1].ID != "pipe" || sums[1].Valid || !strings.Contains(sums[1].Problems[0].Message, "not a regular file") {
		t.Fatalf("%+v %v", sums, err)
	}
	if _, err := e.svc.Get(context.Background(), e.project.ID, "pipe"); code(err) != flow.EINVALID {
		t.Fatal(err)
	}
	// Saving replaces the FIFO with a real file.
	if v := e.save("pipe", validWorkflow(), 1); v != 2 {
		t.Fatalf("version %d", v)
	}
}
