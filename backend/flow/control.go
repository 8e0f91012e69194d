package flow

// Control-flow tools: the engine runs them itself (they decide which
// edges are taken, or start child runs), the tool catalog only describes
// them.
const (
	ToolIf       = "if"
	ToolSwitch   = "switch"
	ToolWorkflow = "workflow"
	ToolForEach  = "forEach"
)

// BranchDefault is the branch a switch takes when no case matches.
const BranchDefault = "default"

// Branches returns the branch names of a branching node (if: "true" and
// "false"; switch: its cases, then "default") and whether the node is
// branching at all. Case entries that are not strings are left out (the
// workflow validation reports them).
func Branches(n Node) ([]string, bool) {
	switch n.Tool {
	case ToolIf:
		return []string{"true", "false"}, true
	case ToolSwitch:
		var out []string
		if cases, ok := n.Params["cases"].([]any); ok {
			for _, c := range cases {
				if s, ok := c.(string); ok {
					out = append(out, s)
				}
			}
		}
		if cases, ok := n.Params["cases"].([]string); ok {
			out = append(out, cases...)
		}
		return append(out, BranchDefault), true
	}
	return nil, false
}
