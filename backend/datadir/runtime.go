package datadir

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// RuntimeFileName is the runtime file inside the data dir.
const RuntimeFileName = "flowweaver.runtime.json"

// Runtime is what a serving process tells the command line about itself:
// where its API listens. It is written once the process accepts
// connections and removed when it stops; after a crash it stays behind,
// stale, which is why readers check it against the lock (Live).
type Runtime struct {
	PID       int       `json:"pid"`
	Kind      string    `json:"kind"`
	URL       string    `json:"url"`
	StartedAt time.Time `json:"startedAt"`
	Version   string    `json:"version,omitempty"`
}

// WriteRuntime publishes rt (PID and Kind default to the lock's holder)
// through a temp file and a rename, so a reader sees the old file or the
// new one, never half of one. Mode 0600: the address is only for this user.
func (l *Lock) WriteRuntime(rt Runtime) error {
	if rt.PID == 0 {
		rt.PID = l.holder.PID
	}
	if rt.Kind == "" {
		rt.Kind = l.holder.Kind
	}
	if rt.StartedAt.IsZero() {
		rt.StartedAt = time.Now().UTC()
	}
	b, err := json.MarshalIndent(rt, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(l.dir, RuntimeFileName), append(b, '\n'))
}

// RemoveRuntime withdraws the runtime file (a stopping process first stops
// advertising itself, then shuts down).
func (l *Lock) RemoveRuntime() error {
	err := os.Remove(filepath.Join(l.dir, RuntimeFileName))
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

// ReadRuntime reads the runtime file of dir. It returns an error wrapping
// os.ErrNotExist when no process advertises itself there. The content may
// be stale: Live tells.
func ReadRuntime(dir string) (*Runtime, error) {
	b, err := os.ReadFile(filepath.Join(dir, RuntimeFileName))
	if err != nil {
		return nil, err
	}
	var rt Runtime
	if err := json.Unmarshal(b, &rt); err != nil {
		return nil, fmt.Errorf("parse %s: %w", RuntimeFileName, err)
	}
	if rt.URL == "" || rt.PID <= 0 {
		return nil, fmt.Errorf("%s names no url or pid", RuntimeFileName)
	}
	return &rt, nil
}

// Live reports whether rt plausibly belongs to the process that holds the
// lock now: the lock file names the same PID and that process exists. A
// runtime file left by a crash names a dead PID, or the lock file names a
// newer holder. It is a hint, checked without touching the lock (taking
// the lock even for a moment could turn away a starting server); the
// caller still confirms by talking to rt.URL.
func Live(dir string, rt *Runtime) bool {
	return rt != nil && ReadHolder(dir).PID == rt.PID && pidAlive(rt.PID)
}

// writeFileAtomic writes a 0600 file through a temp file and a rename.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	name := tmp.Name()
	fail := func(err error) error {
		_ = tmp.Close()
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(name, path); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
