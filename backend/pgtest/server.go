// Package pgtest starts real, throwaway PostgreSQL clusters for tests: initdb
// into a temporary directory, a postmaster on a free loopback port with its
// unix socket in that directory, durability switched off (the data dies with
// the test), and nothing left running or on disk when the test binary ends.
//
// Most tests use the shared cluster (one per test binary, see Main and DB);
// Start gives a private one to tests that stop or break the server itself.
//
// Why a real server and not a mock: the store's guarantees (SKIP LOCKED
// claims, fencing, gapless sequences, LISTEN/NOTIFY wake-ups) are properties
// of PostgreSQL itself, and only PostgreSQL can show them.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultBinDir is where Debian's postgresql-15 package installs the server.
// FW_PG_BIN overrides it (another version, another layout).
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// dirPrefix names every cluster directory, so a later run can find and
// remove the ones a killed test binary could not clean up.
const dirPrefix = "flowweaver-pgtest-"

// Options tune a cluster. The zero value is what tests want.
type Options struct {
	// BinDir holds initdb and postgres; empty means FW_PG_BIN or DefaultBinDir.
	BinDir string
	// SynchronousCommit keeps synchronous_commit on. Off (the default) a
	// commit returns before its WAL reaches the OS, so a crash of the server
	// (ShutdownImmediate, ShutdownKill) loses the last few hundred
	// milliseconds of acknowledged commits, as PostgreSQL documents. Tests
	// that crash the server and count what survived want it on; fsync stays
	// off either way (the OS keeps what was written across a process crash).
	SynchronousCommit bool
	// Durable keeps fsync, synchronous_commit and full_page_writes on, as a
	// production server runs: for benchmarks, not tests.
	Durable bool
	// MaxConnections is the server's max_connections; 0 means 300, enough for
	// several serve processes with their pools plus the test's own.
	MaxConnections int
}

// Shutdown is how Restart (and Stop) end the running postmaster.
type Shutdown int

const (
	// ShutdownFast is an orderly shutdown: sessions are disconnected,
	// a checkpoint is written (SIGINT, pg_ctl's "fast" mode).
	ShutdownFast Shutdown = iota
	// ShutdownImmediate aborts without a checkpoint; the next start
	// replays the WAL (SIGQUIT, pg_ctl's "immediate" mode).
	ShutdownImmediate
	// ShutdownKill is a crash: SIGKILL to the postmaster and every backend.
	ShutdownKill
)

// Server is one running throwaway PostgreSQL cluster.
type Server struct {
	binDir string
	dir    string // owned by the server's OS user: data/, the socket, the log
	port   int
	maxCon int
	sync   bool
	dur    bool
	cred   *credential // nil when not running as root

	mu   sync.Mutex
	proc *postmaster // nil while stopped
}

// BinDir returns the directory the PostgreSQL binaries are taken from.
func BinDir() string {
	if d := os.Getenv("FW_PG_BIN"); d != "" {
		return d
	}
	return DefaultBinDir
}

// Available reports whether the PostgreSQL server binaries are installed,
// and if not, which file is missing.
func Available(binDir string) (bool, string) {
	for _, name := range []string{"initdb", "postgres"} {
		p := filepath.Join(binDir, name)
		if _, err := os.Stat(p); err != nil {
			return false, p
		}
	}
	return true, ""
}

// Start creates and starts a new cluster. The caller must Stop it.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if !supported {
		return nil, errors.New("pgtest: throwaway PostgreSQL clusters need Linux")
	}
	binDir := opts.BinDir
	if binDir == "" {
		binDir = BinDir()
	}
	if ok, missing := Available(binDir); !ok {
		return nil, fmt.Errorf("pgtest: PostgreSQL server not installed (%s missing; Debian: apt-get install postgresql-15)", missing)
	}
	sweepStale(os.TempDir())
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("pgtest: temp dir: %w", err)
	}
	s := &Server{binDir: binDir, dir: dir, maxCon: opts.MaxConnections, sync: opts.SynchronousCommit || opts.Durable, dur: opts.Durable, cred: cred}
	if s.maxCon == 0 {
		s.maxCon = 300
	}
	if err := s.prepare(ctx); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// A port taken between picking and binding is retried with another one.
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			break
		}
		if err = s.start(ctx); err == nil || attempt == 4 || !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// prepare writes the owner file and runs initdb as the server's OS user.
func (s *Server) prepare(ctx context.Context) error {
	owner := filepath.Join(s.dir, "owner")
	if err := os.WriteFile(owner, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return fmt.Errorf("pgtest: owner file: %w", err)
	}
	// initdb refuses to run as root, and the postmaster must own its data
	// directory: the whole temp dir goes to the server's user.
	if err := giveTo(s.dir, s.cred); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, "initdb"),
		"-D", s.dataDir(), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
		"--locale=C", "--no-sync", "--no-instructions")
	cmd.Dir = s.dir
	asServerUser(cmd, s.cred)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pgtest: initdb in %s: %w\n%s", s.dir, err, out.String())
	}
	return nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

// LogPath is the server log, worth reading when a test fails.
func (s *Server) LogPath() string { return filepath.Join(s.dir, "postgres.log") }

// Port is the loopback TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// SocketDir holds the server's unix socket.
func (s *Server) SocketDir() string { return s.dir }

