package workflow

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/inputs"
	"github.com/flowweaver/flowweaver/backend/trigger/spec"
)

// Limits of a workflow (docs/workflows.md and the bounds that keep a
// hostile or broken file from costing more than a bounded amount of work).
const (
	MaxNameLen      = 200                     // runes in a workflow name or node label
	MaxRetries      = 10                      // retry.max
	MaxBackoffMs    = 60 * 60 * 1000          // retry.backoffMs: one hour
	MaxTimeoutMs    = 7 * 24 * 60 * 60 * 1000 // timeoutMs: one week (far from Duration overflow)
	DefaultMaxNodes = 500
	// MaxProblems caps the problem list: a 4 MiB file of broken nodes must
	// not turn into a 40 MiB error body. The last problem says how many more
	// there were.
	MaxProblems = 200
)

var (
	idRe  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	mcpRe = regexp.MustCompile(`^mcp:[A-Za-z0-9_.-]{1,64}/[A-Za-z0-9_./-]{1,128}$`)
)

// ValidID reports whether s is a valid workflow or node id. Workflow ids
// become file names, so this check is also what keeps "../x" and "a/b" away
// from the filesystem.
func ValidID(s string) bool { return idRe.MatchString(s) }

// ToolChecker says whether a tool name is known. The daemon passes the tool
// registry; tools named "mcp:<server>/<tool>" are accepted without asking it
// when well formed, because an MCP server may be offline while a workflow is
// edited.
type ToolChecker interface {
	Has(name string) bool
}

// problems collects validation problems up to MaxProblems.
type problems struct {
	list    []flow.Problem
	dropped int
}

func (p *problems) add(pr flow.Problem) {
	if len(p.list) >= MaxProblems {
		p.dropped++
		return
	}
	p.list = append(p.list, pr)
}

func (p *problems) result() []flow.Problem {
	if p.dropped > 0 {
		p.list = append(p.list, flow.Problem{Field: "workflow", Message: fmt.Sprintf("and %d more problems", p.dropped)})
	}
	return p.list
}

func intp(i int) *int { return &i }

// Validate checks a workflow against docs/workflows.md and returns every
// problem found, in a stable order (workflow fields, nodes, edges, cycles),
// or nil when the workflow is valid. workflowID is the id from the URL or
// file name; tools may be nil (tool names are then only checked for shape).
func Validate(workflowID string, wf *flow.Workflow, tools ToolChecker, maxNodes int) []flow.Problem {
	if maxNodes <= 0 {
		maxNodes = DefaultMaxNodes
	}
	var p problems
	if !ValidID(workflowID) {
		p.add(flow.Problem{Field: "workflowId", Message: "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'"})
	}
	if wf == nil {
		p.add(flow.Problem{Field: "workflow", Message: "is missing"})
		return p.result()
	}
	if wf.ID != "" && wf.ID != workflowID {
		p.add(flow.Problem{Field: "id", Message: fmt.Sprintf("%q does not match the workflow id %q", wf.ID, workflowID)})
	}
	checkText(&p, "name", "", wf.Name, true)
	_, inputProblems := inputs.Parse(wf.Inputs)
	for _, pr := range inputProblems {
		p.add(pr)
	}
	if len(wf.Nodes) > maxNodes {
		p.add(flow.Problem{Field: "nodes", Message: fmt.Sprintf("has %d nodes, at most %d are allowed", len(wf.Nodes), maxNodes)})
	}
	if max := maxNodes * 10; len(wf.Edges) > max {
		p.add(flow.Problem{Field: "edges", Message: fmt.Sprintf("has %d edges, at most %d are allowed", len(wf.Edges), max)})
	}

	index := make(map[string]int, len(wf.Nodes)) // node id -> position of its first occurrence
	for i, n := range wf.Nodes {
		field := fmt.Sprintf("nodes[%d]", i)
		switch {
		case !ValidID(n.ID):
			p.add(flow.Problem{Field: field + ".id", Node: printable(n.ID), Message: "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'"})
		default:
			if j, dup := index[n.ID]; dup {
				p.add(flow.Problem{Field: field + ".id", Node: n.ID, Message: fmt.Sprintf("duplicate node id %q (also nodes[%d])", n.ID, j)})
			} else {
				index[n.ID] = i
			}
		}
		node := printable(n.ID)
		checkTool(&p, field+".tool", node, n.Tool, tools)
		checkText(&p, field+".label", node, n.Label, false)
		if n.Retry != nil {
			if n.Retry.Max < 0 || n.Retry.Max > MaxRetries {
				p.add(flow.Problem{Field: field + ".retry.max", Node: node, Message: fmt.Sprintf("must be between 0 and %d", MaxRetries)})
			}
			if n.Retry.BackoffMs < 0 || n.Retry.BackoffMs > MaxBackoffMs {
				p.add(flow.Problem{Field: field + ".retry.backoffMs", Node: node, Message: fmt.Sprintf("must be between 0 and %d", MaxBackoffMs)})
			}
		}
		if n.TimeoutMs < 0 || n.TimeoutMs > MaxTimeoutMs {
			p.add(flow.Problem{Field: field + ".timeoutMs", Node: node, Message: fmt.Sprintf("must be between 0 (no timeout) and %d", MaxTimeoutMs)})
		}
	}

	// Edges: only the ones that pass every check take part in the cycle
	// search, so one bad edge does not produce follow-up noise.
	adj := make(map[string][]string, len(wf.Nodes))
	seen := make(map[flow.Edge]int, len(wf.Edges))
	for i, e := range wf.Edges {
		field := fmt.Sprintf("edges[%d]", i)
		ok := true
		for _, end := range []struct{ name, id string }{{"source", e.Source}, {"target", e.Target}} {
			if end.id == "" {
				p.add(flow.Problem{Field: field + "." + end.name, Edge: intp(i), Message: "is missing"})
				ok = false
			} else if _, exists := index[end.id]; !exists {
				p.add(flow.Problem{Field: field + "." + end.name, Edge: intp(i), Message: fmt.Sprintf("names node %q, which does not exist", printable(end.id))})
				ok = false
			}
		}
		if !ok {
			continue
		}
		if e.Source == e.Target {
			p.add(flow.Problem{Field: field, Node: e.Source, Edge: intp(i), Message: fmt.Sprintf("connects node %q to itself", e.Source)})
			continue
		}
		if j, dup := seen[e]; dup {
			p.add(flow.Problem{Field: field, Edge: intp(i), Message: fmt.Sprintf("duplicates edges[%d]", j)})
			continue
		}
		seen[e] = i
		adj[e.Source] = append(adj[e.Source], e.Target)
	}
	checkControlFlow(&p, wf, index)
	for _, cycle := range findCycles(wf.Nodes, index, adj) {
		p.add(flow.Problem{Field: "edges", Node: cycle[0], Message: "nodes form a cycle: " + strings.Join(append(cycle, cycle[0]), " -> ")})
	}
	for _, pr := range spec.Validate(wf.Triggers) {
		p.add(pr)
	}
	return p.result()
}

