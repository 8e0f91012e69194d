package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/cluster"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/pgtest"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(runner{m}) }

type runner struct{ m *testing.M }

func (r runner) Run() int { return pgtest.Run(r.m) }

func open(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestSigningKeyIsCreatedOnceAcrossNodes: eight nodes start at once, each
// with its own fresh key; all end up with the same one, and it stays.
func TestSigningKeyIsCreatedOnceAcrossNodes(t *testing.T) {
	dsn := pgtest.DB(t)
	const nodes = 8
	dbs := make([]*store.DB, nodes)
	for i := range dbs {
		dbs[i] = open(t, dsn)
	}
	keys := make([][]byte, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fresh := []byte(fmt.Sprintf("%032d", i)) // 32 bytes, one per node
			keys[i], errs[i] = cluster.SigningKey(context.Background(), dbs[i], fresh)
		}()
	}
	close(start)
	wg.Wait()
	for i := range keys {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("node %d got key %x, node 0 got %x", i, keys[i][:4], keys[0][:4])
		}
	}
	again, err := cluster.SigningKey(context.Background(), open(t, dsn), bytes.Repeat([]byte{0xee}, 32))
	if err != nil || !bytes.Equal(again, keys[0]) {
		t.Fatalf("a later node got %x (err %v), want the first key", again, err)
	}
}

func newNode(t *testing.T, db *store.DB, id string, info cluster.Info) *cluster.Node {
	t.Helper()
	n, err := cluster.NewNode(cluster.NodeConfig{DB: db, ID: id, Addr: "http://" + id,
		Info: func(context.Context) cluster.Info { return info }, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAdvertiseListsOnlyTheProjectFoldersThisNodeSees: a project whose
// folder is missing here is not advertised, one created later is picked up
// by the advertising loop.
func TestAdvertiseListsOnlyTheProjectFoldersThisNodeSees(t *testing.T) {
	ctx := context.Background()
	db := open(t, pgtest.DB(t))
	here := t.TempDir()
	for id, path := range map[string]string{"seen": here, "elsewhere": filepath.Join(here, "missing")} {
		if err := db.CreateProject(ctx, &flow.Project{ID: id, Name: id, Path: path}); err != nil {
			t.Fatal(err)
		}
	}
	n := newNode(t, db, "node-a", cluster.Info{Workers: 4})
	if err := n.Advertise(ctx); err != nil {
		t.Fatal(err)
	}
	paths := nodePaths(t, db, "node-a")
	if fmt.Sprint(paths) != fmt.Sprint([]string{here}) {
		t.Fatalf("advertised %v, want [%s]", paths, here)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	later := t.TempDir()
	if err := db.CreateProject(ctx, &flow.Project{ID: "later", Name: "later", Path: later}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(nodePaths(t, db, "node-a")) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the new project's folder was never advertised: %v", nodePaths(t, db, "node-a"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func nodePaths(t *testing.T, db *store.DB, id string) []string {
	t.Helper()
	nodes, err := db.Nodes(context.Background(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.ID == id {
			return n.Paths
		}
	}
	t.Fatalf("node %s not in the nodes table", id)
	return nil
}

// TestReportsCountLiveNodesAndShowEachNode: totals are over the nodes
// alive; a node whose heartbeat went stale still has its line, marked
// dead, and counts for nothing.
func TestReportsCountLiveNodesAndShowEachNode(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DB(t)
	dbA, dbB, dbC := open(t, dsn), open(t, dsn), open(t, dsn)
	if err := newNode(t, dbB, "node-b", cluster.Info{Connections: 3, Projects: map[string]int{"p1": 2, "p2": 1}, Workers: 8, BusyWorkers: 5}).Advertise(ctx); err != nil {
		t.Fatal(err)
	}
	if err := newNode(t, dbC, "node-c", cluster.Info{Connections: 7, Projects: map[string]int{"p1": 7}, Workers: 2}).Advertise(ctx); err != nil {
		t.Fatal(err)
	}
	self := cluster.Info{Connections: 1, Projects: map[string]int{"p1": 1}, Workers: 16, BusyWorkers: 1}
	r := cluster.Reports{DB: dbA, Self: "node-a", StaleAfter: time.Minute}
	conns, err := r.Connections(ctx, self)
	if err != nil {
		t.Fatal(err)
	}
	if conns.Total != 11 || conns.Projects["p1"] != 10 || conns.Projects["p2"] != 1 || len(conns.Nodes) != 3 || conns.Node != "node-a" {
		t.Fatalf("connections report %+v", conns)
	}
	q, err := r.Queue(ctx, queue.Stats{Queued: 4, Workers: 16, BusyWorkers: 1, Owner: "node-a"})
	if err != nil {
		t.Fatal(err)
	}
	if q.Workers != 26 || q.BusyWorkers != 6 || q.Queued != 4 || len(q.Nodes) != 3 {
		t.Fatalf("queue report %+v", q)
	}
	// node-c stops beating, node-b goes on: once node-c's heartbeat is
	// older than StaleAfter it is dead and counts for nothing. (Retried, so
	// a slow machine cannot make node-b look stale too.)
	r.StaleAfter = 250 * time.Millisecond
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := newNode(t, dbB, "node-b", cluster.Info{Connections: 3, Projects: map[string]int{"p1": 2, "p2": 1}, Workers: 8}).Advertise(ctx); err != nil {
			t.Fatal(err)
		}
		conns, err = r.Connections(ctx, self)
		if err != nil {
			t.Fatal(err)
		}
		alive := map[string]bool{}
		for _, n := range conns.Nodes {
			alive[n.ID] = n.Alive
		}
		if alive["node-b"] && !alive["node-c"] {
			if conns.Total != 4 || conns.Projects["p1"] != 3 || len(conns.Nodes) != 3 {
				t.Fatalf("with node-c dead: %+v", conns)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node-c never became stale: %+v", conns)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
