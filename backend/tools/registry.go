package tools

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Options configures the built-in tools. The zero value is valid: every
// field has a documented default applied by NewRegistry.
type Options struct {
	// HTTPClient sends the http tool's requests. Default: a client with
	// HTTPTimeout as its overall timeout and Go's default transport.
	HTTPClient *http.Client
	// HTTPTimeout bounds one http request when HTTPClient is nil.
	// Default 30s. The node's timeoutMs (through ctx) applies as well.
	HTTPTimeout time.Duration
	// MaxHTTPBody is how much of a response body the http tool keeps.
	// Default 1 MiB; a longer body is cut and "truncated" is set.
	MaxHTTPBody int64
	// MaxFileRead is the largest file file.read returns. Default 8 MiB;
	// larger files fail with payload_too_large rather than bloat the run
	// record, which stores every node's output.
	MaxFileRead int64
	// MaxFileWrite is the largest content file.write accepts. Default 64 MiB.
	MaxFileWrite int64
	// ShellTail is how many bytes of the end of stdout and of stderr the
	// shell tool keeps in its output (every line is streamed through Log
	// anyway). Default 64 KiB each.
	ShellTail int
	// MaxLineBytes cuts longer output lines of the shell tool; the cut line
	// ends with a marker saying how many bytes were dropped. Default 16 KiB.
	MaxLineBytes int
	// ShellKillGrace is how long a canceled command's process group gets
	// between SIGTERM and SIGKILL. Default 2s.
	ShellKillGrace time.Duration
	// ShellPipeGrace is how long, after the shell exited, the tool waits
	// for background processes that still hold its stdout/stderr before it
	// kills its process group and stops reading. Default 1s.
	ShellPipeGrace time.Duration
	// ShellEnv is the base environment of shell commands. Default: the
	// daemon's own environment (os.Environ()).
	ShellEnv []string
	// MaxExprNodes bounds the size of a transform expression (expr's AST
	// node budget). Default 10,000.
	MaxExprNodes uint
	// ExprMemoryBudget bounds the work of one transform evaluation (expr's
	// VM memory budget, counted in allocated elements). Default 1,000,000.
	ExprMemoryBudget uint
	// Now is the clock, used for durations reported in outputs.
	// Default time.Now.
	Now func() time.Time
	// After is the timer used by the delay tool. Default time.After.
	After func(time.Duration) <-chan time.Time
}

func (o Options) withDefaults() Options {
	if o.HTTPTimeout <= 0 {
		o.HTTPTimeout = 30 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: o.HTTPTimeout}
	}
	if o.MaxHTTPBody <= 0 {
		o.MaxHTTPBody = 1 << 20
	}
	if o.MaxFileRead <= 0 {
		o.MaxFileRead = 8 << 20
	}
	if o.MaxFileWrite <= 0 {
		o.MaxFileWrite = 64 << 20
	}
	if o.ShellTail <= 0 {
		o.ShellTail = 64 << 10
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = 16 << 10
	}
	if o.ShellKillGrace <= 0 {
		o.ShellKillGrace = 2 * time.Second
	}
	if o.ShellPipeGrace <= 0 {
		o.ShellPipeGrace = time.Second
	}
	if o.MaxExprNodes == 0 {
		o.MaxExprNodes = 10000
	}
	if o.ExprMemoryBudget == 0 {
		o.ExprMemoryBudget = 1000000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	return o
}

// Registry is the catalog of tools a node can invoke: the built-in tools by
// exact name and the Sources (MCP servers) by name prefix. It is safe for
// concurrent use; sources may be registered while runs are executing.
type Registry struct {
	opts Options

	mu       sync.RWMutex
	builtins map[string]builtin
	order    []string // built-in names in catalog order
	sources  []prefixed
}

// builtin is a registered tool with its description computed once.
type builtin struct {
	tool Tool
	desc flow.Tool
}

