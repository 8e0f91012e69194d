package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/trust"
)

// With the trust policy, an untrusted project's run is refused before
// anything is written, and a run queued while trusted that a worker picks
// up after trust was revoked (queued across a revoke or a restart) ends
// failed without running any node.
func TestTrustGatesStartAndExecution(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "p1")
	e.wfs.put("p1", chain("wf", "log", "log"))
	policy := trust.New(e.db)
	en := e.engine(engine.Config{Trust: policy})

	_, err := en.StartRun(ctx, "p1", "wf", nil)
	if flow.ErrorCode(err) != flow.EUNTRUSTED {
		t.Fatalf("start on an untrusted project: %v, want code untrusted", err)
	}
	if page, _ := en.ListRuns(ctx, flow.RunFilter{ProjectID: "p1"}); len(page.Runs) != 0 {
		t.Fatalf("a refused run was recorded: %+v", page.Runs)
	}

	if _, err := policy.SetTrusted(ctx, "p1", true, nil); err != nil {
		t.Fatal(err)
	}
	r, err := en.StartRun(ctx, "p1", "wf", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policy.SetTrusted(ctx, "p1", false, nil); err != nil {
		t.Fatal(err)
	}
	start(t, en) // the workers start only now: the run was queued across the revoke
	got := wait(t, en, r.ID)
	if got.Status != flow.RunFailed || !strings.Contains(got.Error, "not trusted") {
		t.Fatalf("run after revoke: %s %q", got.Status, got.Error)
	}
	for _, n := range got.Nodes {
		if n.Status != flow.NodeSkipped || n.Attempt != 0 {
			t.Fatalf("node %s ran after trust was revoked: %+v", n.NodeID, n)
		}
	}
}
