package daemon_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/daemon"
	"github.com/flowweaver/flowweaver/backend/datadir"
)

// TestSecondDaemonOnHeldDataDirRefused: a second daemon on the same data
// dir fails before opening the database, naming the holder, and the first
// keeps serving; the runtime file names the first while it runs and is
// gone after Stop, when the data dir is free again.
func TestSecondDaemonOnHeldDataDirRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := daemon.New(ctx, daemon.Config{Addr: "127.0.0.1:0", DataDir: dir, Workers: 1, Announce: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	rt, err := datadir.ReadRuntime(dir)
	if err != nil || rt.URL != d.URL() || rt.PID != os.Getpid() || rt.Kind != "serve" {
		t.Fatalf("runtime file %+v %v", rt, err)
	}
	if !datadir.Live(dir, rt) {
		t.Fatal("runtime file of the running daemon is not live")
	}

	_, err = daemon.New(ctx, daemon.Config{Addr: "127.0.0.1:0", DataDir: dir, Role: "run"})
	var le *datadir.LockedError
	if !errors.As(err, &le) || le.Holder.PID != os.Getpid() {
		t.Fatalf("second daemon: %v", err)
	}
	tok, _, _ := d.Token(time.Minute)
	if code, _, _ := do(t, "GET", d.URL()+"/api/projects", tok, ""); code != 200 {
		t.Fatalf("first daemon after the refusal: %d", code)
	}

	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, datadir.RuntimeFileName)); !os.IsNotExist(err) {
		t.Fatalf("runtime file after stop: %v", err)
	}
	d2, err := daemon.New(ctx, daemon.Config{Addr: "127.0.0.1:0", DataDir: dir, Workers: 1})
	if err != nil {
		t.Fatalf("data dir not free after stop: %v", err)
	}
	_ = d2.Stop(sctx)
}

// TestDaemonWithCallersLock: a daemon given the caller's lock uses it and
// leaves releasing it to the caller.
func TestDaemonWithCallersLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := datadir.Acquire(dir, "desktop")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Release() }()
	d, err := daemon.New(ctx, daemon.Config{Addr: "127.0.0.1:0", DataDir: dir, Workers: 1, Lock: l})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := datadir.Acquire(dir, "run"); !errors.Is(err, datadir.ErrLocked) {
		t.Fatalf("the caller's lock was released by the daemon: %v", err)
	}
	if _, err := daemon.New(ctx, daemon.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Lock: l}); err == nil {
		t.Fatal("a lock of another dir was accepted")
	}
}
