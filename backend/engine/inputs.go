package engine

import (
	"fmt"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// runInputs is the one place where a run's inputs meet the workflow's
// declaration (docs/workflows.md, "Inputs"): every run start (REST,
// WebSocket, CLI, triggers, re-runs through StartRunWith, child runs
// through createChild) passes here. The declared defaults are filled in
// and the inputs checked against the schema; engineKeys are the inputs the
// engine itself provides (trigger, a forEach child's item and index),
// which a declaration need not list. A workflow that declares nothing
// gets its inputs unchanged.
func (e *Engine) runInputs(wf *flow.Workflow, given map[string]any, engineKeys ...string) (map[string]any, error) {
	s, probs := e.inputSchemas.Parse(wf.Inputs)
	if len(probs) > 0 {
		// Save refuses such a declaration; a file edited by hand can still
		// have one, and then no run may start with unchecked inputs.
		return nil, &flow.Error{Code: flow.EINVALID, Details: probs,
			Message: fmt.Sprintf("the workflow's inputs declaration is invalid: %s %s", probs[0].Field, probs[0].Message)}
	}
	return s.Apply(given, engineKeys...)
}
