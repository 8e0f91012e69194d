package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/flowweaver/flowweaver/backend/auth"
	"github.com/flowweaver/flowweaver/backend/daemon"
	"github.com/flowweaver/flowweaver/frontend"
)

func serveCommand() *Command {
	return &Command{
		Name:    "serve",
		Summary: "run headless: backend and UI for a browser",
		Flags: func(fs *flag.FlagSet) func(context.Context, *Env, []string) error {
			var cfg daemon.Config
			var dev stringList
			fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:7420", "listen `address` (port 0 picks a free port)")
			dataDir := dataDirFlag(fs)
			fs.StringVar(&cfg.Database, "db", os.Getenv("FLOWWEAVER_DB"), "PostgreSQL `URL` (postgres://user:pass@host/db) shared by several serve nodes ($FLOWWEAVER_DB; default: SQLite in the data dir)")
			fs.IntVar(&cfg.Workers, "workers", 64, "runs executed at once")
			fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a non-loopback --addr")
			fs.StringVar(&cfg.SecretKeyStore, "secrets-key", "auto", "where the secrets key is kept: auto (OS keychain if reachable, else the key file), keychain or file")
			fs.Var(&dev, "dev", "allowed development `origin` (repeatable)")
			pprofAddr := fs.String("pprof", "", "serve Go runtime profiles (/debug/pprof/) on this loopback `address`, e.g. 127.0.0.1:6060")
			return func(ctx context.Context, env *Env, args []string) error {
				if len(args) > 0 {
					return UsageError(fmt.Errorf("serve takes no arguments, got %q", args))
				}
				dir, err := resolveDataDir(*dataDir)
				if err != nil {
					return err
				}
				cfg.DataDir = dir
				cfg.DevOrigins = dev
				cfg.UI = frontend.Dist()
				cfg.Version = env.Version
				cfg.Role = "serve"
				cfg.Announce = true
				return withPprof(env, *pprofAddr, func() error { return serve(ctx, env, cfg) })
			}
		},
	}
}

// serve runs the daemon until ctx ends (SIGINT/SIGTERM), then stops it
// gracefully. The data dir lock is taken by daemon.New before the
// database opens, so a second serve exits 4 without touching it.
func serve(ctx context.Context, env *Env, cfg daemon.Config) error {
	d, err := daemon.New(ctx, cfg)
	if err != nil {
		return err
	}
	if err := d.Start(ctx); err != nil {
		_ = d.Stop(context.Background())
		return err
	}
	fmt.Fprintf(env.Stdout, "flowweaver listening on %s\n", d.URL())
	fmt.Fprintf(env.Stdout, "open %s\n", d.LoginURL())
	<-ctx.Done()
	fmt.Fprintln(env.Stderr, "flowweaver: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return d.Stop(sctx)
}

func tokenCommand() *Command {
	return &Command{
		Name:    "token",
		Summary: "print a signed token for scripts",
		Flags: func(fs *flag.FlagSet) func(context.Context, *Env, []string) error {
			dataDir := dataDirFlag(fs)
			ttl := fs.Duration("ttl", time.Hour, "token lifetime")
			return func(ctx context.Context, env *Env, args []string) error {
				if len(args) > 0 {
					return UsageError(fmt.Errorf("token takes no arguments, got %q", args))
				}
				if *ttl <= 0 {
					return UsageError(errors.New("--ttl must be positive"))
				}
				dir, err := resolveDataDir(*dataDir)
				if err != nil {
					return err
				}
				tok, err := existingToken(dir, *ttl)
				if err != nil {
					return err
				}
				fmt.Fprintln(env.Stdout, tok)
				return nil
			}
		},
	}
}

func versionCommand() *Command {
	return &Command{
		Name:    "version",
		Summary: "print the version",
		Flags: func(fs *flag.FlagSet) func(context.Context, *Env, []string) error {
			return func(ctx context.Context, env *Env, args []string) error {
				fmt.Fprintln(env.Stdout, "flowweaver", env.Version)
				return nil
			}
		},
	}
}

// resolveDataDir is --data-dir, else $FLOWWEAVER_DATA_DIR, else the OS
// user data dir.
func resolveDataDir(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	return daemon.DefaultDataDir()
}

// mintToken signs a token with the data dir's key (created on first use),
// the way a server of that data dir would: the key file is the credential.
func mintToken(dataDir string, ttl time.Duration) (string, error) {
	a, err := dataDirAuthority(dataDir, true)
	if err != nil {
		return "", err
	}
	tok, _, err := a.Issue(ttl)
	return tok, err
}

// dataDirAuthority builds the token authority of a data dir from its
// jwt.key. With create, a missing data dir and key are made (an in-process
// run may be the data dir's first use); without it, a data dir that has no
// key yet is an error, so asking for a token never creates one.
func dataDirAuthority(dir string, create bool) (*auth.Authority, error) {
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
	} else if _, err := os.Stat(filepath.Join(dir, "jwt.key")); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no Flow Weaver data in %s; start it once first (flowweaver serve, or the desktop app)", dir)
	}
	key, err := auth.LoadKey(dir)
	if err != nil {
		return nil, err
	}
	return auth.New(key, auth.Options{})
}