// describe returns a copy, so a caller editing the schema bytes cannot
// change the catalog.
func (b builtin) describe() flow.Tool {
	d := b.desc
	d.InputSchema = bytes.Clone(d.InputSchema)
	return d
}

type prefixed struct {
	prefix string
	src    Source
}

// NewRegistry returns a registry holding every built-in tool, configured by
// opts (zero value: documented defaults).
func NewRegistry(opts Options) *Registry {
	r := &Registry{opts: opts.withDefaults(), builtins: map[string]builtin{}}
	o := r.opts
	for _, t := range []Tool{
		&delayTool{after: o.After},
		newShellTool(o),
		&httpTool{client: o.HTTPClient, maxBody: o.MaxHTTPBody, now: o.Now},
		&fileReadTool{max: o.MaxFileRead},
		&fileWriteTool{max: o.MaxFileWrite},
		&transformTool{maxNodes: o.MaxExprNodes, budget: o.ExprMemoryBudget},
		logTool{},
		respondTool{},
	} {
		r.add(t)
	}
	for _, s := range controlSpecs {
		r.add(controlTool{s})
	}
	return r
}

// Add registers an extra built-in tool (for tests, or a tool the daemon
// provides itself). A name that is taken or that starts with a source's
// prefix is refused.
func (r *Registry) Add(t Tool) error {
	desc := t.Describe()
	name := desc.Name
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" {
		return errors.New("add tool: empty name")
	}
	if _, ok := r.builtins[name]; ok {
		return fmt.Errorf("add tool %q: name already registered", name)
	}
	for _, s := range r.sources {
		if strings.HasPrefix(name, s.prefix) {
			return fmt.Errorf("add tool %q: name falls under source prefix %q", name, s.prefix)
		}
	}
	r.builtins[name] = builtin{tool: t, desc: desc}
	r.order = append(r.order, name)
	return nil
}

func (r *Registry) add(t Tool) {
	if err := r.Add(t); err != nil {
		panic(err) // built-in names are constants
	}
}

// Register makes every tool whose name starts with prefix (for example
// "mcp:") go to src. A prefix must be non-empty, must not be a prefix of
// another registered prefix (or the other way round), and must not match a
// built-in tool's name, so routing is never ambiguous.
func (r *Registry) Register(prefix string, src Source) error {
	if prefix == "" || src == nil {
		return errors.New("register tool source: empty prefix or nil source")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sources {
		if strings.HasPrefix(s.prefix, prefix) || strings.HasPrefix(prefix, s.prefix) {
			return fmt.Errorf("register tool source %q: overlaps prefix %q", prefix, s.prefix)
		}
	}
	for name := range r.builtins {
		if strings.HasPrefix(name, prefix) {
			return fmt.Errorf("register tool source %q: overlaps built-in tool %q", prefix, name)
		}
	}
	r.sources = append(r.sources, prefixed{prefix: prefix, src: src})
	return nil
}

// SourceFailure says that one source could not list its tools.
type SourceFailure struct {
	Prefix  string `json:"source"`
	Message string `json:"message"`
	Err     error  `json:"-"`
}

// SourceErrors is returned by ListTools next to a usable tool list when one
// or more sources failed. The list still holds the built-ins and the tools
// of every source that answered, so callers should show the list and the
// failures (as a warning), not an error page.
type SourceErrors struct {
	Failures []SourceFailure
}

func (e *SourceErrors) Error() string {
	parts := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		parts[i] = fmt.Sprintf("%s %s", f.Prefix, f.Message)
	}
	return "list tools: unavailable sources: " + strings.Join(parts, "; ")
}

// Unwrap exposes the underlying errors (errors.Is(err, context.Canceled)).
func (e *SourceErrors) Unwrap() []error {
	out := make([]error, 0, len(e.Failures))
	for _, f := range e.Failures {
		if f.Err != nil {
			out = append(out, f.Err)
		}
	}
	return out
}