// checkText validates a name or label: bounded, no control characters,
// valid UTF-8; required means it must not be blank.
func checkText(p *problems, field, node, s string, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		p.add(flow.Problem{Field: field, Node: node, Message: "must not be empty"})
	case !utf8.ValidString(s):
		p.add(flow.Problem{Field: field, Node: node, Message: "must be valid UTF-8"})
	case utf8.RuneCountInString(s) > MaxNameLen:
		p.add(flow.Problem{Field: field, Node: node, Message: fmt.Sprintf("must be at most %d characters", MaxNameLen)})
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		p.add(flow.Problem{Field: field, Node: node, Message: "must not contain control characters"})
	}
}

func checkTool(p *problems, field, node, name string, tools ToolChecker) {
	switch {
	case name == "":
		p.add(flow.Problem{Field: field, Node: node, Message: "is missing"})
	case strings.HasPrefix(name, "mcp:"):
		if !mcpRe.MatchString(name) && (tools == nil || !tools.Has(name)) {
			p.add(flow.Problem{Field: field, Node: node, Message: fmt.Sprintf("%q is not of the form mcp:<server>/<tool>", printable(name))})
		}
	case tools != nil && !tools.Has(name):
		p.add(flow.Problem{Field: field, Node: node, Message: fmt.Sprintf("unknown tool %q", printable(name))})
	}
}

// printable bounds a user-supplied string before it is echoed in a problem.
func printable(s string) string {
	const max = 80
	if len(s) <= max && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}

// findCycles returns one cycle (as a list of node ids, in edge direction)
// for every strongly connected component of more than one node, ordered by
// the position of the cycle's first node in the workflow. Self-loops were
// already reported as edge problems and are not in adj.
func findCycles(nodes []flow.Node, index map[string]int, adj map[string][]string) [][]string {
	// Tarjan's algorithm, iterative so a 500-node chain cannot blow the stack.
	n := len(index)
	if n == 0 {
		return nil
	}
	ids := make([]string, 0, n) // valid, first-occurrence ids in workflow order
	for i, nd := range nodes {
		if j, ok := index[nd.ID]; ok && j == i {
			ids = append(ids, nd.ID)
		}
	}
	num := make(map[string]int, n)
	low := make(map[string]int, n)
	onStack := make(map[string]bool, n)
	var stack []string
	var sccs [][]string
	counter := 0
	type frame struct {
		v    string
		next int
	}
	for _, root := range ids {
		if _, visited := num[root]; visited {
			continue
		}
		call := []frame{{v: root}}
		num[root], low[root] = counter, counter
		counter++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.next < len(adj[f.v]) {
				w := adj[f.v][f.next]
				f.next++
				if _, visited := num[w]; !visited {
					num[w], low[w] = counter, counter
					counter++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{v: w})
				} else if onStack[w] && num[w] < low[f.v] {
					low[f.v] = num[w]
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				if u := call[len(call)-1].v; low[v] < low[u] {
					low[u] = low[v]
				}
			}
			if low[v] == num[v] {
				var comp []string
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				if len(comp) > 1 {
					sccs = append(sccs, comp)
				}
			}
		}
	}
	var cycles [][]string
	for _, comp := range sccs {
		in := make(map[string]bool, len(comp))
		start := comp[0]
		for _, v := range comp {
			in[v] = true
			if index[v] < index[start] {
				start = v
			}
		}
		cycles = append(cycles, cycleThrough(start, in, adj))
	}
	sort.Slice(cycles, func(i, j int) bool { return index[cycles[i][0]] < index[cycles[j][0]] })
	return cycles
}

// cycleThrough finds a path from start back to start inside one strongly
// connected component (breadth first, so the reported cycle is a shortest
// one through start).
func cycleThrough(start string, in map[string]bool, adj map[string][]string) []string {
	prev := map[string]string{}
	queue := []string{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range adj[v] {
			if !in[w] {
				continue
			}
			if w == start {
				path := []string{v}
				for path[len(path)-1] != start {
					path = append(path, prev[path[len(path)-1]])
				}
				for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
					path[i], path[j] = path[j], path[i]
				}
				return path
			}
			if _, seen := prev[w]; !seen {
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return []string{start} // unreachable for a real component
}
