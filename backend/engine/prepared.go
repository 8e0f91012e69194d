package engine

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// compiled is what starting a run of a workflow derives from it: the
// snapshot stored with the run and the checked graph its execution walks.
// Both are read-only once built, so runs of the same workflow share them.
type compiled struct {
	wf       *flow.Workflow // what they were built from
	snapshot []byte
	g        *graph
}

// compiledCache keeps the compiled form of the last version of each
// workflow that started a run. A SharedWorkflowSource hands out the same
// *flow.Workflow for as long as the file is unchanged (and a new one after
// any change), so the pointer identifies the version: a hit saves encoding
// the snapshot and building the graph on every start.
type compiledCache struct {
	mu sync.Mutex
	m  map[string]*compiled // projectID + "\x00" + workflowID -> latest version
}

// get returns the compiled form of wf, building it when wf is not the
// version cached for the workflow. cache is false for a value that is not
// a SharedWorkflowSource's (a caller's own value may change under the same
// pointer), which is compiled every time.
func (c *compiledCache) get(projectID, workflowID string, wf *flow.Workflow, cache bool) (*compiled, error) {
	key := projectID + "\x00" + workflowID
	if cache {
		c.mu.Lock()
		hit := c.m[key]
		c.mu.Unlock()
		if hit != nil && hit.wf == wf {
			return hit, nil
		}
	}
	g, err := newGraph(wf)
	if err != nil {
		return nil, err
	}
	snapshot, err := json.Marshal(wf)
	if err != nil {
		return nil, fmt.Errorf("snapshot workflow: %w", err)
	}
	out := &compiled{wf: wf, snapshot: snapshot, g: g}
	if cache {
		c.mu.Lock()
		if c.m == nil {
			c.m = map[string]*compiled{}
		}
		c.m[key] = out
		c.mu.Unlock()
	}
	return out, nil
}

// preparedRun is a fresh run as StartRunWith built it, handed with its job
// to the worker of this process that takes it (queue.NewJob.Local), so its
// first attempt neither reads the run back nor decodes its snapshot.
type preparedRun struct {
	run *store.RunRow // as inserted: queued, no checkpoints yet
	g   *graph
}

// prepared returns what job's enqueuer prepared for its first attempt, or
// nil when the run must be loaded from the database (a job claimed from the
// queue, a later attempt, a re-run seeded with checkpoints).
func prepared(attempt int, local any) *preparedRun {
	p, ok := local.(*preparedRun)
	if !ok || attempt != 1 {
		return nil
	}
	return p
}
