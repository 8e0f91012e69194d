package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Verifier checks a bearer token. It returns a *flow.Error with code
// flow.EUNAUTHORIZED or flow.ETOKENEXPIRED when the token is refused.
// backend/auth implements it.
type Verifier interface {
	Verify(token string) (*flow.Principal, error)
}

// Projects answers whether a project exists (404 on the handshake).
type Projects interface {
	ProjectExists(ctx context.Context, id string) (bool, error)
}

// ProjectsFunc adapts a function to Projects, e.g. a closure over
// store.DB.Project that maps not_found to false.
type ProjectsFunc func(ctx context.Context, id string) (bool, error)

// ProjectExists implements Projects.
func (f ProjectsFunc) ProjectExists(ctx context.Context, id string) (bool, error) { return f(ctx, id) }

// Log is the durable event log the hub replays from. *store.DB satisfies it.
type Log interface {
	// EventsAfter returns up to limit durable events of the project on the
	// channel with seq > since, in seq order.
	EventsAfter(ctx context.Context, projectID, channel string, since int64, limit int) ([]flow.Event, error)
	// SeqRange returns the oldest retained and the latest seq of the project.
	SeqRange(ctx context.Context, projectID string) (oldest, last int64, err error)
}

// Watcher learns which projects this hub holds sockets for. On a cluster
// of nodes (backend/fanout) it brings other nodes' events of those
// projects. Watch runs before the connection can subscribe, so whatever
// the watcher publishes from then on reaches the subscription live or by
// its replay; each Watch is paired with one Unwatch when the socket ends.
type Watcher interface {
	Watch(ctx context.Context, projectID string) error
	Unwatch(projectID string)
}

