package datadir

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAcquireRefusesSecondHolderNamingFirst(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "serve")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir, "run")
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("second acquire: %v", err)
	}
	if le.Holder.PID != os.Getpid() || le.Holder.Kind != "serve" {
		t.Fatalf("holder %+v", le.Holder)
	}
	if msg := err.Error(); !strings.Contains(msg, "flowweaver serve (pid ") || !strings.Contains(msg, dir) {
		t.Fatalf("message %q", msg)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil { // idempotent
		t.Fatal(err)
	}
	l2, err := Acquire(dir, "run")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	_ = l2.Release()
}

func TestAcquireConcurrentExactlyOne(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	var wg sync.WaitGroup
	locks := make(chan *Lock, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			l, err := Acquire(dir, "serve")
			if err == nil {
				locks <- l
			} else if !errors.Is(err, ErrLocked) {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(locks)
	got := 0
	for l := range locks {
		got++
		_ = l.Release()
	}
	if got != 1 {
		t.Fatalf("%d holders, want 1", got)
	}
}

func TestRuntimeFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadRuntime(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no file: %v", err)
	}
	l, err := Acquire(dir, "serve")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WriteRuntime(Runtime{URL: "http://127.0.0.1:1234", Version: "t"}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, RuntimeFileName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("runtime file: %v %v", st, err)
	}
	rt, err := ReadRuntime(dir)
	if err != nil || rt.URL != "http://127.0.0.1:1234" || rt.PID != os.Getpid() || rt.Kind != "serve" || rt.StartedAt.IsZero() {
		t.Fatalf("runtime %+v %v", rt, err)
	}
	if !Live(dir, rt) {
		t.Fatal("runtime of the holder is not live")
	}
	// A file that names another PID (a crashed holder's) is stale.
	if Live(dir, &Runtime{PID: rt.PID + 1, URL: rt.URL}) {
		t.Fatal("foreign pid is live")
	}
	_ = l.Release()
	if _, err := os.Stat(filepath.Join(dir, RuntimeFileName)); !os.IsNotExist(err) {
		t.Fatalf("runtime file left after release: %v", err)
	}
	if Live(dir, rt) {
		t.Fatal("released holder still live")
	}
}

func TestRuntimeFileGarbageIsAnError(t *testing.T) {
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, RuntimeFileName), []byte("{not json"), 0o600)
	if _, err := ReadRuntime(dir); err == nil {
		t.Fatal("garbage runtime file accepted")
	}
	_ = os.WriteFile(filepath.Join(dir, RuntimeFileName), []byte(`{"pid":1}`), 0o600)
	if _, err := ReadRuntime(dir); err == nil {
		t.Fatal("runtime file without url accepted")
	}
}

func TestReadHolderWaitsForName(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LockFileName)
	_ = os.WriteFile(path, nil, 0o600)
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = os.WriteFile(path, []byte(`{"pid":42,"kind":"desktop"}`+"\n"), 0o600)
	}()
	if h := readHolder(path, 10*time.Second); h.PID != 42 || h.Kind != "desktop" {
		t.Fatalf("holder %+v", h)
	}
}

// holdAsDeadProcess takes the lock on a second open file description
// (flock conflicts across descriptions, also within one process) and
// names a process that has exited as its holder: what a restart meets when
// a SIGKILLed server's half-started child still shares the lock file.
func holdAsDeadProcess(t *testing.T, dir string) *os.File {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, LockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := tryLock(f)
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	if _, err := fmt.Fprintf(f, `{"pid":%d,"kind":"serve"}`+"\n", cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAcquireWaitsOutALockWhoseNamedHolderIsDead(t *testing.T) {
	dir := t.TempDir()
	f := holdAsDeadProcess(t, dir)
	go func() {
		time.Sleep(300 * time.Millisecond) // the orphan dies
		_ = f.Close()
	}()
	l, err := Acquire(dir, "serve")
	if err != nil {
		t.Fatalf("acquire after the orphan died: %v", err)
	}
	_ = l.Release()
}

func TestAcquireRefusesWhenALockOfADeadHolderStaysHeld(t *testing.T) {
	dir := t.TempDir()
	f := holdAsDeadProcess(t, dir)
	defer func() { _ = f.Close() }()
	_, err := Acquire(dir, "serve")
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("want ErrLocked after %v, got %v", orphanWait, err)
	}
}
