package cli

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os/exec"
	"runtime"
	"time"

	"github.com/flowweaver/flowweaver/backend/datadir"
)

// openCommand prints a fresh one-time login URL of the running server
// (each link works once; the browser keeps its session afterwards), and
// opens it in the default browser when there is a desktop session.
func openCommand() *Command {
	return &Command{
		Name:    "open",
		Summary: "print (and open in a browser) a fresh login URL of the running server",
		Flags: func(fs *flag.FlagSet) func(context.Context, *Env, []string) error {
			dataDir := dataDirFlag(fs)
			noBrowser := fs.Bool("no-browser", false, "only print the URL, never start a browser")
			return func(ctx context.Context, env *Env, args []string) error {
				if len(args) > 0 {
					return UsageError(fmt.Errorf("open takes no arguments, got %q", args))
				}
				dir, err := resolveDataDir(*dataDir)
				if err != nil {
					return err
				}
				url, err := freshLoginURL(ctx, dir)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "open %s\n", url)
				if !*noBrowser && desktopSession(env) {
					if err := startBrowser(url); err != nil {
						fmt.Fprintf(env.Stderr, "flowweaver: could not start a browser (%v); open the URL above yourself\n", err)
					}
				}
				return nil
			}
		},
	}
}

// freshLoginURL asks the process serving dir for a new login code.
func freshLoginURL(ctx context.Context, dir string) (string, error) {
	tok, err := existingToken(dir, time.Minute)
	if err != nil {
		return "", err
	}
	rt, err := datadir.ReadRuntime(dir)
	if err != nil || !datadir.Live(dir, rt) {
		return "", fmt.Errorf("no Flow Weaver server is running on %s: start one with `flowweaver serve` (it prints a login URL)", dir)
	}
	if rt.Kind == "run" {
		return "", fmt.Errorf("the process on %s is a `flowweaver run` (pid %d) without a UI: start `flowweaver serve` for one", dir, rt.PID)
	}
	a := &api{base: rt.URL, token: func() (string, error) { return tok, nil }, http: &http.Client{Timeout: 15 * time.Second}, who: rt.Kind, pid: rt.PID}
	var out struct {
		URL string `json:"url"`
	}
	if err := a.do(ctx, http.MethodPost, "/api/auth/codes", nil, &out); err != nil {
		return "", fmt.Errorf("ask flowweaver %s (pid %d) for a login code: %w", rt.Kind, rt.PID, err)
	}
	return out.URL, nil
}

// existingToken signs a token with the key of an existing data dir; it
// never creates the data dir or the key.
func existingToken(dir string, ttl time.Duration) (string, error) {
	a, err := dataDirAuthority(dir, false)
	if err != nil {
		return "", err
	}
	tok, _, err := a.Issue(ttl)
	return tok, err
}

// desktopSession reports whether a browser can be shown to the user.
func desktopSession(env *Env) bool {
	switch runtime.GOOS {
	case "darwin", "windows":
		return true
	}
	return env.getenv("DISPLAY") != "" || env.getenv("WAYLAND_DISPLAY") != ""
}

func startBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	// The opener hands the URL to the browser and exits; reap it.
	go func() { _ = cmd.Wait() }()
	return nil
}
