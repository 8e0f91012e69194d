// Package mcp makes the MCP servers a project configures into Flow Weaver
// tools. Source implements tools.Source for the "mcp:" prefix: it discovers
// servers in the project folder (.mcp.json, .cursor/mcp.json,
// .vscode/mcp.json), starts them lazily, shares one session per server
// between all runs of the project, restarts crashed servers with backoff,
// and stops them (with their whole process group) when the project or the
// source closes. See docs/mcp.md for the user-facing rules.
package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/tools"
	"github.com/flowweaver/flowweaver/backend/trust"
)

// Prefix is the name prefix of every MCP tool: "mcp:<server>/<tool>".
const Prefix = "mcp:"

// Server statuses as published in tools.status events and Status.
const (
	StatusIdle     = "idle"     // configured, not started yet (servers start lazily)
	StatusStarting = "starting" // process spawned / connecting, initialize in flight
	StatusReady    = "ready"    // initialized, tools listed
	StatusFailed   = "failed"   // crashed, failed to start, or misconfigured; Error says why
	StatusStopped  = "stopped"  // stopped because the project closed or its entry changed
	StatusIgnored  = "ignored"  // shadowed by a same-named server in a file of higher precedence
	// StatusUntrusted: the project is not trusted; the server is neither
	// started nor contacted and its entry is not expanded.
	StatusUntrusted = "untrusted"
	// StatusPending: the project is trusted, but this entry was added or
	// changed after that and waits for the user's approval.
	StatusPending = "pending_approval"
)

