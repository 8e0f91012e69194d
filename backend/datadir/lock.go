// Package datadir guards a Flow Weaver data directory: one OS file lock
// that makes exactly one process (serve, the desktop app or an in-process
// `flowweaver run`) its owner, and a small runtime file through which the
// command line finds the running owner to hand runs over to it.
//
// The lock is the truth. It is taken before the database is opened, the
// kernel drops it when its process dies (also on kill -9), and everything
// else written here (who holds it, where it listens) is a hint that a
// reader checks against the lock.
package datadir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// LockFileName is the lock file inside the data dir. Its content names the
// holder; the lock itself is an advisory OS lock on the open file.
const LockFileName = "flowweaver.lock"

// ErrLocked matches (errors.Is) every LockedError.
var ErrLocked = errors.New("data directory is in use by another flow weaver process")

// Holder says who holds a data dir. It is written into the lock file.
type Holder struct {
	PID int `json:"pid"`
	// Kind is what the holder is: "serve", "desktop" or "run".
	Kind  string    `json:"kind"`
	Since time.Time `json:"since"`
}

func (h Holder) describe() string {
	what := "flowweaver"
	if h.Kind != "" {
		what = "flowweaver " + h.Kind
		if h.Kind == "desktop" {
			what = "the flow weaver desktop app"
		}
	}
	if h.PID == 0 {
		return what + " (pid unknown)"
	}
	s := fmt.Sprintf("%s (pid %d", what, h.PID)
	if !h.Since.IsZero() {
		s += ", since " + h.Since.Local().Format("2006-01-02 15:04:05")
	}
	return s + ")"
}

// LockedError is returned by Acquire when another process holds the data
// dir. Holder.PID is 0 when the holder has not written its name yet.
type LockedError struct {
	Dir    string
	Holder Holder
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("data directory %s is in use by %s; stop it or pass another --data-dir", e.Dir, e.Holder.describe())
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lock is the held lock of one data dir. Release (or the death of the
// process) frees it.
type Lock struct {
	dir    string
	f      *os.File
	holder Holder

	mu       sync.Mutex
	released bool
}

// Acquire makes this process the owner of dir (created 0700 if missing),
// without waiting. kind names this process to a later one that is refused
// ("serve", "desktop", "run"). When another process holds dir, the error
// is a *LockedError naming it.
func Acquire(dir, kind string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	ok, err := tryLockOrOrphan(f, path)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		_ = f.Close()
		return nil, &LockedError{Dir: dir, Holder: readHolder(path, time.Second)}
	}
	h := Holder{PID: os.Getpid(), Kind: kind, Since: time.Now().UTC().Truncate(time.Second)}
	b, _ := json.Marshal(h)
	// The name is written in place (not by rename: the lock belongs to
	// this inode); a reader racing with it sees nothing or a partial line
	// and retries.
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt(append(b, '\n'), 0)
	}
	if err != nil {
		_ = unlock(f)
		_ = f.Close()
		return nil, fmt.Errorf("write lock file: %w", err)
	}
	return &Lock{dir: dir, f: f, holder: h}, nil
}

// orphanWait bounds how long Acquire waits for a lock whose named holder
// is already dead.
const orphanWait = 3 * time.Second

// tryLockOrOrphan takes the lock without waiting, except in one case: the
// holder named in the lock file is dead. A process killed with SIGKILL
// while it was starting a child leaves that child, between fork and exec,
// sharing the open lock file for the few milliseconds it takes the
// parent-death signal to kill it. The lock is then held by nobody that
// will serve, so a restart waits for it to go instead of refusing.
func tryLockOrOrphan(f *os.File, path string) (bool, error) {
	deadline := time.Now().Add(orphanWait)
	for {
		ok, err := tryLock(f)
		if ok || err != nil {
			return ok, err
		}
		h := readHolder(path, 0)
		if h.PID <= 0 || pidAlive(h.PID) || time.Now().After(deadline) {
			return false, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Dir is the data dir this lock holds.
func (l *Lock) Dir() string { return l.dir }

// Holder is this process as written into the lock file.
func (l *Lock) Holder() Holder { return l.holder }

// Release removes the runtime file, empties the lock file and frees the
// lock. It is idempotent.
func (l *Lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	l.released = true
	// Clean up while still holding the lock, so a new owner never sees
	// its own files removed.
	_ = os.Remove(filepath.Join(l.dir, RuntimeFileName))
	_ = l.f.Truncate(0)
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadHolder reads who holds dir from its lock file, without taking the
// lock: a hint for messages (the file may name a holder that just died).
func ReadHolder(dir string) Holder { return readHolder(filepath.Join(dir, LockFileName), 0) }

// readHolder reads the name the holder wrote into the lock file. The
// holder may be between taking the lock and writing its name, so an empty
// or partial file is read again for a moment before giving up.
func readHolder(path string, wait time.Duration) Holder {
	deadline := time.Now().Add(wait)
	for {
		b, err := os.ReadFile(path)
		var h Holder
		if err == nil && json.Unmarshal([]byte(strings.TrimSpace(string(b))), &h) == nil && h.PID > 0 {
			return h
		}
		if time.Now().After(deadline) {
			return Holder{}
		}
		time.Sleep(20 * time.Millisecond)
	}
}