// Failures returns the source failures carried by an error from ListTools,
// or nil when err is not (or does not wrap) a *SourceErrors.
func Failures(err error) []SourceFailure {
	var se *SourceErrors
	if errors.As(err, &se) {
		return se.Failures
	}
	return nil
}

// ListTools returns the project's tools: the built-ins in a fixed order,
// then each source's tools (sorted by name) in registration order.
//
// A failing source never hides the others: the returned list is always
// complete for every source that answered, and the error, if non-nil, is a
// *SourceErrors naming each failed source (see Failures). A source's tool
// whose name lacks the source's prefix could never be routed back to it, so
// it is left out and reported as a failure too.
func (r *Registry) ListTools(ctx context.Context, p flow.Project) ([]flow.Tool, error) {
	r.mu.RLock()
	out := make([]flow.Tool, 0, len(r.order)+8)
	for _, name := range r.order {
		out = append(out, r.builtins[name].describe())
	}
	sources := slices.Clone(r.sources)
	r.mu.RUnlock()

	var fails []SourceFailure
	for _, s := range sources {
		list, err := listSource(ctx, s, p)
		if err != nil {
			fails = append(fails, SourceFailure{Prefix: s.prefix, Message: flow.ErrorMessage(err), Err: err})
			if flow.ErrorCode(err) == flow.EINTERNAL {
				fails[len(fails)-1].Message = err.Error()
			}
			continue
		}
		var bad []string
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		for _, t := range list {
			if !strings.HasPrefix(t.Name, s.prefix) || t.Name == s.prefix {
				bad = append(bad, t.Name)
				continue
			}
			out = append(out, t)
		}
		if len(bad) > 0 {
			fails = append(fails, SourceFailure{Prefix: s.prefix,
				Message: fmt.Sprintf("tools without the %q prefix were left out: %s", s.prefix, strings.Join(bad, ", "))})
		}
	}
	if len(fails) > 0 {
		return out, &SourceErrors{Failures: fails}
	}
	return out, nil
}

// Catalog is the JSON-ready answer to tools.list and GET
// /api/projects/{id}/tools: the usable tools, plus the sources that could
// not list theirs (an extension of the tools.list answer {"tools": [...]}).
type Catalog struct {
	Tools       []flow.Tool     `json:"tools"`
	Unavailable []SourceFailure `json:"unavailable,omitempty"`
}

// Catalog lists the project's tools like ListTools, folding source
// failures into the result so a transport can always answer 200 with the
// list and show the failures as warnings.
func (r *Registry) Catalog(ctx context.Context, p flow.Project) Catalog {
	list, err := r.ListTools(ctx, p)
	return Catalog{Tools: list, Unavailable: Failures(err)}
}

// listSource calls one source, turning a panic into an error so a broken
// source cannot take the catalog down.
func listSource(ctx context.Context, s prefixed, p flow.Project) (list []flow.Tool, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("list tools of %s: panic: %v", s.prefix, v)
		}
	}()
	return s.src.Tools(ctx, p)
}

// Has reports whether name can be a tool: a built-in name, or a name under
// a registered source prefix. It does not ask the source whether the tool
// exists (an MCP server may be offline while a workflow is edited); use
// Describe for that.
func (r *Registry) Has(name string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if _, ok := r.builtins[name]; ok {
		return true
	}
	_, ok := r.sourceFor(name)
	return ok
}

// SelfContained reports whether the tool's only effects are its output and
// its log lines (log, transform, respond, delay): running it again after a
// crash changes nothing outside the run. Tools of sources (MCP servers) and
// tools added with Add are never self-contained: what they do is not known.
func (r *Registry) SelfContained(name string) bool {
	sp, ok := r.builtinSpec(name)
	return ok && sp.selfContained
}

// Instant reports whether the tool is self-contained and returns at once,
// without waiting for anything (log, transform, respond; not delay).
// Tools of sources and tools added with Add never are.
func (r *Registry) Instant(name string) bool {
	sp, ok := r.builtinSpec(name)
	return ok && sp.instant
}

