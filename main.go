// Command flowweaver is Flow Weaver: with no subcommand the desktop app,
// `serve` the headless daemon with its UI for a browser, `token` a signed
// token for scripts. See README.md and docs/backend.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/flowweaver/flowweaver/backend/auth"
	"github.com/flowweaver/flowweaver/backend/daemon"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/frontend"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, documented in docs/backend.md.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitCorrupt = 3
	exitLocked  = 4
	exitTooNew  = 5
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintln(stderr, "flowweaver:", err)
	var ue usageError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, store.ErrCorrupt):
		return exitCorrupt
	case errors.Is(err, store.ErrLocked):
		return exitLocked
	case errors.Is(err, store.ErrTooNew):
		return exitTooNew
	}
	return exitError
}

type usageError struct{ error }

// run dispatches the subcommand.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" {
		return runDesktop(ctx, args, stderr)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "token":
		return token(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "flowweaver", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError{fmt.Errorf("unknown command %q\n%s", args[0], usage)}
}

const usage = `usage:
  flowweaver                     open the desktop app
  flowweaver serve [flags]       run headless: backend and UI for a browser
  flowweaver token [flags]       print a signed token for scripts
  flowweaver version

serve flags:
  --addr 127.0.0.1:7420   listen address (port 0 picks a free port)
  --data-dir DIR          data directory ($FLOWWEAVER_DATA_DIR, else the OS user data dir)
  --workers N             run workers (default 16)
  --allow-remote          allow a non-loopback --addr
  --dev ORIGIN            allow a development origin (repeatable)
`

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg daemon.Config
	var dev stringList
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:7420", "listen address")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "data directory")
	fs.IntVar(&cfg.Workers, "workers", 16, "run workers")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a non-loopback address")
	fs.Var(&dev, "dev", "allowed development origin (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("serve takes no arguments, got %q", fs.Args())}
	}
	if cfg.DataDir == "" {
		d, err := daemon.DefaultDataDir()
		if err != nil {
			return err
		}
		cfg.DataDir = d
	}
	cfg.DevOrigins = dev
	cfg.UI = frontend.Dist()
	cfg.Version = version
	d, err := daemon.New(ctx, cfg)
	if err != nil {
		return err
	}
	if err := d.Start(ctx); err != nil {
		d.Stop(context.Background())
		return err
	}
	fmt.Fprintf(stdout, "flowweaver listening on %s\n", d.URL())
	fmt.Fprintf(stdout, "open %s\n", d.LoginURL())
	<-ctx.Done()
	fmt.Fprintln(stderr, "flowweaver: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return d.Stop(sctx)
}

func token(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "data directory")
	ttl := fs.Duration("ttl", time.Hour, "token lifetime")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if *ttl <= 0 {
		return usageError{errors.New("--ttl must be positive")}
	}
	if *dataDir == "" {
		d, err := daemon.DefaultDataDir()
		if err != nil {
			return err
		}
		*dataDir = d
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	key, err := auth.LoadKey(*dataDir)
	if err != nil {
		return err
	}
	a, err := auth.New(key, auth.Options{})
	if err != nil {
		return err
	}
	tok, _, err := a.Issue(*ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
