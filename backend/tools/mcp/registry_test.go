package mcp

import (
	"context"
	"testing"

	"github.com/flowweaver/flowweaver/backend/tools"
)

// TestThroughTheRegistry wires the source the way the daemon does and runs
// a built-in tool and an MCP tool side by side, the second fed by the first.
func TestThroughTheRegistry(t *testing.T) {
	src, _ := newTestSource(t, Options{})
	reg := tools.NewRegistry(tools.Options{})
	if err := reg.Register(Prefix, src); err != nil {
		t.Fatal(err)
	}
	p := testProject(t, stdioConfig(map[string][]string{"t": nil}))
	ctx := context.Background()
	list, err := reg.ListTools(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if findTool(list, "log") == nil || findTool(list, "mcp:t/echo") == nil {
		t.Fatalf("catalog = %v", toolNames(list))
	}
	logged, err := reg.Run(ctx, "log", tools.Call{Project: p, Params: map[string]any{"message": "from a built-in"}})
	if err != nil {
		t.Fatal(err)
	}
	msg := logged.(map[string]any)["message"]
	out, err := reg.Run(ctx, "mcp:t/echo", tools.Call{Project: p, Params: map[string]any{"text": msg}})
	if err != nil {
		t.Fatal(err)
	}
	if out.(map[string]any)["text"] != "from a built-in" {
		t.Errorf("echo = %v", out)
	}
}
