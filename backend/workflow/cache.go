package workflow

import (
	"sync"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// parseCache remembers decoded workflow files by the SHA-256 of their
// bytes. Decoding is a pure function of the bytes, so an entry can never be
// stale; it saves the JSON decode on the hot path (the engine reads the
// workflow on every run start). Validation is not cached: it depends on the
// tool registry, which can change. Entries are templates: never handed out,
// only cloned.
type parseCache struct {
	mu sync.Mutex
	m  map[string]*flow.Workflow
}

const parseCacheMax = 256

func (c *parseCache) decode(hash string, data []byte) (*flow.Workflow, error) {
	c.mu.Lock()
	tpl := c.m[hash]
	c.mu.Unlock()
	if tpl != nil {
		return cloneWorkflow(tpl), nil
	}
	wf, err := Decode(data)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= parseCacheMax {
		c.m = make(map[string]*flow.Workflow) // crude bound: start over
	}
	c.m[hash] = cloneWorkflow(wf)
	c.mu.Unlock()
	return wf, nil
}

// cloneWorkflow deep-copies a decoded workflow so callers may modify what
// they get.
func cloneWorkflow(w *flow.Workflow) *flow.Workflow {
	c := *w
	c.Nodes = make([]flow.Node, len(w.Nodes))
	for i, n := range w.Nodes {
		if n.Params != nil {
			n.Params = cloneValue(n.Params).(map[string]any)
		}
		if n.Retry != nil {
			r := *n.Retry
			n.Retry = &r
		}
		if n.Position != nil {
			p := *n.Position
			n.Position = &p
		}
		c.Nodes[i] = n
	}
	c.Edges = append([]flow.Edge{}, w.Edges...)
	if w.Inputs != nil {
		c.Inputs = append([]byte{}, w.Inputs...)
	}
	if w.Triggers != nil {
		c.Triggers = make([]flow.Trigger, len(w.Triggers))
		for i, t := range w.Triggers {
			if t.Enabled != nil {
				on := *t.Enabled
				t.Enabled = &on
			}
			c.Triggers[i] = t
		}
	}
	return &c
}

// cloneValue copies what encoding/json produces for `any`: maps, slices and
// immutable scalars.
func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneValue(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = cloneValue(e)
		}
		return s
	default:
		return x
	}
}
