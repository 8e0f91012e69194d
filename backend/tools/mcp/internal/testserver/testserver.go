// Package testserver is a small but real MCP server written with the SDK's
// server API. The MCP source's tests run it as a child process over stdio
// (see the mcptestserver command) and in-process over streamable HTTP, so
// every behaviour the source must survive (tool errors, crashes, hangs,
// noise on stdout, progress) comes from a genuine peer rather than a mock.
package testserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Options select the behaviours of one server.
type Options struct {
	// Name is the server's implementation name.
	Name string
	// Process enables the tools that only make sense in a child process of
	// its own: crash (os.Exit), freeze (SIGSTOP itself) and spawn (start a
	// grandchild).
	Process bool
	// Noise, if non-nil, receives a garbage line whenever the noisy tool
	// runs (the stdio command passes os.Stdout to break the framing).
	Noise io.Writer
	// Quit releases the hang tool's handlers; nil means they hang forever.
	Quit <-chan struct{}
}

type textIn struct {
	Text string `json:"text" jsonschema:"the text to echo"`
}

type addIn struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

type addOut struct {
	Sum float64 `json:"sum"`
}

type failIn struct {
	Message string `json:"message"`
}

type stepsIn struct {
	Steps int `json:"steps"`
}

type sleepIn struct {
	Ms int `json:"ms"`
}

type codeIn struct {
	Code int `json:"code"`
}

type namesIn struct {
	Names []string `json:"names"`
}

type infoOut struct {
	PID  int      `json:"pid"`
	Cwd  string   `json:"cwd"`
	Args []string `json:"args"`
}

type pidOut struct {
	PID int `json:"pid"`
}

type headerIn struct {
	Name string `json:"name"`
}

type empty struct{}

func text(s string) *sdk.CallToolResult {
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: s}}}
}

