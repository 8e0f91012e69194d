package cli

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/flowweaver/flowweaver/backend/daemon"
)

// pprofServer serves Go's runtime profiles (net/http/pprof) on its own
// loopback listener, for `serve --pprof ADDR`. It is a separate listener,
// not a route of the API, so profiles never sit behind (or beside) the
// user's token and are never reachable from another machine: a CPU
// profile shows what the process does, and a goroutine dump shows paths
// and arguments.
type pprofServer struct {
	ln   net.Listener
	srv  *http.Server
	done chan error
}

// startPprof listens on addr, which must be a loopback address even when
// --allow-remote is given, and serves /debug/pprof/ until stop.
func startPprof(addr string) (*pprofServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, UsageError(fmt.Errorf("--pprof %q: %w", addr, err))
	}
	if !daemon.IsLoopback(host) {
		return nil, UsageError(fmt.Errorf("--pprof %q: profiles are served on a loopback address only (127.0.0.1, ::1 or localhost)", addr))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	p := &pprofServer{ln: ln, done: make(chan error, 1),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() { p.done <- p.srv.Serve(ln) }()
	return p, nil
}

// URL is where the profiles are listed.
func (p *pprofServer) URL() string { return "http://" + p.ln.Addr().String() + "/debug/pprof/" }

// stop closes the listener and in-flight profile requests (a 30 s CPU
// profile must not hold up shutdown) and waits for the serve loop to end.
func (p *pprofServer) stop() error {
	err := p.srv.Close()
	if serr := <-p.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

// withPprof runs fn with a profile listener on addr when addr is set.
func withPprof(env *Env, addr string, fn func() error) error {
	if addr == "" {
		return fn()
	}
	p, err := startPprof(addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "flowweaver: profiles on %s\n", p.URL())
	ferr := fn()
	if err := p.stop(); err != nil && ferr == nil {
		ferr = fmt.Errorf("stop pprof: %w", err)
	}
	return ferr
}
