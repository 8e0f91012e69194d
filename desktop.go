//go:build desktop

package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"time"

	"github.com/flowweaver/flowweaver/app"
	"github.com/flowweaver/flowweaver/backend/daemon"
	"github.com/flowweaver/flowweaver/cli"
	"github.com/flowweaver/flowweaver/frontend"
)

// runDesktop opens the desktop window: the daemon on a loopback port of
// its own choosing in this process, the embedded UI in a Wails webview,
// and the app facade handing the page the URL and a token. The backend URL
// is logged to stderr for scripts and the desktop CI test:
//
//	flowweaver desktop backend on http://127.0.0.1:41234
func runDesktop(ctx context.Context, env *cli.Env, args []string) error {
	stderr := env.Stderr
	fs := flag.NewFlagSet("flowweaver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "data directory ($FLOWWEAVER_DATA_DIR, else the OS user data dir)")
	background := fs.Bool("background", false, "start with the window hidden: the backend serves schedules and webhooks; launching the app again shows the window")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return cli.UsageError(err)
	}
	if fs.NArg() > 0 {
		return cli.UsageError(fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	// A data dir chosen by flag or environment is passed on to the
	// autostart entry (the login session has no FLOWWEAVER_DATA_DIR).
	chosenDir := *dataDir != "" || os.Getenv("FLOWWEAVER_DATA_DIR") != ""
	if *dataDir == "" {
		d, err := daemon.DefaultDataDir()
		if err != nil {
			return err
		}
		*dataDir = d
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	// The data dir lock comes before the database: a second launch hands
	// over to the first window and never opens the database; a data dir
	// held by `serve` or `flowweaver run` ends this one with exit 4
	// naming the holder.
	cwd, _ := os.Getwd()
	inst, err := app.Acquire(ctx, *dataDir, app.Launch{Args: args, WorkingDirectory: cwd}, app.AcquireOptions{})
	if errors.Is(err, app.ErrAlreadyRunning) {
		fmt.Fprintln(stderr, "flowweaver:", err)
		return nil
	}
	if err != nil {
		return err
	}
	defer func() { _ = inst.Close() }()

	d, err := daemon.New(ctx, daemon.Config{
		Addr:    "127.0.0.1:0",
		DataDir: *dataDir,
		UI:      frontend.Dist(),
		Version: env.Version,
		Logger:  log,
		// The window's lock; the runtime file lets `flowweaver run` hand
		// its runs over to this window.
		Lock:     inst.Lock(),
		Role:     "desktop",
		Announce: true,
	})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Stop(sctx); err != nil {
			log.Error("stop backend", "err", err)
		}
	}()
	if err := d.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "flowweaver desktop backend on %s\n", d.URL())

	if *background {
		log.Info("desktop: started in the background; launch the app again to show the window")
	}

	cfg := app.Config{
		Backend:     d,
		DataDir:     *dataDir,
		Assets:      frontend.Dist(),
		Instance:    inst,
		Version:     env.Version,
		Logger:      log,
		Icon:        appIcon,
		StartHidden: *background,
		ActiveTriggers: func(ctx context.Context) (int, error) {
			sum, err := d.ActiveTriggers(ctx)
			return sum.Total(), err
		},
	}
	if app.AutostartSupported(goruntime.GOOS) {
		var err error
		if cfg.Autostart, err = app.AutostartPath(os.Getenv); err != nil {
			log.Warn("desktop: start at login unavailable", "err", err)
		}
		if abs, aerr := filepath.Abs(*dataDir); aerr == nil && chosenDir {
			cfg.AutostartArgs = []string{"--data-dir", abs}
		}
	}
	return app.Run(ctx, cfg)
}

// appIcon is the window icon on Linux and the About icon on macOS.
//
//go:embed build/linux/flowweaver.png
var appIcon []byte