// New builds the server with its tools.
func New(o Options) *sdk.Server {
	if o.Name == "" {
		o.Name = "testserver"
	}
	s := sdk.NewServer(&sdk.Implementation{Name: o.Name, Version: "v0.0.1"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "echo", Title: "Echo", Description: "Returns its text."},
		func(_ context.Context, _ *sdk.CallToolRequest, in textIn) (*sdk.CallToolResult, any, error) {
			return text(in.Text), nil, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "add", Description: "Adds two numbers (structured output)."},
		func(_ context.Context, _ *sdk.CallToolRequest, in addIn) (*sdk.CallToolResult, addOut, error) {
			return nil, addOut{Sum: in.A + in.B}, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "fail", Description: "Always reports a tool error (isError)."},
		func(_ context.Context, _ *sdk.CallToolRequest, in failIn) (*sdk.CallToolResult, any, error) {
			return nil, nil, errors.New(in.Message)
		})
	sdk.AddTool(s, &sdk.Tool{Name: "progress", Description: "Sends progress notifications."},
		func(ctx context.Context, req *sdk.CallToolRequest, in stepsIn) (*sdk.CallToolResult, any, error) {
			tok := req.Params.GetProgressToken()
			for i := 1; i <= in.Steps && tok != nil; i++ {
				err := req.Session.NotifyProgress(ctx, &sdk.ProgressNotificationParams{
					ProgressToken: tok, Progress: float64(i), Total: float64(in.Steps),
					Message: fmt.Sprintf("step %d", i),
				})
				if err != nil {
					return nil, nil, err
				}
			}
			return text("done"), nil, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "sleep", Description: "Sleeps, honouring cancellation."},
		func(ctx context.Context, _ *sdk.CallToolRequest, in sleepIn) (*sdk.CallToolResult, any, error) {
			select {
			case <-time.After(time.Duration(in.Ms) * time.Millisecond):
				return text("slept"), nil, nil
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
		})
	sdk.AddTool(s, &sdk.Tool{Name: "hang", Description: "Never answers and ignores cancellation."},
		func(_ context.Context, _ *sdk.CallToolRequest, _ empty) (*sdk.CallToolResult, any, error) {
			<-o.Quit // a nil channel blocks forever
			return nil, nil, errors.New("released")
		})
	sdk.AddTool(s, &sdk.Tool{Name: "env", Description: "Returns environment variables."},
		func(_ context.Context, _ *sdk.CallToolRequest, in namesIn) (*sdk.CallToolResult, map[string]string, error) {
			out := map[string]string{}
			for _, n := range in.Names {
				out[n] = os.Getenv(n)
			}
			return nil, out, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "envsha256", Description: "Returns the SHA-256 (hex) of environment variables, so a test can check a value it must not see."},
		func(_ context.Context, _ *sdk.CallToolRequest, in namesIn) (*sdk.CallToolResult, map[string]string, error) {
			out := map[string]string{}
			for _, n := range in.Names {
				sum := sha256.Sum256([]byte(os.Getenv(n)))
				out[n] = hex.EncodeToString(sum[:])
			}
			return nil, out, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "info", Description: "Returns pid, working directory and arguments."},
		func(_ context.Context, _ *sdk.CallToolRequest, _ empty) (*sdk.CallToolResult, infoOut, error) {
			wd, _ := os.Getwd()
			return nil, infoOut{PID: os.Getpid(), Cwd: wd, Args: os.Args[1:]}, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "header", Description: "Returns an HTTP request header."},
		func(_ context.Context, req *sdk.CallToolRequest, in headerIn) (*sdk.CallToolResult, any, error) {
			if req.Extra == nil || req.Extra.Header == nil {
				return text(""), nil, nil
			}
			return text(req.Extra.Header.Get(in.Name)), nil, nil
		})
	if o.Noise != nil {
		sdk.AddTool(s, &sdk.Tool{Name: "noisy", Description: "Prints garbage on stdout, then answers."},
			func(_ context.Context, _ *sdk.CallToolRequest, in textIn) (*sdk.CallToolResult, any, error) {
				// Noise is best effort by design: the test checks the client
				// survives garbage, not that the garbage arrived.
				_, _ = fmt.Fprintln(o.Noise, "DEBUG: this line is not JSON-RPC")
				_, _ = fmt.Fprintln(o.Noise, `{"neither": "is this"}`)
				return text(strings.ToUpper(in.Text)), nil, nil
			})
	}
	if o.Process {
		sdk.AddTool(s, &sdk.Tool{Name: "crash", Description: "Exits the process mid-call."},
			func(_ context.Context, _ *sdk.CallToolRequest, in codeIn) (*sdk.CallToolResult, any, error) {
				fmt.Fprintln(os.Stderr, "testserver: crashing on purpose")
				os.Exit(in.Code)
				return nil, nil, nil
			})
		sdk.AddTool(s, &sdk.Tool{Name: "freeze", Description: "Stops the whole process (SIGSTOP)."},
			func(_ context.Context, _ *sdk.CallToolRequest, _ empty) (*sdk.CallToolResult, any, error) {
				if err := freeze(); err != nil {
					return nil, nil, err
				}
				// The stop may take effect a moment after kill returns; never
				// answer, even if it is resumed.
				<-o.Quit
				return nil, nil, errors.New("released")
			})
		sdk.AddTool(s, &sdk.Tool{Name: "spawn", Description: "Starts a grandchild that sleeps forever."},
			func(_ context.Context, _ *sdk.CallToolRequest, _ empty) (*sdk.CallToolResult, pidOut, error) {
				exe, err := os.Executable()
				if err != nil {
					return nil, pidOut{}, err
				}
				cmd := exec.Command(exe, "-sleep")
				if err := cmd.Start(); err != nil {
					return nil, pidOut{}, err
				}
				go cmd.Wait() //nolint:errcheck // reaps the grandchild if it ever exits
				return nil, pidOut{PID: cmd.Process.Pid}, nil
			})
	}
	return s
}
