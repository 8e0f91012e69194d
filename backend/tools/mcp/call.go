package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/tools"
)

var errCallTimeout = errors.New("mcp call timeout")

// call runs one tools/call on the shared instance.
func (s *server) call(ctx context.Context, tool string, call tools.Call) (any, error) {
	full := Prefix + s.name + "/" + tool
	inst, err := s.acquire(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: waiting for the server: %w", full, ctx.Err())
		}
		return nil, err
	}
	timeout := s.p.src.o.CallTimeout
	if s.cfg.TimeoutMs > 0 {
		timeout = time.Duration(s.cfg.TimeoutMs) * time.Millisecond
	}
	callCtx, cancel := context.WithTimeoutCause(ctx, timeout, errCallTimeout)
	defer cancel()

	args := call.Params
	if args == nil {
		args = map[string]any{}
	}
	params := &sdk.CallToolParams{Name: tool, Arguments: args}
	var sink *progressSink
	if call.Log != nil {
		var token string
		token, sink = s.p.src.newProgress(call.Log)
		defer s.p.src.progress.Delete(token)
		params.SetProgressToken(token)
	}
	res, err := inst.session.CallTool(callCtx, params)
	if sink != nil {
		sink.settle(ctx, time.Second)
	}
	if err == nil {
		if res.IsError {
			return nil, &flow.Error{Code: flow.EINVALID, Message: full + ": " + errorText(res), Details: output(res)}
		}
		return output(res), nil
	}

	var rpcErr *jsonrpc.Error
	if errors.As(err, &rpcErr) {
		// The server answered with a protocol error (unknown tool, invalid
		// arguments, ...): it is alive and its message is the explanation.
		code := flow.EINVALID
		if strings.Contains(strings.ToLower(rpcErr.Message), "unknown tool") || rpcErr.Code == jsonrpc.CodeMethodNotFound {
			code = flow.ENOTFOUND
		}
		return nil, flow.Errorf(code, "%s: %s", full, rpcErr.Message)
	}
	if inst.closing.Load() && !inst.retired.Load() {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", full, ctx.Err())
		}
		return nil, flow.Errorf(flow.EUNAVAILABLE, "%s: the server was stopped during the call (project closed or its configuration changed)", full)
	}
	retired := s.check(inst)
	switch {
	case errors.Is(context.Cause(callCtx), errCallTimeout):
		msg := fmt.Sprintf("%s timed out after %v", full, timeout)
		if retired {
			msg += "; the server did not respond and was restarted"
		}
		return nil, flow.Errorf(flow.EUNAVAILABLE, "%s", msg)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: %w", full, ctx.Err())
	case retired:
		reason := inst.endReason()
		if reason == "" {
			reason = err.Error()
		}
		return nil, flow.Errorf(flow.EUNAVAILABLE, "%s: the server stopped during the call: %s", full, reason)
	}
	return nil, flow.Errorf(flow.EUNAVAILABLE, "%s: %v", full, err)
}

// output maps a tool result to the node output:
//
//	{"text": all text content joined by "\n",
//	 "structured": structuredContent (only when the server sent it),
//	 "content": the other content items (images, audio, resources, links) as MCP JSON (only when present)}
func output(res *sdk.CallToolResult) map[string]any {
	var texts []string
	var other []json.RawMessage
	for _, c := range res.Content {
		if t, ok := c.(*sdk.TextContent); ok {
			texts = append(texts, t.Text)
			continue
		}
		if b, err := json.Marshal(c); err == nil {
			other = append(other, b)
		}
	}
	out := map[string]any{"text": strings.Join(texts, "\n")}
	if res.StructuredContent != nil {
		out["structured"] = res.StructuredContent
	}
	if len(other) > 0 {
		out["content"] = other
	}
	return out
}

func errorText(res *sdk.CallToolResult) string {
	var texts []string
	for _, c := range res.Content {
		if t, ok := c.(*sdk.TextContent); ok && strings.TrimSpace(t.Text) != "" {
			texts = append(texts, strings.TrimSpace(t.Text))
		}
	}
	if len(texts) == 0 {
		return "the tool reported an error without a message"
	}
	return strings.Join(texts, "\n")
}
