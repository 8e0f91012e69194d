// Package trust is the workspace trust policy: whether a project may run
// what its folder brings with it. A folder can come from anywhere (a cloned
// repository), and its workflows, MCP server entries and triggers are code
// that would run with the user's rights. Until the user trusts a project it
// is browse only: the engine refuses its runs, the MCP source starts and
// contacts none of its servers and expands none of their ${VAR}s, and
// triggers do not fire. Once trusted, an MCP entry that is added or changed
// later (a git pull) still waits for its own approval, because the user
// approved what they saw, not whatever the folder says next.
//
// Every part that executes something consults the Policy; the Policy is the
// only place that changes trust, and it tells the rest through OnChange
// hooks (the daemon stops MCP servers and cancels runs on revocation;
// triggers hook in the same way).
package trust

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// EventProjectTrust is the durable event on project:<id> written in the
// same transaction as every trust change (payload Change), so every tab of
// the project updates its banner and other clients can react.
const EventProjectTrust = "project.trust"

// Entry identifies one MCP server entry of a project's config files: the
// server's name, the file it is in (relative to the project folder) and the
// fingerprint of its content (see the mcp package).
type Entry struct {
	File        string `json:"file"`
	Server      string `json:"server"`
	Fingerprint string `json:"fingerprint"`
}

// Decision is what the policy says about starting one MCP entry.
type Decision string

const (
	// Allowed: the project is trusted and the entry approved as it reads now.
	Allowed Decision = "allowed"
	// Untrusted: the project is not trusted; nothing of it may start.
	Untrusted Decision = "untrusted"
	// Pending: the project is trusted but this entry is new or changed since
	// it was approved; it waits for the user's approval.
	Pending Decision = "pending_approval"
)

// Approval says how an entry relates to what the user approved.
const (
	ApprovalApproved = "approved" // approved as it reads now
	ApprovalNew      = "new"      // never approved (added after trust)
	ApprovalChanged  = "changed"  // approved once, changed since
)

// Store is what the policy needs of the database (store.DB satisfies it).
type Store interface {
	Project(ctx context.Context, id string) (*flow.Project, error)
	MCPApprovals(ctx context.Context, projectID string) (map[string]string, error)
	Write(ctx context.Context, fn func(tx *store.Tx) error) error
}

// Change is one trust change, passed to OnChange hooks after it committed
// and carried by the project.trust event.
type Change struct {
	ProjectID string  `json:"projectId"`
	Trusted   bool    `json:"trusted"`
	Revoked   bool    `json:"revoked,omitempty"`  // trusted -> untrusted
	Approved  []Entry `json:"approved,omitempty"` // MCP entries approved by this change
}

// Policy answers trust questions from the database and makes trust changes.
//
// Trusted is asked several times per run (start, worker, secrets), so the
// answers are cached per project. Every change through this Policy
// invalidates its project's entry at once (before the write starts and
// after it ended, with a generation so a read racing the change never
// caches the old answer). The TTL bounds only what this process cannot
// see: a change written by another process sharing the database (a second
// node) is picked up within CacheTTL.
type Policy struct {
	db  Store
	now func() time.Time

	mu    sync.Mutex
	hooks []func(context.Context, Change)

	cmu   sync.Mutex
	gen   uint64
	cache map[string]cachedTrust
}

// CacheTTL is how long a cached answer of Trusted is used at most.
const CacheTTL = time.Second

type cachedTrust struct {
	trusted bool
	at      time.Time
}

// New returns the policy over db.
func New(db Store) *Policy {
	return &Policy{db: db, now: time.Now, cache: map[string]cachedTrust{}}
}

// Forget drops the cached answer of a project (deleted, or changed by
// means other than SetTrusted).
func (p *Policy) Forget(projectID string) {
	p.cmu.Lock()
	p.gen++
	delete(p.cache, projectID)
	p.cmu.Unlock()
}

// OnChange registers a hook called after every committed trust change, in
// registration order, on the caller's goroutine (so a revocation returns
// only once its hooks, for example stopping the MCP servers, are done).
// Hooks must not call SetTrusted or Approve.
func (p *Policy) OnChange(fn func(ctx context.Context, ch Change)) {
	p.mu.Lock()
	p.hooks = append(p.hooks, fn)
	p.mu.Unlock()
}

func (p *Policy) fire(ctx context.Context, ch Change) {
	p.mu.Lock()
	hooks := append([]func(context.Context, Change){}, p.hooks...)
	p.mu.Unlock()
	for _, h := range hooks {
		h(ctx, ch)
	}
}

