package tools

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

func transformCall(expr string) Call {
	return Call{Params: map[string]any{"expression": expr}, Env: map[string]any{
		"inputs": map[string]any{"name": "world", "n": 3.0},
		"nodes": map[string]any{
			"fetch": map[string]any{"output": map[string]any{"body": map[string]any{"items": []any{
				map[string]any{"title": "a", "done": true},
				map[string]any{"title": "b", "done": false},
				map[string]any{"title": "c", "done": true},
			}}}},
		},
	}}
}

func TestTransform(t *testing.T) {
	reg := NewRegistry(Options{})
	cases := []struct {
		expr string
		want any
	}{
		{`"hello " + inputs.name`, "hello world"},
		{`inputs.n * 2`, 6.0},
		{`nodes.fetch.output.body.items | filter(.done) | map(.title)`, []any{"a", "c"}},
		{`sum(nodes.fetch.output.body.items, .done ? 1 : 0)`, 2.0},
		{`{"count": len(nodes.fetch.output.body.items), "first": nodes.fetch.output.body.items[0].title}`, map[string]any{"count": 3.0, "first": "a"}},
		{`all(nodes.fetch.output.body.items, .title != "")`, true},
		{`inputs.missing`, nil},
		{`sortBy(nodes.fetch.output.body.items, .title, "desc")[0].title`, "c"},
	}
	for _, c := range cases {
		out, err := reg.Run(context.Background(), "transform", transformCall(c.expr))
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if !reflect.DeepEqual(out, c.want) {
			t.Errorf("%s = %#v, want %#v", c.expr, out, c.want)
		}
	}
}

func TestTransformErrors(t *testing.T) {
	reg := NewRegistry(Options{MaxExprNodes: 50, ExprMemoryBudget: 10000})
	cases := []struct {
		expr, code, msg string
	}{
		{``, flow.EINVALID, "expression is empty"},
		{`1 +`, flow.EINVALID, "cannot compile expression"},
		{`unknownVar + 1`, flow.EINVALID, "unknown name unknownVar"},
		{`1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1`, flow.EINVALID, "cannot compile"},
		{`map(1..100000, # * 2)`, EToolFailed, "work budget"},
		{`inputs.name / 0`, EToolFailed, "evaluating expression"},
		{`now()`, "", ""}, // time values become JSON strings
	}
	for _, c := range cases {
		out, err := reg.Run(context.Background(), "transform", transformCall(c.expr))
		if c.code == "" {
			if err != nil {
				t.Errorf("%s: %v", c.expr, err)
			} else if _, ok := out.(string); !ok {
				t.Errorf("%s = %#v, want a JSON string", c.expr, out)
			}
			continue
		}
		t.Run(c.expr, func(t *testing.T) { wantCode(t, err, c.code, c.msg) })
	}
	_, err := reg.Run(context.Background(), "transform", Call{Params: map[string]any{"expression": 5.0}})
	wantCode(t, err, flow.EINVALID, "expression must be a string")
}

// A loop that allocates nothing (nested iteration over an input) is not
// bounded by the memory budget; it must end at the node's timeout.
func TestTransformRunawayHonoursContext(t *testing.T) {
	reg := NewRegistry(Options{})
	big := make([]any, 3000)
	for i := range big {
		big[i] = float64(i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := reg.Run(ctx, "transform", Call{
			Params: map[string]any{"expression": `all(inputs.big, all(inputs.big, all(inputs.big, # >= 0)))`},
			Env:    map[string]any{"inputs": map[string]any{"big": big}},
		})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		wantCode(t, err, flow.EUNAVAILABLE, "timed out")
	case <-time.After(60 * time.Second):
		t.Fatal("runaway expression ignored the context")
	}
}
