// Package httpapi is Flow Weaver's HTTP surface: the REST API, the guards
// every request passes (Host, Origin, bearer token), JSON errors, the /ws
// mount point and the embedded UI.
package httpapi

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// Authority is what the API needs of the auth package.
type Authority interface {
	Verify(token string) (*flow.Principal, error)
	Login(code string, ttl time.Duration) (string, time.Time, error)
	Refresh(token string, ttl time.Duration) (string, time.Time, error)
	NewLoginCode() string
	IssueSession(sid, deviceKey string) (string, time.Time, error)
	SessionLogin(session, deviceKey string, ttl time.Duration) (string, time.Time, string, time.Time, error)
	SessionOf(token string) (string, error)
	SessionOfCookie(session string) (string, error)
}

// Config holds the server's collaborators. Optional ones may be nil; their
// routes then answer 503 so a partial daemon still serves the rest.
type Config struct {
	Store     *store.DB
	Auth      Authority
	Runs      flow.Runs
	Workflows flow.Workflows
	Tools     flow.ToolCatalog
	// Secrets serves /api/projects/{id}/secrets.
	Secrets Secrets
	// Sessions lists and revokes browser sessions (/api/auth/sessions).
	Sessions Sessions
	// Trust serves the trust review, trust changes and MCP approvals.
	Trust TrustService
	// WS serves GET /ws (the hub). It runs after the Host and Origin guards.
	WS http.Handler
	// QueueStats feeds GET /api/queue.
	QueueStats func(ctx context.Context) (any, error)
	// QueueJobs feeds GET /api/queue/jobs (state, projectId, before, limit).
	QueueJobs func(ctx context.Context, state, projectID string, before int64, limit int) (any, error)
	// Connections feeds GET /api/connections: {"total", "projects"} on one
	// node, plus per-node lines on a cluster.
	Connections func(ctx context.Context) (any, error)
	// ProjectDeleted lets the daemon release per-project resources
	// (sockets, MCP servers, caches).
	ProjectDeleted func(id string)
	// BeforeProjectDelete runs before a project is deleted (the daemon
	// cancels its runs); an error aborts the delete.
	BeforeProjectDelete func(ctx context.Context, id string) error
	// UI is the built frontend; nil serves a short notice instead.
	UI fs.FS
	// Version is reported by /api/health.
	Version string
	// TokenTTL is the lifetime of tokens from login and refresh.
	TokenTTL time.Duration
	// AllowedOrigins are origins besides the server's own that may call
	// the API and open sockets: the desktop webview and --dev origins.
	AllowedOrigins []string
	// AllowRemote disables the loopback Host check (--allow-remote).
	AllowRemote bool
	// Triggers feeds the trigger routes (listing, webhook key rotation,
	// schedule and glob previews).
	Triggers Triggers
	// Hooks serves /hooks/{key} (webhook triggers): no token, but behind
	// the Host and Origin guards like everything else.
	Hooks http.Handler
	// MaxBodyBytes bounds request bodies; default 4 MiB.
	MaxBodyBytes int64
	Logger       *slog.Logger
}

// Server is the HTTP handler of the daemon.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	handler http.Handler
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 4 << 20
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.routes()
	s.handler = s.guard(s.mux)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /api/health", s.health)
	m.HandleFunc("POST /api/auth/login", s.login)
	m.Handle("POST /api/auth/refresh", s.authed(s.refresh))
	m.HandleFunc("POST /api/auth/session", s.sessionLogin)
	m.HandleFunc("POST /api/auth/logout", s.logout)
	m.Handle("POST /api/auth/codes", s.authed(s.newLoginCode))
	m.Handle("GET /api/auth/sessions", s.authed(s.listSessions))
	m.Handle("DELETE /api/auth/sessions/{sid}", s.authed(s.revokeSession))
	m.Handle("POST /api/auth/sessions/revoke-others", s.authed(s.revokeOtherSessions))

	m.Handle("GET /api/projects", s.authed(s.listProjects))
	m.Handle("POST /api/projects", s.authed(s.createProject))
	m.Handle("GET /api/projects/{id}", s.authed(s.getProject))
	m.Handle("DELETE /api/projects/{id}", s.authed(s.deleteProject))
	m.Handle("GET /api/projects/{id}/tools", s.authed(s.listTools))
	m.Handle("GET /api/projects/{id}/trust", s.authed(s.getTrust))
	m.Handle("PUT /api/projects/{id}/trust", s.authed(s.putTrust))
	m.Handle("POST /api/projects/{id}/trust/approvals", s.authed(s.approveEntry))
	m.Handle("POST /api/projects/{id}/notifications", s.authed(s.notify))
	m.Handle("GET /api/projects/{id}/events", s.authed(s.listEvents))

	m.Handle("GET /api/projects/{id}/secrets", s.authed(s.listSecrets))
	m.Handle("PUT /api/projects/{id}/secrets/{name}", s.authed(s.putSecret))
	m.Handle("DELETE /api/projects/{id}/secrets/{name}", s.authed(s.deleteSecret))

	m.Handle("GET /api/projects/{id}/workflows", s.authed(s.listWorkflows))
	m.Handle("GET /api/projects/{id}/workflows/{wid}", s.authed(s.getWorkflow))
	m.Handle("PUT /api/projects/{id}/workflows/{wid}", s.authed(s.putWorkflow))
	m.Handle("DELETE /api/projects/{id}/workflows/{wid}", s.authed(s.deleteWorkflow))

	m.Handle("POST /api/projects/{id}/workflows/{wid}/runs", s.authed(s.startRun))
	m.Handle("GET /api/projects/{id}/runs", s.authed(s.listRuns))
	m.Handle("GET /api/runs/{runId}", s.authed(s.getRun))
	m.Handle("POST /api/runs/{runId}/cancel", s.authed(s.cancelRun))
	m.Handle("POST /api/runs/{runId}/rerun", s.authed(s.rerunRun))
	m.Handle("GET /api/runs/{runId}/nodes/{nodeId}/output", s.authed(s.nodeOutput))

	m.Handle("GET /api/projects/{id}/workflows/{wid}/triggers", s.authed(s.listTriggers))
	m.Handle("POST /api/projects/{id}/workflows/{wid}/triggers/{tid}/rotate", s.authed(s.rotateWebhook))
	m.Handle("GET /api/projects/{id}/files", s.authed(s.matchFiles))
	m.Handle("GET /api/triggers/schedule-preview", s.authed(s.previewSchedule))
	if s.cfg.Hooks != nil {
		m.Handle("/hooks/{key}", s.cfg.Hooks)
	}

	m.Handle("GET /api/queue", s.authed(s.queue))
	m.Handle("GET /api/queue/jobs", s.authed(s.queueJobs))
	m.Handle("GET /api/connections", s.authed(s.connections))
	m.Handle("GET /api/workspace", s.authed(s.getWorkspace))
	m.Handle("GET /api/fs/dirs", s.authed(s.listDirs))
	m.Handle("PUT /api/workspace", s.authed(s.putWorkspace))

	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, flow.Errorf(flow.ENOTFOUND, "no route %s %s", r.Method, r.URL.Path), s.cfg.Logger)
	})
	if s.cfg.WS != nil {
		m.Handle("GET /ws", s.cfg.WS)
	}
	m.Handle("/", s.ui())
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}
