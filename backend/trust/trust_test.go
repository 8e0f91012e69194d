package trust_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

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

// Trusted is cached, but never across a change made through the Policy:
// with the cache warm, a revocation is seen by the very next call, from
// every goroutine, and so is trust given again.
func TestTrustedCacheNeverOutlivesAChange(t *testing.T) {
	ctx := context.Background()
	p, _ := newPolicy(t)
	for round := 0; round < 20; round++ {
		want := round%2 == 0
		if _, err := p.SetTrusted(ctx, "p1", want, nil); err != nil {
			t.Fatal(err)
		}
		// Readers hammer the cache while the next change is written.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for r := 0; r < 4; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := p.Trusted(ctx, "p1"); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		for i := 0; i < 3; i++ {
			if ok, err := p.Trusted(ctx, "p1"); err != nil || ok != want {
				t.Fatalf("round %d: Trusted = %v, %v; want %v", round, ok, err, want)
			}
		}
		if _, err := p.SetTrusted(ctx, "p1", !want, nil); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if ok, err := p.Trusted(ctx, "p1"); err != nil || ok != !want {
				t.Fatalf("round %d: right after the change Trusted = %v, %v; want %v", round, ok, err, !want)
			}
		}
		close(stop)
		wg.Wait()
		if err := p.CheckRun(ctx, "p1"); (err == nil) != !want {
			t.Fatalf("round %d: CheckRun = %v after trusted=%v", round, err, !want)
		}
	}
}

// A change this Policy did not make (another node writing the same
// database) is seen once the cached answer is older than CacheTTL; Forget
// drops it at once (the daemon calls it when a project is deleted).
func TestTrustedSeesOtherWritersAfterTTLAndForget(t *testing.T) {
	ctx := context.Background()
	p, db := newPolicy(t)
	if _, err := p.SetTrusted(ctx, "p1", true, nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := p.Trusted(ctx, "p1"); !ok {
		t.Fatal("not trusted after SetTrusted")
	}
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.SetProjectTrusted(ctx, "p1", false) }); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(CacheTTLGuard)
	for {
		ok, err := p.Trusted(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a change by another writer was not seen within %v", CacheTTLGuard)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := p.Trusted(ctx, "p1"); err != nil { // warm again
		t.Fatal(err)
	}
	if err := db.DeleteProject(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	p.Forget("p1")
	if _, err := p.Trusted(ctx, "p1"); flow.ErrorCode(err) != flow.ENOTFOUND {
		t.Fatalf("deleted and forgotten project: err = %v, want not_found", err)
	}
}

// CacheTTLGuard is a generous bound for the TTL test on a loaded machine
// (the TTL is one second; the test only waits for the condition).
const CacheTTLGuard = 30 * trust.CacheTTL
