package daemon_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/daemon"
	"github.com/flowweaver/flowweaver/backend/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster the cluster tests start.
func TestMain(m *testing.M) { pgtest.Main(m) }

// bootNode starts a daemon on the shared PostgreSQL database dsn with its
// own data dir, as one node of a cluster.
func bootNode(t *testing.T, dsn string, passive bool) *daemon.Daemon {
	t.Helper()
	ctx := context.Background()
	d, err := daemon.New(ctx, daemon.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Database: dsn, Workers: 2, Passive: passive})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return d
}

// TestTwoNodesOnOnePostgresShareTokensEventsAndReports: a token of node A
// works on node B (one signing key, in the database and mirrored into each
// data dir), a socket on B sees a run that A executes, and both nodes
// report both nodes' connections and workers.
func TestTwoNodesOnOnePostgresShareTokensEventsAndReports(t *testing.T) {
	dsn := pgtest.DB(t)
	a := bootNode(t, dsn, false)
	b := bootNode(t, dsn, true) // no workers: every run executes on A
	fa := &fixture{t: t, d: a}
	var err error
	if fa.token, _, err = a.Token(time.Hour); err != nil {
		t.Fatal(err)
	}
	fb := &fixture{t: t, d: b, token: fa.token}
	if code, _, _ := do(t, "GET", b.URL()+"/api/projects", fa.token, ""); code != 200 {
		t.Fatalf("node B refused node A's token: %d", code)
	}

	pid := fa.project("shared")
	fa.workflow(pid, "quick", quickWorkflow)
	cl := dial(t, b, fa.token, pid)
	cl.subscribe("project:"+pid, nil)
	runID := fa.startRun(pid, "quick")
	var types []string
	seen := cl.until(func(f frame) bool {
		if f.Seq > 0 {
			types = append(types, f.Event)
		}
		return f.Event == "run.completed" || f.Event == "run.failed"
	})
	if last := seen[len(seen)-1]; last.Event != "run.completed" {
		t.Fatalf("run %s on node A: node B saw %s %s", runID, last.Event, last.Payload)
	}
	if types[0] != "run.queued" {
		t.Errorf("node B's first run event %s, want run.queued (all: %v)", types[0], types)
	}
	var prev int64
	for _, f := range seen {
		if f.Seq == 0 {
			continue
		}
		if f.Seq <= prev {
			t.Fatalf("seq %d after %d on node B", f.Seq, prev)
		}
		prev = f.Seq
	}

	// Both nodes report both nodes: B's socket shows in A's totals.
	eventually(t, "node A reports node B's socket", func() bool {
		total, per := fa.connections()
		return total == 1 && per[pid] == float64(1)
	})
	_, conns, _ := do(t, "GET", a.URL()+"/api/connections", fa.token, "")
	if nodes, _ := conns["nodes"].([]any); len(nodes) != 2 {
		t.Fatalf("connections report lists %d nodes, want 2: %v", len(nodes), conns)
	}
	_, q, _ := do(t, "GET", fb.d.URL()+"/api/queue", fb.token, "")
	if nodes, _ := q["nodes"].([]any); len(nodes) != 2 || q["workers"] != float64(2) {
		t.Fatalf("queue report on node B: %v (want 2 nodes, 2 workers: A's)", q)
	}
}

// TestClusterKeyIsMirroredIntoEveryDataDir: tools that sign with the data
// dir's jwt.key (flowweaver token) make tokens every node accepts.
func TestClusterKeyIsMirroredIntoEveryDataDir(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := context.Background()
	var keys [][]byte
	for range 2 {
		dir := t.TempDir()
		d, err := daemon.New(ctx, daemon.Config{Addr: "127.0.0.1:0", DataDir: dir, Database: dsn})
		if err != nil {
			t.Fatal(err)
		}
		key, err := os.ReadFile(filepath.Join(dir, "jwt.key"))
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(filepath.Join(dir, "jwt.key")); st.Mode().Perm() != 0o600 {
			t.Errorf("jwt.key mode %v, want 0600", st.Mode().Perm())
		}
		keys = append(keys, key)
		if err := d.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(keys[0], keys[1]) {
		t.Fatal("the two data dirs hold different keys")
	}
}
