package trust_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/trust"
)

func newPolicy(t testing.TB) (*trust.Policy, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "fw.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "p1", Path: "/p1"}); err != nil {
		t.Fatal(err)
	}
	return trust.New(db), db
}

// The life of a project's trust: untrusted by default; trusting approves
// the given entries (and only those); an entry changed since is pending;
// revoking forgets approvals; every change is a project.trust event and a
// hook call after the commit.
func TestPolicyLifecycle(t *testing.T) {
	ctx := context.Background()
	p, db := newPolicy(t)
	var mu sync.Mutex
	var changes []trust.Change
	p.OnChange(func(_ context.Context, ch trust.Change) {
		// After the commit: the new state is already readable.
		ok, _ := p.Trusted(ctx, ch.ProjectID)
		if ok != ch.Trusted {
			t.Errorf("hook ran before the change was visible: trusted=%v, change %+v", ok, ch)
		}
		mu.Lock()
		changes = append(changes, ch)
		mu.Unlock()
	})

	a := trust.Entry{File: ".mcp.json", Server: "a", Fingerprint: "sha256:1"}
	b := trust.Entry{File: ".mcp.json", Server: "b", Fingerprint: "sha256:2"}
	if err := p.CheckRun(ctx, "p1"); flow.ErrorCode(err) != flow.EUNTRUSTED {
		t.Fatalf("new project: %v", err)
	}
	if d := p.MCPDecision(ctx, "p1", a); d != trust.Untrusted {
		t.Fatalf("untrusted project entry: %s", d)
	}
	if err := p.Approve(ctx, "p1", a); flow.ErrorCode(err) != flow.EUNTRUSTED {
		t.Fatalf("approve on an untrusted project: %v", err)
	}
	if err := p.CheckRun(ctx, "nope"); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("unknown project: %v", err)
	}
	if d := p.MCPDecision(ctx, "nope", a); d != trust.Untrusted {
		t.Fatalf("unknown project entry: %s", d)
	}

	pr, err := p.SetTrusted(ctx, "p1", true, []trust.Entry{a})
	if err != nil || !pr.Trusted {
		t.Fatalf("trust: %+v %v", pr, err)
	}
	if err := p.CheckRun(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if d := p.MCPDecision(ctx, "p1", a); d != trust.Allowed {
		t.Fatalf("approved entry: %s", d)
	}
	if d := p.MCPDecision(ctx, "p1", b); d != trust.Pending {
		t.Fatalf("entry not shown at trust time: %s", d)
	}
	changed := a
	changed.Fingerprint = "sha256:edited"
	if d := p.MCPDecision(ctx, "p1", changed); d != trust.Pending {
		t.Fatalf("changed entry: %s", d)
	}
	ap, _ := p.Approvals(ctx, "p1")
	if trust.ApprovalOf(ap, changed) != trust.ApprovalChanged || trust.ApprovalOf(ap, b) != trust.ApprovalNew || trust.ApprovalOf(ap, a) != trust.ApprovalApproved {
		t.Fatalf("approval states: %v", ap)
	}
	if err := p.Approve(ctx, "p1", changed, b); err != nil {
		t.Fatal(err)
	}
	if p.MCPDecision(ctx, "p1", changed) != trust.Allowed || p.MCPDecision(ctx, "p1", b) != trust.Allowed || p.MCPDecision(ctx, "p1", a) != trust.Pending {
		t.Fatal("approving the edited entry must replace the old approval")
	}

	if _, err := p.SetTrusted(ctx, "p1", false, nil); err != nil {
		t.Fatal(err)
	}
	if ap, _ := p.Approvals(ctx, "p1"); len(ap) != 0 {
		t.Fatalf("approvals kept after revoke: %v", ap)
	}
	if _, err := p.SetTrusted(ctx, "p1", false, nil); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	want := []struct{ trusted, revoked bool }{{true, false}, {true, false}, {false, true}, {false, false}}
	if len(changes) != len(want) {
		t.Fatalf("hook calls: %+v", changes)
	}
	for i, w := range want {
		if changes[i].Trusted != w.trusted || changes[i].Revoked != w.revoked || changes[i].ProjectID != "p1" {
			t.Fatalf("change %d: %+v, want %+v", i, changes[i], w)
		}
	}
	evs, err := db.EventsAfter(ctx, "p1", "project:p1", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Type == trust.EventProjectTrust {
			n++
		}
	}
	if n != 4 {
		t.Fatalf("%d project.trust events, want 4", n)
	}

	if _, err := p.SetTrusted(ctx, "nope", true, nil); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("trust an unknown project: %v", err)
	}
}

// Trust survives a restart: the flag and the approvals are in the database.
func TestTrustIsDurable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fw.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateProject(ctx, &flow.Project{ID: "p1", Name: "p1", Path: "/p1"}); err != nil {
		t.Fatal(err)
	}
	a := trust.Entry{File: ".mcp.json", Server: "a", Fingerprint: "sha256:1"}
	if _, err := trust.New(db).SetTrusted(ctx, "p1", true, []trust.Entry{a}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	db, err = store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	p := trust.New(db)
	if pr, _ := db.Project(ctx, "p1"); !pr.Trusted {
		t.Fatal("trusted flag lost on restart")
	}
	if p.MCPDecision(ctx, "p1", a) != trust.Allowed {
		t.Fatal("approval lost on restart")
	}
	ps, _ := db.Projects(ctx)
	if len(ps) != 1 || !ps[0].Trusted {
		t.Fatalf("listing: %+v", ps)
	}
}
