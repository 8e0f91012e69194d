package daemon

import (
	"github.com/flowweaver/flowweaver/backend/secrets"

	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/flowweaver/flowweaver/backend/datadir"
	"github.com/flowweaver/flowweaver/backend/store"
)

// Config is everything needed to boot a daemon. The zero value plus a
// DataDir is a working headless server on 127.0.0.1:7420.
type Config struct {
	// Addr is the listen address. Default "127.0.0.1:7420"; port 0 picks a
	// free port. A non-loopback host needs AllowRemote.
	Addr string
	// AllowRemote permits a non-loopback Addr and turns off the loopback
	// Host check (the user accepts DNS-rebinding exposure explicitly).
	AllowRemote bool
	// DataDir holds flowweaver.db and jwt.key. Required (see DefaultDataDir).
	DataDir string
	// Database is a postgres:// URL when several nodes share one
	// PostgreSQL database (docs/scale-out.md). Empty: the SQLite file
	// flowweaver.db in DataDir.
	Database string
	// SecretKeyStore is where the secrets key is kept: "auto" (default: the
	// OS keychain when one is reachable, else <DataDir>/secrets.key), "keychain"
	// or "file".
	SecretKeyStore string
	// Keychain replaces the OS keychain (tests). Nil: the real one.
	Keychain secrets.Keychain
	// Workers is the size of the run worker pool: how many runs execute at
	// once. Default 64: a run holds its worker while it waits (on a
	// process, a timer, an HTTP call, a commit), so the pool bounds runs
	// in flight rather than CPU use, and 16 let a burst of webhooks or a
	// few long delay nodes queue everything else; the engine groups the
	// writes of concurrent runs into shared transactions, so more runs in
	// flight also make bigger commits (docs/benchmarks.md). Lower it with
	// --workers for machines that run many CPU-heavy shell nodes.
	Workers int
	// DevOrigins are extra browser origins allowed on /api and /ws, such as
	// the Vite dev server (http://localhost:5173).
	DevOrigins []string
	// DesktopOrigins are the webview origins of the desktop app. Default
	// wails://wails (Linux, macOS) and http://wails.localhost (Windows).
	DesktopOrigins []string
	// TokenTTL is the lifetime of issued tokens. Default 1h.
	TokenTTL time.Duration
	// EventRetention is how many events per project the log keeps for
	// replay. Default 100,000; older ones are pruned every minute.
	EventRetention int64
	// ShutdownGrace is how long Stop lets running jobs finish before it
	// hands them back to the queue. Default 5s.
	ShutdownGrace time.Duration
	// MaxConnsPerSession caps WebSocket connections per login session.
	// Default 16.
	MaxConnsPerSession int
	// UI is the built frontend; nil serves a notice page.
	UI fs.FS
	// Version is reported by /api/health.
	Version string
	// Logger receives structured logs. Default: text to stderr.
	Logger *slog.Logger

	// Lock is the data dir lock when the caller already holds it (the
	// desktop app takes it before anything else, to hand a second launch
	// over to the window); the caller then releases it after Stop. When
	// nil, New takes it itself before opening the database and Stop
	// releases it: one process per data dir, always.
	Lock *datadir.Lock
	// Role names this process to a second one that finds the data dir
	// held: "serve", "desktop" or "run". Default "serve".
	Role string
	// Announce writes the runtime file (URL, PID, start time) into the
	// data dir once Start listens, so `flowweaver run` can hand its runs
	// over to this process. Stop removes it first thing.
	Announce bool
	// NoTriggers leaves schedules and file watchers off. A `flowweaver run`
	// process exists for one run: it must not fire the triggers of every
	// project (their slots stay for the app or serve, which fire missed
	// ones at their next start).
	NoTriggers bool
	// Passive serves the API and the event log but starts no run workers
	// and no workflow watcher: `flowweaver runs` and `flowweaver logs`
	// read a data dir that no server holds without executing the runs
	// that wait in its queue.
	Passive bool
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:7420"
	}
	if c.Workers <= 0 {
		c.Workers = 64
	}
	if c.DesktopOrigins == nil {
		c.DesktopOrigins = []string{"wails://wails", "http://wails.localhost"}
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = time.Hour
	}
	if c.EventRetention <= 0 {
		c.EventRetention = 100_000
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 5 * time.Second
	}
	if c.MaxConnsPerSession <= 0 {
		c.MaxConnsPerSession = 16
	}
	if c.Role == "" {
		c.Role = "serve"
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return c
}

// validate names the first bad field.
func (c Config) validate() error {
	if c.DataDir == "" {
		return errors.New("config: DataDir is required")
	}
	switch c.SecretKeyStore {
	case "", secrets.StoreAuto, secrets.StoreKeychain, secrets.StoreFile:
	default:
		return fmt.Errorf("config: secrets key store %q: use auto, keychain or file", c.SecretKeyStore)
	}
	if c.Database != "" && !store.IsPostgresDSN(c.Database) {
		return fmt.Errorf("config: database %q: want a postgres:// URL (leave it empty for the SQLite file in the data dir)", c.Database)
	}
	if c.Lock != nil && filepath.Clean(c.Lock.Dir()) != filepath.Clean(c.DataDir) {
		return fmt.Errorf("config: Lock holds %s, not DataDir %s", c.Lock.Dir(), c.DataDir)
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("config: Addr %q: %w", c.Addr, err)
	}
	if !c.AllowRemote && !IsLoopback(host) {
		return fmt.Errorf("config: Addr %q is not a loopback address; Flow Weaver runs shell commands for its user, so listening on the network needs --allow-remote", c.Addr)
	}
	return nil
}

// databaseDSN is what store.Open opens: Database, else the data dir's
// SQLite file.
func (c Config) databaseDSN() string {
	if c.Database != "" {
		return c.Database
	}
	return filepath.Join(c.DataDir, "flowweaver.db")
}

// IsLoopback reports whether host is a loopback IP or "localhost".
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DefaultDataDir is $FLOWWEAVER_DATA_DIR, else the OS user data dir:
// $XDG_DATA_HOME/flowweaver (default ~/.local/share/flowweaver) on Linux,
// ~/Library/Application Support/flowweaver on macOS, %LocalAppData% on
// Windows.
func DefaultDataDir() (string, error) {
	if d := os.Getenv("FLOWWEAVER_DATA_DIR"); d != "" {
		return d, nil
	}
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "flowweaver"), nil
		}
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "Library", "Application Support", "flowweaver"), nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "flowweaver"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find data dir: %w", err)
	}
	return filepath.Join(home, ".local", "share", "flowweaver"), nil
}