// DSN is a connection string for database db as the superuser postgres.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// AdminDSN connects to the maintenance database "postgres".
func (s *Server) AdminDSN() string { return s.DSN("postgres") }

// PID is the postmaster's process id, 0 while stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.pid
}

// start launches the postmaster and waits until it accepts connections.
func (s *Server) start(ctx context.Context) error {
	logf, err := os.OpenFile(s.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgtest: log file: %w", err)
	}
	logStart, _ := logf.Seek(0, 2)
	args := []string{
		"-D", s.dataDir(),
		"-p", strconv.Itoa(s.port),
		"-k", s.dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections=" + strconv.Itoa(s.maxCon),
		// The data is thrown away after the test: durability buys nothing.
		"-c", "fsync=" + onOff(s.dur),
		"-c", "synchronous_commit=" + onOff(s.sync),
		"-c", "full_page_writes=" + onOff(s.dur),
		"-c", "log_min_messages=warning",
		"-c", "log_line_prefix=%m [%p] %a ",
	}
	p, err := launch(filepath.Join(s.binDir, "postgres"), args, s.dir, s.cred, logf)
	_ = logf.Close()
	if err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	if err := s.waitReady(ctx, p); err != nil {
		p.kill()
		return fmt.Errorf("%w\n%s", err, s.logSince(logStart))
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return nil
}

// waitReady polls until a connection succeeds or the postmaster exits.
func (s *Server) waitReady(ctx context.Context, p *postmaster) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, s.AdminDSN())
		ccancel()
		if err == nil {
			_ = conn.Close(ctx)
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("pgtest: postgres exited during start: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres not ready on port %d: %w (last: %v)", s.port, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logSince returns the server log written after offset, for error messages.
func (s *Server) logSince(offset int64) string {
	b, err := os.ReadFile(s.LogPath())
	if err != nil || offset > int64(len(b)) {
		return ""
	}
	return string(b[offset:])
}

// Restart stops the postmaster the way how says and starts it again on the
// same port and data directory; connections see errors and must reconnect.
func (s *Server) Restart(ctx context.Context, how Shutdown) error {
	if err := s.stopProcess(how); err != nil {
		return err
	}
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		if err = s.start(ctx); err == nil {
			return nil
		}
		// After a kill the old shared memory or port may be released a
		// moment later; try again instead of failing the test.
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
	return err
}

// StopServer stops the postmaster without removing the cluster, so a test
// can observe "PostgreSQL is down"; StartServer brings it back.
func (s *Server) StopServer(how Shutdown) error { return s.stopProcess(how) }

// StartServer starts a cluster stopped by StopServer.
func (s *Server) StartServer(ctx context.Context) error {
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if running {
		return nil
	}
	return s.Restart(ctx, ShutdownFast)
}

// Stop ends the server and every backend, waits until they are gone and
// removes the cluster directory. It is safe to call twice.
func (s *Server) Stop() error {
	err := s.stopProcess(ShutdownImmediate)
	if rmErr := os.RemoveAll(s.dir); rmErr != nil && err == nil {
		err = fmt.Errorf("pgtest: remove %s: %w", s.dir, rmErr)
	}
	return err
}

func (s *Server) stopProcess(how Shutdown) error {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.shutdown(how, 30*time.Second)
}

// TerminateBackends ends, with pg_terminate_backend, every session on
// database db whose application_name is appName (any name if empty), except
// the one asking. It returns how many were ended.
func (s *Server) TerminateBackends(ctx context.Context, db, appName string) (int, error) {
	conn, err := pgx.Connect(ctx, s.AdminDSN())
	if err != nil {
		return 0, fmt.Errorf("pgtest: connect: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
		FROM pg_stat_activity
		WHERE datname = $1 AND ($2 = '' OR application_name = $2) AND pid <> pg_backend_pid()`,
		db, appName).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pgtest: terminate backends on %s: %w", db, err)
	}
	return n, nil
}

// TerminateBackend ends one session by its backend process id.
func (s *Server) TerminateBackend(ctx context.Context, pid int) error {
	conn, err := pgx.Connect(ctx, s.AdminDSN())
	if err != nil {
		return fmt.Errorf("pgtest: connect: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil {
		return fmt.Errorf("pgtest: terminate backend %d: %w", pid, err)
	}
	if !ok {
		return fmt.Errorf("pgtest: backend %d not terminated", pid)
	}
	return nil
}

// CreateDatabase creates an empty database from template0 and returns its DSN.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	conn, err := pgx.Connect(ctx, s.AdminDSN())
	if err != nil {
		return "", fmt.Errorf("pgtest: connect: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0"); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return s.DSN(name), nil
}

// DropDatabase drops a database, ending the sessions still connected to it.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.AdminDSN())
	if err != nil {
		return fmt.Errorf("pgtest: connect: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", name, err)
	}
	return nil
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// sweepStale removes cluster directories left by test binaries that were
// killed before they could clean up (their postmaster died with them).
func sweepStale(tmp string) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner"))
		if err != nil {
			continue // not ours, or still being created
		}
		owner, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pidAlive(owner) || postmasterAlive(d) {
			continue
		}
		_ = os.RemoveAll(d)
	}
}

// postmasterAlive reads data/postmaster.pid, whose first line is the pid.
func postmasterAlive(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	return err == nil && pidAlive(pid)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
