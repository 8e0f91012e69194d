package pgtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

// TestMain checks, through Run, that the shared cluster's supervisor
// goroutine is gone once the cluster is stopped.
func TestMain(m *testing.M) { goleak.VerifyTestMain(runner{m}) }

type runner struct{ m *testing.M }

func (r runner) Run() int { return Run(r.m) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestDBGivesEachTestAFreshIsolatedDatabase(t *testing.T) {
	ctx := context.Background()
	a, b := DB(t), DB(t)
	if a == b {
		t.Fatalf("two calls gave the same database %s", a)
	}
	ca := connect(t, a)
	if _, err := ca.Exec(ctx, `CREATE TABLE t (v int); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := connect(t, b).QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 't'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("table of database a visible in database b")
	}
}

func TestDatabaseIsDroppedWhenTheTestEnds(t *testing.T) {
	var name string
	t.Run("user", func(t *testing.T) {
		cfg, err := pgx.ParseConfig(DB(t))
		if err != nil {
			t.Fatal(err)
		}
		name = cfg.Database
	})
	var n int
	err := connect(t, Shared(t).AdminDSN()).QueryRow(context.Background(),
		`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("database %q still there after its test (n=%d, err=%v)", name, n, err)
	}
}

func TestServerIsConfiguredForThrowawayData(t *testing.T) {
	srv := Shared(t)
	conn := connect(t, DB(t))
	for _, setting := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
		var v string
		if err := conn.QueryRow(context.Background(), "SHOW "+setting).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != "off" {
			t.Errorf("%s = %s, want off", setting, v)
		}
	}
	var versionText string
	if err := conn.QueryRow(context.Background(), "SHOW server_version_num").Scan(&versionText); err != nil {
		t.Fatal(err)
	}
	version, _ := strconv.Atoi(versionText)
	if version/10000 != 15 && os.Getenv("FW_PG_BIN") == "" {
		t.Errorf("server_version_num %d, want PostgreSQL 15", version)
	}
	sock := filepath.Join(srv.SocketDir(), fmt.Sprintf(".s.PGSQL.%d", srv.Port()))
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("no unix socket in the cluster dir: %v", err)
	}
	if os.Geteuid() == 0 {
		if uid := procUID(t, srv.PID()); uid == 0 {
			t.Errorf("postmaster runs as root")
		}
	}
}

// procUID reads the real uid of a process from /proc.
func procUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			uid, err := strconv.Atoi(strings.Fields(rest)[0])
			if err != nil {
				t.Fatal(err)
			}
			return uid
		}
	}
	t.Fatalf("no Uid line for %d", pid)
	return -1
}

func TestTerminateBackendsEndsOnlyTheNamedSessions(t *testing.T) {
	srv := Shared(t)
	dsn := DB(t)
	ctx := context.Background()
	victim := connect(t, dsn+"&application_name=victim")
	bystander := connect(t, dsn+"&application_name=bystander")
	n, err := srv.TerminateBackends(ctx, dbName(t, dsn), "victim")
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("terminated %d sessions, want 1", n)
	}
	if _, err := victim.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("the terminated session still answers")
	}
	if _, err := bystander.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("the other session was hit too: %v", err)
	}
	var pid int
	if err := bystander.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if err := srv.TerminateBackend(ctx, pid); err != nil {
		t.Fatal(err)
	}
	if _, err := bystander.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("the session terminated by pid still answers")
	}
}

func dbName(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}

func TestRestartKeepsCommittedRowsAndDropsSessions(t *testing.T) {
	Skip(t)
	ctx := context.Background()
	srv, err := Start(ctx, Options{SynchronousCommit: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()
	dsn := DBOn(t, srv)
	conn := connect(t, dsn)
	if _, err := conn.Exec(ctx, `CREATE TABLE t (v int)`); err != nil {
		t.Fatal(err)
	}
	for i, how := range []Shutdown{ShutdownFast, ShutdownImmediate, ShutdownKill} {
		if _, err := conn.Exec(ctx, `INSERT INTO t VALUES ($1)`, i); err != nil {
			t.Fatal(err)
		}
		oldPID := srv.PID()
		if err := srv.Restart(ctx, how); err != nil {
			t.Fatalf("restart %d: %v", how, err)
		}
		if srv.PID() == oldPID || pidAlive(oldPID) {
			t.Fatalf("restart %d: old postmaster %d still there", how, oldPID)
		}
		if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
			t.Fatalf("restart %d: a session survived the restart", how)
		}
		conn = connect(t, dsn)
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != i+1 {
			t.Fatalf("restart %d: %d committed rows, want %d", how, n, i+1)
		}
	}
}

func TestStopServerThenStartServer(t *testing.T) {
	Skip(t)
	ctx := context.Background()
	srv, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()
	if err := srv.StopServer(ShutdownFast); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = pgx.Connect(cctx, srv.AdminDSN())
	cancel()
	if err == nil {
		t.Fatal("connected to a stopped server")
	}
	if err := srv.StartServer(ctx); err != nil {
		t.Fatal(err)
	}
	connect(t, srv.AdminDSN())
}

func TestStartWithoutBinariesSaysWhatIsMissing(t *testing.T) {
	_, err := Start(context.Background(), Options{BinDir: filepath.Join(t.TempDir(), "nowhere")})
	if err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("err = %v, want a 'not installed' error", err)
	}
}
