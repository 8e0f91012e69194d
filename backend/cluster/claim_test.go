package cluster_test

import (
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
)

// recordingHandler notes which node ran each job.
type recordingHandler struct {
	node string
	mu   *sync.Mutex
	ran  map[int64][]string
	proj map[int64]string
}

func (h recordingHandler) Work(_ context.Context, j *queue.Job) error {
	h.mu.Lock()
	h.ran[j.ID] = append(h.ran[j.ID], h.node)
	h.proj[j.ID] = j.ProjectID
	h.mu.Unlock()
	return nil
}

func (recordingHandler) Dead(context.Context, *store.Tx, *queue.Job, string) error { return nil }

// TestJobsRunOnlyOnNodesThatSeeTheProjectFolder: node A sees only project
// "left"'s folder, node B only "right"'s, and "shared" is seen by both;
// each job runs once, on a node that sees its project's folder.
func TestJobsRunOnlyOnNodesThatSeeTheProjectFolder(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DB(t)
	root := t.TempDir()
	path := func(p string) string { return filepath.Join(root, p) }
	setup := open(t, dsn)
	for _, p := range []string{"left", "right", "shared"} {
		if err := setup.CreateProject(ctx, &flow.Project{ID: p, Name: p, Path: path(p)}); err != nil {
			t.Fatal(err)
		}
	}
	sees := map[string]map[string]bool{
		"node-a": {path("left"): true, path("shared"): true},
		"node-b": {path("right"): true, path("shared"): true},
	}
	var mu sync.Mutex
	ran, proj := map[int64][]string{}, map[int64]string{}
	var queues []*queue.Queue
	for _, id := range []string{"node-a", "node-b"} {
		db := open(t, dsn)
		n, err := cluster.NewNode(cluster.NodeConfig{DB: db, ID: id + "/1/pool", Info: func(context.Context) cluster.Info { return cluster.Info{} },
			CanSee: func(p string) bool { return sees[id][p] }})
		if err != nil {
			t.Fatal(err)
		}
		// Advertised before the queue starts: its first claim already
		// knows the folders it sees.
		if err := n.Advertise(ctx); err != nil {
			t.Fatal(err)
		}
		q, err := queue.New(queue.Config{Store: queue.NewStore(db), Owner: id + "/1/pool", Workers: 4, PollInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		q.Handle("k", recordingHandler{node: id, mu: &mu, ran: ran, proj: proj})
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		queues = append(queues, q)
	}
	defer func() {
		for _, q := range queues {
			_ = q.Stop(ctx)
		}
	}()
	const perProject = 40
	for i := range 3 * perProject {
		p := []string{"left", "right", "shared"}[i%3]
		err := setup.Write(ctx, func(tx *store.Tx) error {
			_, err := queues[i%2].Enqueue(ctx, tx, queue.NewJob{ProjectID: p, Kind: "k", Ref: fmt.Sprint(i)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		n := len(ran)
		mu.Unlock()
		if n == 3*perProject {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d jobs ran", n, 3*perProject)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, nodes := range ran {
		if len(nodes) != 1 {
			t.Errorf("job %d ran %d times (%v)", id, len(nodes), nodes)
		}
		if !sees[nodes[0]][path(proj[id])] {
			t.Errorf("job %d of project %s ran on %s, which cannot see its folder", id, proj[id], nodes[0])
		}
	}
}