// builtinSpec is what the built-in tool name declares about itself; ok is
// false for any other name (tools of sources, tools added with Add).
func (r *Registry) builtinSpec(name string) (spec, bool) {
	r.mu.RLock()
	t, ok := r.builtins[name]
	r.mu.RUnlock()
	if !ok {
		return spec{}, false
	}
	sp, ok := t.tool.(interface{ spec() spec })
	if !ok {
		return spec{}, false
	}
	return sp.spec(), true
}

// Describe returns the catalog entry of one tool of the project. Unknown
// names are not_found; a failing source returns its error.
func (r *Registry) Describe(ctx context.Context, p flow.Project, name string) (flow.Tool, error) {
	r.mu.RLock()
	t, ok := r.builtins[name]
	s, hasSrc := r.sourceFor(name)
	r.mu.RUnlock()
	if ok {
		return t.describe(), nil
	}
	if !hasSrc {
		return flow.Tool{}, flow.Errorf(flow.ENOTFOUND, "unknown tool %q", name)
	}
	list, err := listSource(ctx, s, p)
	if err != nil {
		return flow.Tool{}, fmt.Errorf("describe tool %q: %w", name, err)
	}
	for _, t := range list {
		if t.Name == name {
			return t, nil
		}
	}
	return flow.Tool{}, flow.Errorf(flow.ENOTFOUND, "unknown tool %q", name)
}

// ParamProblems checks a node's params against a built-in tool's schema
// and returns every problem (nil when fine), for workflow validation at save
// time. String values containing "{{" are references resolved only when the
// node runs and are accepted for any param type. Tools of sources are not
// checked here (nil): their servers validate on call.
func (r *Registry) ParamProblems(name string, params map[string]any) []string {
	r.mu.RLock()
	t, ok := r.builtins[name]
	r.mu.RUnlock()
	if !ok {
		return nil
	}
	if sp, ok := t.tool.(interface{ spec() spec }); ok {
		return sp.spec().problems(params, true)
	}
	return nil
}

// Run invokes the named tool. An unknown name is a bad_request error. A
// panic inside a tool becomes an internal error instead of killing the
// worker. call.Log may be nil (lines are then dropped).
func (r *Registry) Run(ctx context.Context, name string, call Call) (out any, err error) {
	r.mu.RLock()
	t, ok := r.builtins[name]
	s, hasSrc := r.sourceFor(name)
	r.mu.RUnlock()
	if !ok && !hasSrc {
		return nil, flow.Errorf(flow.EINVALID, "unknown tool %q", name)
	}
	if call.Log == nil {
		call.Log = func(string, string) {}
	}
	if call.Params == nil {
		call.Params = map[string]any{}
	}
	defer func() {
		if v := recover(); v != nil {
			out = nil
			err = fmt.Errorf("run tool %q: panic: %v\n%s", name, v, debug.Stack())
		}
	}()
	if ok {
		return t.tool.Run(ctx, call)
	}
	return s.src.Run(ctx, name, call)
}

// sourceFor finds the source whose prefix name starts with. r.mu is held.
func (r *Registry) sourceFor(name string) (prefixed, bool) {
	for _, s := range r.sources {
		if strings.HasPrefix(name, s.prefix) && len(name) > len(s.prefix) {
			return s, true
		}
	}
	return prefixed{}, false
}

// ctxError wraps a context error into a user-facing error that still
// satisfies errors.Is(err, context.Canceled / DeadlineExceeded), so the
// engine can tell a cancel from a timeout from a tool failure.
func ctxError(ctx context.Context, what string) error {
	cause := context.Cause(ctx)
	if cause == nil {
		cause = ctx.Err()
	}
	code := flow.EUNAVAILABLE
	msg := what + ": canceled"
	if errors.Is(cause, context.DeadlineExceeded) {
		msg = what + ": timed out"
	}
	return fmt.Errorf("%w: %w", &flow.Error{Code: code, Message: msg}, cause)
}