// Trusted reports whether the project is trusted. An unknown project is a
// not_found error (errors are never cached).
func (p *Policy) Trusted(ctx context.Context, projectID string) (bool, error) {
	now := p.now()
	p.cmu.Lock()
	if c, ok := p.cache[projectID]; ok && now.Sub(c.at) < CacheTTL {
		p.cmu.Unlock()
		return c.trusted, nil
	}
	gen := p.gen
	p.cmu.Unlock()
	pr, err := p.db.Project(ctx, projectID)
	if err != nil {
		return false, err
	}
	p.cmu.Lock()
	if p.gen == gen { // no change began or ended while we read
		p.cache[projectID] = cachedTrust{trusted: pr.Trusted, at: now}
	}
	p.cmu.Unlock()
	return pr.Trusted, nil
}

// ErrUntrusted is the error for something refused because the project is
// not trusted (HTTP 403, WebSocket error code "untrusted").
func ErrUntrusted(projectID string) error {
	return &flow.Error{Code: flow.EUNTRUSTED,
		Message: fmt.Sprintf("project %s is not trusted: review what it would run and trust it first", projectID)}
}

// CheckRun returns nil when the project may run workflows, an untrusted
// error when not, or the error reading the project.
func (p *Policy) CheckRun(ctx context.Context, projectID string) error {
	ok, err := p.Trusted(ctx, projectID)
	if err != nil {
		return err
	}
	if !ok {
		return ErrUntrusted(projectID)
	}
	return nil
}

// MCPDecision says whether the MCP entry e of the project may be started
// (and its ${VAR}s expanded). Any error reading the database denies.
func (p *Policy) MCPDecision(ctx context.Context, projectID string, e Entry) Decision {
	ok, err := p.Trusted(ctx, projectID)
	if err != nil || !ok {
		return Untrusted
	}
	approved, err := p.db.MCPApprovals(ctx, projectID)
	if err != nil {
		return Pending
	}
	if ApprovalOf(approved, e) == ApprovalApproved {
		return Allowed
	}
	return Pending
}

// Approvals returns the project's approved entries for ApprovalOf.
func (p *Policy) Approvals(ctx context.Context, projectID string) (map[string]string, error) {
	return p.db.MCPApprovals(ctx, projectID)
}

// ApprovalOf compares e with the approvals of its project.
func ApprovalOf(approved map[string]string, e Entry) string {
	fp, ok := approved[store.ApprovalKey(e.File, e.Server)]
	switch {
	case !ok:
		return ApprovalNew
	case fp != e.Fingerprint:
		return ApprovalChanged
	}
	return ApprovalApproved
}

// SetTrusted trusts or revokes a project. Trusting approves the MCP entries
// in approve (the ones the user was shown); revoking forgets every
// approval. The flag, the approvals and a project.trust event are written
// in one transaction; then the OnChange hooks run. It returns the project
// as it is now.
func (p *Policy) SetTrusted(ctx context.Context, projectID string, trusted bool, approve []Entry) (*flow.Project, error) {
	ch := Change{ProjectID: projectID, Trusted: trusted}
	if trusted {
		ch.Approved = approve
	}
	p.Forget(projectID)
	defer p.Forget(projectID) // also when the write failed: its outcome is unknown
	err := p.db.Write(ctx, func(tx *store.Tx) error {
		was, err := tx.ProjectTrusted(ctx, projectID)
		if err != nil {
			return err
		}
		ch.Revoked = was && !trusted
		if err := tx.SetProjectTrusted(ctx, projectID, trusted); err != nil {
			return err
		}
		for _, e := range ch.Approved {
			if err := tx.ApproveMCPEntry(ctx, projectID, store.MCPApproval(e)); err != nil {
				return err
			}
		}
		ev := flow.NewEvent(projectID, EventProjectTrust, "", "", ch)
		return tx.AppendEvent(ctx, &ev)
	})
	if err != nil {
		return nil, fmt.Errorf("set trust of %s: %w", projectID, err)
	}
	p.Forget(projectID) // before the hooks, which may ask Trusted
	p.fire(ctx, ch)
	return p.db.Project(ctx, projectID)
}

// Approve approves MCP entries of a trusted project (entries added or
// changed after trust was given). An untrusted project is refused: its
// entries are approved by trusting it.
func (p *Policy) Approve(ctx context.Context, projectID string, entries ...Entry) error {
	ch := Change{ProjectID: projectID, Trusted: true, Approved: entries}
	err := p.db.Write(ctx, func(tx *store.Tx) error {
		trusted, err := tx.ProjectTrusted(ctx, projectID)
		if err != nil {
			return err
		}
		if !trusted {
			return ErrUntrusted(projectID)
		}
		for _, e := range entries {
			if err := tx.ApproveMCPEntry(ctx, projectID, store.MCPApproval(e)); err != nil {
				return err
			}
		}
		ev := flow.NewEvent(projectID, EventProjectTrust, "", "", ch)
		return tx.AppendEvent(ctx, &ev)
	})
	if err != nil {
		return fmt.Errorf("approve mcp entries of %s: %w", projectID, err)
	}
	p.fire(ctx, ch)
	return nil
}
