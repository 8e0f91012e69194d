package engine

import (
	"context"
	"errors"
	"maps"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/secrets"
)

// SecretSource gives a run its project's secrets (the secrets package's
// Service satisfies it). The snapshot's masker covers every value of the
// project; its values are only there for a trusted project.
type SecretSource interface {
	Snapshot(ctx context.Context, projectID string) *secrets.Snapshot
}

// secretsFor reads the project's secrets once per execution; without a
// source there are none.
func (e *Engine) secretsFor(ctx context.Context, projectID string) *secrets.Snapshot {
	if e.cfg.Secrets == nil {
		return &secrets.Snapshot{}
	}
	return e.cfg.Secrets.Snapshot(ctx, projectID)
}

// paramEnv returns the env that a node's params are rendered with: env
// plus "secrets" holding exactly the secrets the params name, so
// {{ secrets.NAME }} resolves and a missing one fails the node by name.
// Tools themselves (the transform tool) get env without secrets.
//
// A workflow or forEach node may not pass secrets: its params become the
// child run's inputs, which are recorded as they are. The called workflow
// references the secret itself.
func (x *execution) paramEnv(n flow.Node, env map[string]any) (map[string]any, error) {
	names, err := secrets.ParamRefs(n.Params)
	if err != nil || len(names) == 0 {
		return env, err
	}
	if n.Tool == flow.ToolWorkflow || n.Tool == flow.ToolForEach {
		return nil, flow.Errorf(flow.EINVALID, "%s %s: secrets cannot be passed as inputs (they would be recorded in the child run); reference {{ secrets.%s }} in the called workflow instead", n.Tool, n.ID, names[0])
	}
	vals, err := x.secrets.Resolve(names)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(env)
	out["secrets"] = vals
	return out, nil
}

// maskError returns err with every secret value in its message replaced
// by ***, keeping its code (and err itself when there is nothing to mask).
func (x *execution) maskError(err error) error {
	if err == nil || x.mask.Empty() {
		return err
	}
	if flow.ErrorCode(err) == flow.EINTERNAL {
		if msg := err.Error(); x.mask.Contains(msg) {
			return errors.New(x.mask.String(msg))
		}
		return err
	}
	msg := flow.ErrorMessage(err)
	if !x.mask.Contains(msg) {
		return err
	}
	return &flow.Error{Code: flow.ErrorCode(err), Message: x.mask.String(msg)}
}
