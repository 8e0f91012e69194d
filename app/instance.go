package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/datadir"
)

// The single-instance guard is the data dir lock of backend/datadir, the
// same one `flowweaver serve` and an in-process `flowweaver run` take,
// rather than Wails' SingleInstanceLock: on Linux Wails' lock needs a
// D-Bus session bus (absent under Xvfb, in containers, over ssh) and it
// runs in parallel with OnStartup, so it cannot keep a second process away
// from the database. An OS file lock taken before the database opens can,
// on every platform, and it is scoped per data dir, so a test instance
// with its own FLOWWEAVER_DATA_DIR never collides with the user's app.
// On top of the lock, the desktop instance serves focus requests, so a
// second launch brings the running window to the front.

const instanceFileName = "desktop.instance.json"

// ErrAlreadyRunning is returned by Acquire in a second process after it
// handed its launch to the running instance, which brings its window to
// the front. The second process should exit successfully.
var ErrAlreadyRunning = errors.New("flow weaver is already running with this data directory; its window was brought to the front")

// ErrBusy is returned by Acquire when another process holds the data
// directory and is not a desktop window to focus (a `flowweaver serve`, a
// `flowweaver run`), or did not answer the focus request in time. The
// error also matches datadir.ErrLocked and names the holder.
var ErrBusy = errors.New("another flow weaver process holds the data directory and did not answer")

// Launch is what a second launch tells the running instance.
type Launch struct {
	Args             []string `json:"args"`
	WorkingDirectory string   `json:"workingDirectory"`
}

// instanceInfo is the content of desktop.instance.json: where the running
// instance listens for focus requests and the secret it wants to see.
type instanceInfo struct {
	PID    int    `json:"pid"`
	Addr   string `json:"addr"`
	Secret string `json:"secret"`
}

// Instance is the lock held by the one desktop process of a data
// directory. It serves focus requests of later launches on a loopback
// port whose address and secret are in a 0600 file in the data dir.
type Instance struct {
	dir      string
	lock     *datadir.Lock
	srv      *http.Server
	secret   string
	launches chan Launch
	wg       sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// AcquireOptions tunes Acquire; the zero value is the default.
type AcquireOptions struct {
	// Wait bounds how long a second process tries to reach the running
	// one (which may itself still be starting). Default 5s.
	Wait time.Duration
}

// Acquire makes this process the desktop instance of dataDir, or, when
// another process already is, sends it launch and returns
// ErrAlreadyRunning (or ErrBusy when it does not answer within Wait).
func Acquire(ctx context.Context, dataDir string, launch Launch, opts AcquireOptions) (*Instance, error) {
	if opts.Wait <= 0 {
		opts.Wait = 5 * time.Second
	}
	lock, err := datadir.Acquire(dataDir, "desktop")
	var held *datadir.LockedError
	if errors.As(err, &held) {
		if held.Holder.Kind != "desktop" && held.Holder.PID != 0 {
			return nil, fmt.Errorf("%w: %w", ErrBusy, held)
		}
		if err := signalRunning(ctx, dataDir, launch, opts.Wait); err != nil {
			return nil, fmt.Errorf("%w (%w)", err, held)
		}
		return nil, ErrAlreadyRunning
	}
	if err != nil {
		return nil, err
	}
	in := &Instance{dir: dataDir, lock: lock, launches: make(chan Launch, 4)}
	if err := in.serve(); err != nil {
		in.release()
		return nil, err
	}
	return in, nil
}

// Lock is the data dir lock this instance holds; the daemon of the
// window runs under it (daemon.Config.Lock).
func (in *Instance) Lock() *datadir.Lock { return in.lock }

// Launches delivers the launches of later processes. It is closed by Close.
func (in *Instance) Launches() <-chan Launch { return in.launches }

func (in *Instance) serve() error {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("instance secret: %w", err)
	}
	in.secret = hex.EncodeToString(b[:])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for second launches: %w", err)
	}
	// The secret is meant to be in this file (mode 0600 in the data dir): a
	// second launch proves it may talk to the first by reading it.
	info, _ := json.Marshal(instanceInfo{PID: os.Getpid(), Addr: ln.Addr().String(), Secret: in.secret}) //nolint:gosec // G117: see above
	if err := writeFileAtomic(filepath.Join(in.dir, instanceFileName), info); err != nil {
		_ = ln.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /focus", in.focus)
	in.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		_ = in.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return nil
}

func (in *Instance) focus(w http.ResponseWriter, r *http.Request) {
	got := []byte(r.Header.Get("Authorization"))
	want := []byte("Bearer " + in.secret)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	var l Launch
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&l); err != nil {
		http.Error(w, "bad launch: "+err.Error(), http.StatusBadRequest)
		return
	}
	select {
	case in.launches <- l:
	default: // a burst of launches needs one focus, not a queue
	}
	w.WriteHeader(http.StatusNoContent)
}

// Close stops serving, removes the instance file and releases the lock.
// It is idempotent.
func (in *Instance) Close() error {
	in.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if in.srv != nil {
			in.closeErr = in.srv.Shutdown(ctx)
		}
		in.wg.Wait()
		close(in.launches)
		in.release()
	})
	return in.closeErr
}

func (in *Instance) release() {
	// Remove the file while still holding the lock, so a new primary never
	// sees its own file deleted.
	_ = os.Remove(filepath.Join(in.dir, instanceFileName)) //nolint:gosec // G703: the data dir is the user's own choice (flag, env or OS default), not remote input
	_ = in.lock.Release()
}

// signalRunning hands launch to the running instance. The instance file
// may be missing or stale for a moment (the other process is starting, or
// a crashed one left it), so it retries until wait is over.
func signalRunning(ctx context.Context, dataDir string, launch Launch, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	body, _ := json.Marshal(launch)
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		last = postFocus(ctx, client, dataDir, body)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ErrBusy, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func postFocus(ctx context.Context, client *http.Client, dataDir string, body []byte) error {
	b, err := os.ReadFile(filepath.Join(dataDir, instanceFileName)) //nolint:gosec // G703: the data dir is the user's own choice (flag, env or OS default), not remote input
	if err != nil {
		return fmt.Errorf("read instance file: %w", err)
	}
	var info instanceInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return fmt.Errorf("parse instance file: %w", err)
	}
	host, _, err := net.SplitHostPort(info.Addr)
	if err != nil || net.ParseIP(host) == nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("instance file names %q, not a loopback address", info.Addr)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+info.Addr+"/focus", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+info.Secret)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("reach running instance (pid %d): %w", info.PID, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusNoContent {
		return fmt.Errorf("running instance (pid %d) answered %s", info.PID, res.Status)
	}
	return nil
}

// writeFileAtomic writes a 0600 file through a temp file and a rename, so
// readers see the old content or the new one, never half.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	name := tmp.Name()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(name, path); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
