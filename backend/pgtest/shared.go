package pgtest

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// shared is the one cluster of this test binary. It is package state on
// purpose: a test binary is one process, initdb costs about a second, and a
// fresh database per test (DB) isolates tests at a fraction of that.
var shared struct {
	mu      sync.Mutex
	inMain  bool // Main is running: someone will stop the cluster
	started bool
	srv     *Server
	err     error
	dbSeq   int
}

// Main runs the package's tests, stops the shared cluster and exits. Use
// it as the package's TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// If the binary dies before (a panic, a timeout, a kill), the kernel kills
// the server with it (parent-death signal) and the next run removes its
// directory.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main without the exit, for a TestMain that wraps it (goleak's
// VerifyTestMain takes anything with a Run() int): it runs the tests, then
// stops the shared cluster if a test started one, and returns the exit code
// (1 if stopping failed).
func Run(m interface{ Run() int }) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	srv := shared.srv
	shared.srv, shared.started, shared.inMain = nil, false, false
	shared.mu.Unlock()
	if srv != nil {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Shared returns the test binary's cluster, starting it on first use. It
// skips the test if the PostgreSQL binaries are absent, except under CI
// (CI set), where a missing server is an error: CI must run these tests.
func Shared(t testing.TB) *Server {
	t.Helper()
	Skip(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatal("pgtest: the shared cluster needs `func TestMain(m *testing.M) { pgtest.Main(m) }` (or pgtest.Run) in this package, which stops it")
	}
	if !shared.started {
		shared.started = true
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		shared.srv, shared.err = Start(ctx, Options{})
		cancel()
	}
	if shared.err != nil {
		t.Fatalf("pgtest: shared cluster: %v", shared.err)
	}
	return shared.srv
}

// Skip skips the test when no PostgreSQL server can run here, or fails it
// under CI (CI set), where these tests must run. Tests that start private
// servers (Start) call it first.
func Skip(t testing.TB) {
	t.Helper()
	reason := ""
	if !supported {
		reason = "throwaway PostgreSQL clusters need Linux"
	} else if ok, missing := Available(BinDir()); !ok {
		reason = fmt.Sprintf("PostgreSQL 15 server not installed (%s missing; apt-get install postgresql-15, or make system-deps; FW_PG_BIN points elsewhere)", missing)
	}
	if reason == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("pgtest: %s (CI is set: these tests must run)", reason)
	}
	t.Skipf("pgtest: %s", reason)
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// DB creates a fresh, empty database on the shared cluster for this test,
// drops it when the test ends, and returns its connection string.
func DB(t testing.TB) string {
	t.Helper()
	return DBOn(t, Shared(t))
}

// DBOn is DB on a given server (a private one from Start).
func DBOn(t testing.TB, srv *Server) string {
	t.Helper()
	shared.mu.Lock()
	shared.dbSeq++
	seq := shared.dbSeq
	shared.mu.Unlock()
	name := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	name = fmt.Sprintf("t%d_%s", seq, name)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, err := srv.CreateDatabase(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if srv.PID() == 0 {
			return // the test stopped the server and left it down
		}
		if err := srv.DropDatabase(ctx, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return dsn
}