// Config configures a Hub. Verifier, Projects and Log are required; every
// other field has the documented default when left zero.
type Config struct {
	Verifier Verifier
	Projects Projects
	Log      Log
	// Commands serves the client commands (tools.list, run.start, ...) and
	// the channel snapshots. When nil, commands answer "unavailable", the
	// project:/tools: snapshots are null and run:/workflow: channels cannot
	// be authorized (forbidden).
	Commands flow.Commands
	// Watcher is told of every socket's project (optional; see Watcher). A
	// Watch error refuses the handshake with 503.
	Watcher Watcher
	// Stats returns the queue statistics shown on the system channel
	// ("queue"). Optional.
	Stats func() any
	// Logger receives internal errors. Default slog.Default().
	Logger *slog.Logger

	// MaxConnsPerSession caps the connections one login session (the
	// token's sid) may hold across all projects; more are refused with 429.
	// Default 16.
	MaxConnsPerSession int
	// ReadLimit is the largest client frame accepted; a bigger one closes
	// the connection with 1009. Default 64 KiB (coder/websocket's own
	// default is 32 KiB, so it is always set explicitly).
	ReadLimit int64
	// OutboundQueue is how many frames may wait for one connection's writer.
	// A connection whose queue overflows is closed with 4008 (slow consumer)
	// so no publisher ever waits for it. Default 1024.
	OutboundQueue int
	// HeartbeatInterval is the WebSocket ping period (announced as
	// heartbeatMs in welcome); no pong within two periods closes the
	// connection. Default 15s.
	HeartbeatInterval time.Duration
	// SlowConsumerTimeout bounds how long one batched socket write may block.
	// A peer that accepts no bytes for this long is dropped without a close
	// handshake (it cannot read one anyway). Default 10s.
	SlowConsumerTimeout time.Duration
	// EvictGrace is how long a connection evicted as a slow consumer keeps
	// its socket to take what is already being written and the 4008 close
	// frame. A reader that resumes within it learns why it was dropped; one
	// that stays stalled is cut off when it ends, which frees its slot: a
	// stalled reader is gone EvictGrace after its queue overflowed, however
	// full its socket buffers are. Default 2s.
	EvictGrace time.Duration
	// WriteDelay, when set, lets a connection's writer wait this long after
	// the first queued frame so more frames share one socket write: fewer
	// syscalls under heavy fan-out for at most this much added latency.
	// Default 0 (write as soon as something is queued).
	WriteDelay time.Duration
	// SystemInterval is the period of the system channel's monitoring
	// frame. Default 1s.
	SystemInterval time.Duration
	// MaxSubscriptions caps the channels one connection may join. Default 256.
	MaxSubscriptions int
	// BadFrameLimit and BadFrameWindow define persistent abuse: more than
	// BadFrameLimit rejected frames within BadFrameWindow close the
	// connection with 1008. Defaults 32 and 10s.
	BadFrameLimit  int
	BadFrameWindow time.Duration
	// ReplayPage is how many events one log read returns during replay.
	// Default 500.
	ReplayPage int
	// CommandTimeout bounds one client command (snapshot, run.start, ...).
	// Default 30s.
	CommandTimeout time.Duration

	// AllowedHosts, when set, is the Host allowlist (host:port, case
	// insensitive) checked before anything else (403). The daemon's HTTP
	// middleware already enforces it; this is defence in depth for a hub
	// mounted elsewhere.
	AllowedHosts []string
	// OriginPatterns lists the origins allowed besides the request's own
	// host, in coder/websocket AcceptOptions.OriginPatterns syntax: a
	// pattern with "://" is matched against "scheme://host" (e.g.
	// "wails://wails", "http://wails.localhost", "http://localhost:5173"),
	// otherwise against the origin's host. The hub checks them itself before
	// the token (the order docs/websocket.md gives) and hands the same list to Accept, so both
	// agree; InsecureSkipVerify is never used.
	OriginPatterns []string

	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxConnsPerSession == 0 {
		c.MaxConnsPerSession = 16
	}
	if c.ReadLimit == 0 {
		c.ReadLimit = 64 << 10
	}
	if c.OutboundQueue == 0 {
		c.OutboundQueue = 1024
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = 15 * time.Second
	}
	if c.SlowConsumerTimeout == 0 {
		c.SlowConsumerTimeout = 10 * time.Second
	}
	if c.EvictGrace == 0 {
		c.EvictGrace = 2 * time.Second
	}
	if c.SystemInterval == 0 {
		c.SystemInterval = time.Second
	}
	if c.MaxSubscriptions == 0 {
		c.MaxSubscriptions = 256
	}
	if c.BadFrameLimit == 0 {
		c.BadFrameLimit = 32
	}
	if c.BadFrameWindow == 0 {
		c.BadFrameWindow = 10 * time.Second
	}
	if c.ReplayPage == 0 {
		c.ReplayPage = 500
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	bad := func(field, why string) { errs = append(errs, fmt.Errorf("hub config: %s %s", field, why)) }
	if c.Verifier == nil {
		bad("Verifier", "is required")
	}
	if c.Projects == nil {
		bad("Projects", "is required")
	}
	if c.Log == nil {
		bad("Log", "is required")
	}
	if c.MaxConnsPerSession < 1 {
		bad("MaxConnsPerSession", "must be at least 1")
	}
	if c.ReadLimit < 1024 {
		bad("ReadLimit", "must be at least 1024 bytes")
	}
	if c.OutboundQueue < 1 {
		bad("OutboundQueue", "must be at least 1")
	}
	if c.HeartbeatInterval < 10*time.Millisecond {
		bad("HeartbeatInterval", "must be at least 10ms")
	}
	if c.EvictGrace <= 0 {
		bad("EvictGrace", "must be positive")
	}
	if c.SlowConsumerTimeout <= 0 {
		bad("SlowConsumerTimeout", "must be positive")
	}
	if c.WriteDelay < 0 || c.WriteDelay > time.Second {
		bad("WriteDelay", "must be between 0 and 1s")
	}
	if c.SystemInterval <= 0 {
		bad("SystemInterval", "must be positive")
	}
	if c.MaxSubscriptions < 1 {
		bad("MaxSubscriptions", "must be at least 1")
	}
	if c.BadFrameLimit < 1 || c.BadFrameWindow <= 0 {
		bad("BadFrameLimit/BadFrameWindow", "must be positive")
	}
	if c.ReplayPage < 1 {
		bad("ReplayPage", "must be at least 1")
	}
	if c.CommandTimeout <= 0 {
		bad("CommandTimeout", "must be positive")
	}
	return errors.Join(errs...)
}
