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
	// instant: every node is instant, so a run may be immediate
	// (immediate.go).
	instant bool
}

// compiledCache keeps the compiled form of the last version of each
// workflow that started a run. A SharedWorkflowSource hands out the same
// *flow.Workflow for as long as the file is unchanged (and a new one after
// any change), so the pointer identifies the version: a hit saves encoding
// the snapshot and building the graph on every start.
type compiledCache struct {
	// isInstant classifies a graph for compiled.instant (nil: never).
	isInstant func(*graph) bool

	mu sync.Mutex
	m  map[workflowKey]*compiled // the latest version of each workflow
}

// workflowKey names a workflow of a project.
type workflowKey struct{ projectID, workflowID string }

// get returns the compiled form of wf, building it when wf is not the
// version cached for the workflow. cache is false for a value that is not
// a SharedWorkflowSource's (a caller's own value may change under the same
// pointer), which is compiled every time.
func (c *compiledCache) get(projectID, workflowID string, wf *flow.Workflow, cache bool) (*compiled, error) {
	key := workflowKey{projectID, workflowID}
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
	out := &compiled{wf: wf, snapshot: snapshot, g: g, instant: c.isInstant != nil && c.isInstant(g)}
	if cache {
		c.mu.Lock()
		if c.m == nil {
			c.m = map[workflowKey]*compiled{}
		}
		c.m[key] = out
		c.mu.Unlock()
	}
	return out, nil
}

// preparedRun is a fresh run as StartRunWith built it, kept for the
// worker of this process that takes it, so that its first attempt neither
// reads the run back nor decodes its job payload and snapshot.
type preparedRun struct {
	run *store.RunRow // as inserted: queued, no checkpoints yet
	g   *graph
}

// maxPreparedRuns bounds preparedRuns: a backlog longer than this (or
// runs that another node of a cluster takes, or that are canceled while
// queued) costs only the read that a run started before a restart costs.
const maxPreparedRuns = 4096

// preparedRuns holds the runs started in this process until a worker of
// this process takes them (take). It is only a shortcut: a run not found
// here is read from the database (Engine.loadRun), as after a restart.
type preparedRuns struct {
	mu sync.Mutex
	m  map[string]*preparedRun
}

// put keeps r for run id. It is called before the run's transaction
// commits, so no worker can look for the run before it is there; a
// failed transaction drops it again.
func (p *preparedRuns) put(id string, r *preparedRun) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]*preparedRun{}
	}
	if len(p.m) >= maxPreparedRuns {
		for k := range p.m { // any one: the oldest is no likelier to be taken soon
			delete(p.m, k)
			break
		}
	}
	p.m[id] = r
}

// take returns and forgets the prepared run id, or nil.
func (p *preparedRuns) take(id string) *preparedRun {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.m[id]
	delete(p.m, id)
	return r
}

func (p *preparedRuns) drop(id string) { _ = p.take(id) }
