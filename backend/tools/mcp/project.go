package mcp

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/trust"
)

// project holds the servers of one open project. Lock order: Source.mu,
// then project.mu, then server.mu; gmu is a leaf lock that only guards the
// goroutine gate.
type project struct {
	src    *Source
	id     string
	dir    string
	ctx    context.Context // canceled by close: aborts starts and the poller
	cancel context.CancelFunc

	gmu     sync.Mutex
	gclosed bool
	wg      sync.WaitGroup // every goroutine working for this project

	mu       sync.Mutex
	loaded   bool
	stale    bool // re-expand the files even if they did not change (a secret changed)
	files    []fileState
	servers  map[string]*server
	problems []ServerStatus
	keyed    bool   // toolsKey holds a real fingerprint
	toolsKey string // fingerprint of the tool list last returned or announced
}

func newProject(s *Source, id, dir string) *project {
	ctx, cancel := context.WithCancel(s.ctx)
	p := &project{src: s, id: id, dir: dir, ctx: ctx, cancel: cancel, servers: map[string]*server{}}
	if s.o.PollInterval > 0 {
		p.spawn(p.poll)
	}
	return p
}

// spawn runs f in a goroutine owned by the project, unless the project is
// closing. close waits for all of them.
func (p *project) spawn(f func()) bool {
	p.gmu.Lock()
	defer p.gmu.Unlock()
	if p.gclosed {
		return false
	}
	p.wg.Go(f)
	return true
}

// poll re-reads the config files periodically so edits show up without a
// restart. Reading three small files is cheap and, unlike comparing mtimes,
// never misses an edit made within the same second.
func (p *project) poll() {
	t := time.NewTicker(p.src.o.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
			p.reload()
		}
	}
}

func (p *project) ensureLoaded() {
	p.mu.Lock()
	loaded := p.loaded
	p.mu.Unlock()
	if !loaded {
		p.reload()
	}
}

// reload re-reads the config files and applies any change: removed or
// modified servers are stopped, new ones start in the background (the first
// load starts nothing), and statuses plus tools.changed are published.
func (p *project) reload() { p.load(false) }

// refresh is reload even when the files did not change: the trust gate's
// answers may have.
func (p *project) refresh() { p.load(true) }

func (p *project) load(force bool) {
	files := readConfigFiles(p.dir)
	p.mu.Lock()
	if p.loaded && !p.stale && !force && sameFiles(p.files, files) {
		p.mu.Unlock()
		return
	}
	first := !p.loaded
	p.stale = false
	cfg := parseGated(p.dir, files, p.src.o.LookupEnv, p.secretLookup(), p.gate())
	next := map[string]*server{}
	var stop, fresh []*server
	for name, sc := range cfg.servers {
		old := p.servers[name]
		if old != nil && equalConfig(old.cfg, sc) && errText(old.cfgErr) == errText(cfg.errs[name]) && old.fingerprint == cfg.fps[name] {
			next[name] = old
			continue
		}
		if old != nil {
			stop = append(stop, old)
		}
		srv := newServer(p, sc, cfg.errs[name])
		srv.fingerprint = cfg.fps[name]
		next[name] = srv
		fresh = append(fresh, srv)
	}
	for name, old := range p.servers {
		if _, ok := next[name]; !ok {
			stop = append(stop, old)
		}
	}
	p.servers = next
	p.problems = cfg.problems
	p.files = files
	p.loaded = true
	for _, pb := range p.problems {
		p.publishStatus(pb)
	}
	for _, srv := range fresh {
		p.publishStatus(srv.status())
	}
	p.mu.Unlock()

	if len(stop) > 0 || len(fresh) > 0 {
		p.src.o.Logger.Info("mcp config changed", "project", p.id, "stopped", len(stop), "added", len(fresh))
	}
	var wg sync.WaitGroup
	for _, srv := range stop {
		wg.Go(func() { srv.close(p.src.o.StopGrace, StatusStopped) })
	}
	wg.Wait()
	if !first {
		for _, srv := range fresh {
			srv.kick()
		}
	}
	p.toolsChanged()
}

// mask hides the project's secret values in text (Options.MaskText).
func (p *project) mask(text string) string {
	if text == "" || p.src.o.MaskText == nil {
		return text
	}
	return p.src.o.MaskText(p.id, text)
}

// secretLookup resolves ${secret:NAME} through Options.LookupSecret.
func (p *project) secretLookup() secretLookup {
	if p.src.o.LookupSecret == nil {
		return nil
	}
	return func(name string) (string, error) { return p.src.o.LookupSecret(p.ctx, p.id, name) }
}

// gate adapts Options.Trust to the parser; nil when there is no policy.
func (p *project) gate() gateFunc {
	g := p.src.o.Trust
	if g == nil {
		return nil
	}
	return func(file, server, fp string) string {
		switch g.MCPDecision(p.ctx, p.id, trust.Entry{File: file, Server: server, Fingerprint: fp}) {
		case trust.Allowed:
			return ""
		case trust.Pending:
			return StatusPending
		}
		return StatusUntrusted
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (p *project) server(name string) *server {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.servers[name]
}

// serverList returns the servers sorted by name.
func (p *project) serverList() []*server {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sortedLocked()
}

func (p *project) sortedLocked() []*server {
	list := make([]*server, 0, len(p.servers))
	for _, s := range p.servers {
		list = append(list, s)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	return list
}

// toolsChanged returns the project's current tool list and publishes
// tools.changed when it differs from the list last returned or announced.
func (p *project) toolsChanged() []flow.Tool {
	p.mu.Lock()
	defer p.mu.Unlock()
	var list []flow.Tool
	for _, s := range p.sortedLocked() {
		list = append(list, s.toolList()...)
	}
	sortTools(list)
	key := fingerprint(list)
	if p.keyed && key != p.toolsKey {
		p.src.notify(p.id, flow.NewEvent(p.id, flow.EventToolsChanged, "", "", struct{}{}))
	}
	p.keyed, p.toolsKey = true, key
	if list == nil {
		list = []flow.Tool{}
	}
	return list
}

// status lists file problems and servers in precedence order.
func (p *project) status() []ServerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := append([]ServerStatus(nil), p.problems...)
	for _, s := range p.sortedLocked() {
		out = append(out, s.status())
	}
	for i := range out {
		out[i].Error = p.mask(out[i].Error)
	}
	rank := map[string]int{}
	for i, cf := range configFiles {
		rank[cf.Path] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return rank[out[i].File] < rank[out[j].File]
		}
		return out[i].Server < out[j].Server
	})
	return out
}

func (p *project) publishStatus(st ServerStatus) {
	p.src.notify(p.id, flow.NewEvent(p.id, flow.EventToolsStatus, "", "", statusPayload{
		Server: st.Server, File: st.File, Status: st.Status, Error: p.mask(st.Error), Fingerprint: st.Fingerprint,
	}))
}

// statusPayload is the tools.status event payload.
type statusPayload struct {
	Server string `json:"server"`
	File   string `json:"file"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Fingerprint of the entry, so a pending one can be approved from the event.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// close stops every server and waits for the project's goroutines.
func (p *project) close() {
	p.gmu.Lock()
	p.gclosed = true
	p.gmu.Unlock()
	p.cancel()
	var wg sync.WaitGroup
	for _, s := range p.serverList() {
		wg.Go(func() { s.close(p.src.o.StopGrace, StatusStopped) })
	}
	wg.Wait()
	p.wg.Wait()
}