// ServerStatus is the state of one configured server, or (Server == "") a
// problem with a whole config file. It is the payload of tools.status
// events and the element of Status.
type ServerStatus struct {
	Server string `json:"server"`
	File   string `json:"file"`           // config file, relative to the project folder
	Type   string `json:"type,omitempty"` // stdio, http or sse
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	Tools  int    `json:"tools"`         // number of tools last listed
	PID    int    `json:"pid,omitempty"` // stdio server process, while running
	// Fingerprint identifies the entry's content (see Inspect); approving
	// a pending entry approves this fingerprint.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// ServerInfo describes a configured server to AllowStart.
type ServerInfo struct {
	Name    string
	File    string   // config file, relative to the project folder
	Type    string   // stdio, http or sse
	Command string   // stdio, after expansion
	Args    []string // stdio, after expansion
	URL     string   // http/sse, after expansion
}

// Options configure a Source. Zero values select the documented defaults.
type Options struct {
	// Notify receives transient tools.status and tools.changed events for
	// the tools:<projectId> channel. It is called while internal locks are
	// held, so it must not block and must not call back into the Source
	// (the hub's publish is non-blocking). Nil drops events.
	Notify func(projectID string, ev flow.Event)
	// CallTimeout bounds one tools/call (default 60s). A server entry's
	// "timeout" (ms) overrides it; the node's own timeout applies as well
	// through ctx. Starting the server is bounded by StartTimeout instead.
	CallTimeout time.Duration
	// StartTimeout bounds spawn/connect + initialize + tools/list (default 30s).
	StartTimeout time.Duration
	// ListWait is how long Tools waits for servers that are still starting
	// (default 10s). Slower servers appear later with a tools.changed event.
	ListWait time.Duration
	// PingTimeout bounds the health check made after a call failed or timed
	// out; a server that does not answer is killed and restarted (default 5s).
	PingTimeout time.Duration
	// StopGrace is how long a stdio server may take to exit after its stdin
	// closes before its process group is killed (default 2s).
	StopGrace time.Duration
	// PollInterval is how often an open project's config files are re-read
	// (default 2s; negative disables polling: files are then re-read on
	// Tools and Status only).
	PollInterval time.Duration
	// BackoffMin and BackoffMax bound the delay before a failed server is
	// started again; it doubles per consecutive failure (defaults 250ms, 30s).
	BackoffMin, BackoffMax time.Duration
	// MaxRestarts is how many consecutive failures are followed by an
	// automatic restart (default 5); after that a server restarts only when
	// it is needed again (a call or a tool listing).
	MaxRestarts int
	// AllowStart, if set, is asked before a server of a project is started
	// (every start, including restarts). A non-nil error keeps it stopped:
	// the server is "failed" with that message. Project config files come
	// with the folder (a cloned repository may bring its own .mcp.json), so a
	// host that wants a trust prompt, as Claude Code has for project
	// servers, hooks it in here. Nil allows every server.
	AllowStart func(projectID string, s ServerInfo) error
	// Trust, if set, is asked before a project's config entry is expanded
	// or started (the workspace trust policy, see backend/trust). An entry
	// it does not allow keeps the status "untrusted" or "pending_approval"
	// and none of its ${VAR}s is looked up. Call Refresh after a trust
	// change so running servers are stopped or held-back ones start. Nil
	// allows every entry (tests of this package).
	Trust Gate
	// Now is the clock (default time.Now).
	Now func() time.Time
	// LookupEnv resolves ${VAR} in config files (default os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// LookupSecret resolves ${secret:NAME} in config files: the value of the
	// project's secret, or an error naming it (missing, untrusted project).
	// Nil: ${secret:...} is an error.
	LookupSecret func(ctx context.Context, projectID, name string) (string, error)
	// MaskText replaces the project's secret values in a status error or a
	// logged failure (a crashing server's stderr may print its env). Nil
	// leaves text as it is.
	MaskText func(projectID, text string) string
	// Environ is the base environment of stdio servers (default os.Environ).
	Environ func() []string
	// Logger receives lifecycle and noise logs (default: discarded).
	Logger *slog.Logger
	// Started, if set, is called right after a stdio server's process
	// started, with its process group id; the daemon records the group so a
	// restarted server can kill what a crash left of it (the server itself
	// dies with us through its parent-death signal, its helpers do not).
	// The returned func (may be nil) is called once the group is gone.
	Started func(projectID string, pgid int) (forget func())
	// ClientVersion is announced to servers in initialize (default "dev").
	ClientVersion string
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.CallTimeout, 60*time.Second)
	def(&o.StartTimeout, 30*time.Second)
	def(&o.ListWait, 10*time.Second)
	def(&o.PingTimeout, 5*time.Second)
	def(&o.StopGrace, 2*time.Second)
	def(&o.PollInterval, 2*time.Second)
	def(&o.BackoffMin, 250*time.Millisecond)
	def(&o.BackoffMax, 30*time.Second)
	if o.MaxRestarts == 0 {
		o.MaxRestarts = 5
	}
	if o.Notify == nil {
		o.Notify = func(string, flow.Event) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.Environ == nil {
		o.Environ = os.Environ
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.ClientVersion == "" {
		o.ClientVersion = "dev"
	}
	return o
}

func (o Options) validate() error {
	for name, d := range map[string]time.Duration{
		"CallTimeout": o.CallTimeout, "StartTimeout": o.StartTimeout, "ListWait": o.ListWait,
		"PingTimeout": o.PingTimeout, "StopGrace": o.StopGrace, "BackoffMin": o.BackoffMin, "BackoffMax": o.BackoffMax,
	} {
		if d < 0 {
			return fmt.Errorf("mcp options: %s must not be negative", name)
		}
	}
	if o.BackoffMax < o.BackoffMin {
		return fmt.Errorf("mcp options: BackoffMax must be at least BackoffMin")
	}
	if o.MaxRestarts < 0 {
		return fmt.Errorf("mcp options: MaxRestarts must not be negative")
	}
	return nil
}

// Gate is the part of the trust policy the source consults
// (trust.Policy satisfies it).
type Gate interface {
	MCPDecision(ctx context.Context, projectID string, e trust.Entry) trust.Decision
}

// Source is the tools.Source of the "mcp:" prefix. Create it with New and
// Close it when the daemon stops; CloseProject when a project closes.
type Source struct {
	o      Options
	ctx    context.Context // canceled by Close
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	projects map[string]*project

	progress sync.Map // progress token -> func(line string)
	tokens   atomic.Uint64
}

var _ tools.Source = (*Source)(nil)

// New builds a Source. It starts nothing: servers start when a project's
// tools are listed or one of them is called.
func New(o Options) (*Source, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Source{o: o, ctx: ctx, cancel: cancel, projects: map[string]*project{}}, nil
}

// Tools lists the tools of every MCP server of the project, starting the
// servers that are not running. It waits at most Options.ListWait for
// servers still starting; their tools are announced later with
// tools.changed. Broken config files and failing servers never make it
// fail: they are reported through Status and tools.status events. A failed
// server's last known tools stay listed, so workflows keep validating.
func (s *Source) Tools(ctx context.Context, p flow.Project) ([]flow.Tool, error) {
	pr, err := s.project(p)
	if err != nil {
		return nil, err
	}
	pr.reload()
	var waits []<-chan struct{}
	for _, srv := range pr.serverList() {
		if ch := srv.kick(); ch != nil {
			waits = append(waits, ch)
		}
	}
	if len(waits) > 0 {
		timer := time.NewTimer(s.o.ListWait)
		defer timer.Stop()
	wait:
		for _, ch := range waits {
			select {
			case <-ch:
			case <-timer.C:
				break wait
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return pr.toolsChanged(), nil
}

// Run calls the tool "mcp:<server>/<tool>" with call.Params as arguments.
// The output is {"text": ..., "structured": ..., "content": [...]} (see
// docs/mcp.md). A tool error (isError), a protocol error, a crash or a
// timeout returns a *flow.Error carrying the server's message.
func (s *Source) Run(ctx context.Context, name string, call tools.Call) (any, error) {
	serverName, toolName, err := splitName(name)
	if err != nil {
		return nil, err
	}
	pr, err := s.project(call.Project)
	if err != nil {
		return nil, err
	}
	pr.ensureLoaded()
	srv := pr.server(serverName)
	if srv == nil {
		return nil, flow.Errorf(flow.ENOTFOUND, "mcp server %q is not configured in this project (looked in %s)", serverName, configFileList())
	}
	return srv.call(ctx, toolName, call)
}

// Status returns the state of every configured server of the project and
// every config file problem, in precedence order. The project's config files
// are re-read first. An unknown or closed project has no status.
func (s *Source) Status(projectID string) []ServerStatus {
	s.mu.Lock()
	pr := s.projects[projectID]
	s.mu.Unlock()
	if pr == nil {
		return nil
	}
	pr.reload()
	return pr.status()
}

// SecretsChanged re-expands the project's config files with its current
// secrets and returns once that is applied: a server whose expanded entry
// changed (a replaced or deleted secret) is stopped, and starts again with
// the new value (or fails with the error naming the missing secret) when it
// is next needed.
func (s *Source) SecretsChanged(projectID string) {
	s.mu.Lock()
	pr := s.projects[projectID]
	s.mu.Unlock()
	if pr == nil {
		return
	}
	pr.mu.Lock()
	pr.stale = true
	pr.mu.Unlock()
	pr.reload()
}

// Refresh re-reads the project's config and asks the trust gate again
// about every entry, so a trust change takes effect at once: servers the
// gate no longer allows are stopped (Refresh returns once they are gone),
// entries it now allows start. A project that is not open is left alone:
// it is asked when it opens.
func (s *Source) Refresh(projectID string) {
	s.mu.Lock()
	pr := s.projects[projectID]
	s.mu.Unlock()
	if pr != nil {
		pr.refresh()
	}
}

// CloseProject stops every server of the project (closing stdin, then
// killing the process group after StopGrace) and forgets it. It returns
// once they are gone. A later Tools or Run opens the project again.
func (s *Source) CloseProject(projectID string) {
	s.mu.Lock()
	pr := s.projects[projectID]
	delete(s.projects, projectID)
	s.mu.Unlock()
	if pr != nil {
		pr.close()
	}
}

// Close stops every server of every project and refuses further work. It
// is idempotent and returns once every process is gone and every goroutine
// of the Source has exited.
func (s *Source) Close() error {
	s.mu.Lock()
	s.closed = true
	prs := make([]*project, 0, len(s.projects))
	for _, pr := range s.projects {
		prs = append(prs, pr)
	}
	s.projects = map[string]*project{}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, pr := range prs {
		wg.Go(pr.close)
	}
	wg.Wait()
	s.cancel()
	return nil
}

// project returns the open project, opening it on first use. A project
// whose folder changed is reopened.
func (s *Source) project(p flow.Project) (*project, error) {
	if p.ID == "" || p.Path == "" {
		return nil, flow.Errorf(flow.EINVALID, "mcp: the call has no project")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, flow.Errorf(flow.EUNAVAILABLE, "mcp tools are shutting down")
	}
	pr := s.projects[p.ID]
	var stale *project
	if pr != nil && pr.dir != p.Path {
		stale, pr = pr, nil
	}
	if pr == nil {
		pr = newProject(s, p.ID, p.Path)
		s.projects[p.ID] = pr
	}
	s.mu.Unlock()
	if stale != nil {
		stale.close()
	}
	return pr, nil
}

func (s *Source) notify(projectID string, ev flow.Event) {
	s.o.Notify(projectID, ev)
}

func splitName(name string) (server, tool string, err error) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if ok {
		server, tool, ok = strings.Cut(rest, "/")
	}
	if !ok || server == "" || tool == "" {
		return "", "", flow.Errorf(flow.EINVALID, "%q is not an MCP tool name (expected mcp:<server>/<tool>)", name)
	}
	return server, tool, nil
}

func configFileList() string {
	names := make([]string, len(configFiles))
	for i, cf := range configFiles {
		names[i] = cf.Path
	}
	return strings.Join(names, ", ")
}

// fingerprint identifies a tool list so unchanged lists publish nothing.
func fingerprint(list []flow.Tool) string {
	b, _ := json.Marshal(list)
	return string(b)
}

func sortTools(list []flow.Tool) {
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
}

// Failures returns the project's broken config files and failed servers in
// the shape of the registry's catalog warnings ({"source", "message"}), so
// a tools.list answer can show them next to the tools: "mcp:" for a file
// problem, "mcp:<server>" for a server. Ignored (shadowed) entries are not
// failures and are left out; Status has everything.
func (s *Source) Failures(projectID string) []tools.SourceFailure {
	var out []tools.SourceFailure
	for _, st := range s.Status(projectID) {
		if st.Status != StatusFailed {
			continue
		}
		prefix := Prefix
		if st.Server != "" {
			prefix += st.Server
		}
		out = append(out, tools.SourceFailure{Prefix: prefix, Message: st.Error})
	}
	return out
}
