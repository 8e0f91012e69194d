package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/tools"
)

// runNode runs one node with its retries and timeout.
// res is a named result so the deferred duration reaches the caller.
func (x *execution) runNode(ctx context.Context, i int, env map[string]any) (res nodeResult) {
	n := x.g.nodes[i]
	res = nodeResult{idx: i, started: x.e.cfg.Now()}
	defer func() { res.duration = x.e.cfg.Now().Sub(res.started) }()
	tries := 1
	var backoff time.Duration
	if n.Retry != nil && n.Retry.Max > 0 {
		tries += n.Retry.Max
		backoff = time.Duration(n.Retry.BackoffMs) * time.Millisecond
	}
	// Secret values may reach errors and output: mask them before the
	// result is recorded anywhere.
	defer func() { res.err = x.maskError(res.err) }()
	penv, err := x.paramEnv(n, env)
	if err != nil {
		res.attempt, res.err = x.prior[i]+1, err
		return res
	}
	if isControl(n.Tool) {
		res.attempt = x.prior[i] + 1
		out, branch, err := x.control(ctx, i, penv)
		if err != nil {
			res.err = err
			return res
		}
		res.output, res.value, res.err = x.encode(i, out)
		res.branch = branch
		return res
	}
	params, err := resolveParams(n.Params, penv)
	if err != nil {
		res.attempt, res.err = x.prior[i]+1, err
		return res
	}
	call := tools.Call{Project: x.project, RunID: x.run.ID, NodeID: n.ID, Params: params, Env: env,
		Log:     func(stream, line string) { x.logs.Log(n.ID, stream, line) },
		Started: x.e.processStarted(x.run.ProjectID, x.run.ID, n.ID)}
	for attempt := 1; ; attempt++ {
		res.attempt = x.prior[i] + attempt
		out, err := x.callTool(ctx, n, call)
		if err == nil {
			res.output, res.value, res.err = x.encode(i, out)
			return res
		}
		res.err = err
		if ctx.Err() != nil || attempt >= tries {
			return res
		}
		wait := backoff << (attempt - 1)
		x.logs.Log(n.ID, "stderr", fmt.Sprintf("attempt %d of %d failed: %s; retrying in %s", attempt, tries, flow.ErrorMessage(err), wait))
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return res
			case <-t.C:
			}
		}
	}
}

// callTool runs the tool once, under the node's timeout.
func (x *execution) callTool(ctx context.Context, n flow.Node, call tools.Call) (out any, err error) {
	tctx := ctx
	if n.TimeoutMs > 0 {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeout(ctx, time.Duration(n.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tool %s panicked: %v", n.Tool, r)
		}
	}()
	out, err = x.e.cfg.Tools.Run(tctx, n.Tool, call)
	if err != nil && ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
		return nil, flow.Errorf("timeout", "node %s timed out after %dms", n.ID, n.TimeoutMs)
	}
	return out, err
}

// encode turns a tool's output into its checkpoint JSON and, when
// downstream nodes will read it, the decoded value (decoding the JSON
// gives fresh and resumed runs the same types).
func (x *execution) encode(i int, out any) (json.RawMessage, any, error) {
	if out == nil {
		return nil, nil, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, nil, fmt.Errorf("output of node %s is not JSON: %w", x.g.nodes[i].ID, err)
	}
	b = x.mask.JSON(b) // downstream nodes read the masked output too, as a resumed run would
	if len(x.g.down[i]) == 0 {
		return b, nil, nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, nil, fmt.Errorf("output of node %s: %w", x.g.nodes[i].ID, err)
	}
	return b, v, nil
}
