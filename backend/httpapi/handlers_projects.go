package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// projectView is a project as the API shows it.
type projectView struct {
	flow.Project
	ActiveRuns int `json:"activeRuns"`
	// LastRunAt is when the newest run was created: a background tab
	// polling this learns of runs that started (and maybe ended) by
	// themselves between two polls.
	LastRunAt *time.Time `json:"lastRunAt,omitempty"`
}

// views adds each project's active run count and last run time (one
// query each).
func (s *Server) views(r *http.Request, ps ...flow.Project) ([]projectView, error) {
	counts, err := s.cfg.Store.ActiveRunCounts(r.Context())
	if err != nil {
		return nil, err
	}
	last, err := s.cfg.Store.LastRunTimes(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]projectView, 0, len(ps))
	for _, p := range ps {
		v := projectView{Project: p, ActiveRuns: counts[p.ID]}
		if t, ok := last[p.ID]; ok {
			v.LastRunAt = &t
		}
		out = append(out, v)
	}
	return out, nil
}

// writeProject writes one project with its active run count.
func (s *Server) writeProject(w http.ResponseWriter, r *http.Request, status int, p flow.Project) {
	vs, err := s.views(r, p)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, status, vs[0])
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := s.cfg.Store.Projects(r.Context())
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	out, err := s.views(r, ps...)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": out})
}

// project loads the {id} path value's project or writes a 404.
func (s *Server) project(w http.ResponseWriter, r *http.Request) (*flow.Project, bool) {
	p, err := s.cfg.Store.Project(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return nil, false
	}
	return p, true
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) {
	if p, ok := s.project(w, r); ok {
		s.writeProject(w, r, http.StatusOK, *p)
	}
}

// createProject opens a folder as a project. The path must be an absolute,
// existing directory; it is stored resolved (symlinks followed) so one
// folder cannot be opened twice under two names. Opening a folder that is
// already a project returns that project (200) instead of an error, which
// is what "open folder" means to a user.
//
// "trusted" is the user's answer to the trust prompt (default false: a
// folder from elsewhere runs nothing until trusted); trusting approves the
// MCP entries the folder has now. Opening an existing project with
// "trusted": true trusts it; false never revokes (use PUT .../trust).
// "create": true makes the folder first (its parent must exist, the folder
// must not exist or be empty): a folder the user creates empty from the app
// brings nothing with it, so its project is trusted.
func (s *Server) createProject(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name    string `json:"name"`
		Path    string `json:"path"`
		Trusted bool   `json:"trusted"`
		Create  bool   `json:"create"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	if req.Create {
		if err := createEmptyDir(req.Path); err != nil {
			writeError(w, r, err, s.cfg.Logger)
			return
		}
		req.Trusted = true
	}
	path, err := checkProjectPath(req.Path)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = filepath.Base(path)
	}
	if utf8.RuneCountInString(name) > 200 || strings.ContainsAny(name, "\x00\n\r") {
		writeError(w, r, flow.Errorf(flow.EINVALID, "name must be one line of at most 200 characters"), s.cfg.Logger)
		return
	}
	status := http.StatusCreated
	p, err := s.cfg.Store.ProjectByPath(r.Context(), path)
	if err == nil {
		status = http.StatusOK
	} else {
		p = &flow.Project{ID: newID("p"), Name: name, Path: path}
		if err := s.cfg.Store.CreateProject(r.Context(), p); err != nil {
			writeError(w, r, err, s.cfg.Logger)
			return
		}
		w.Header().Set("Location", "/api/projects/"+p.ID)
	}
	if req.Trusted && !p.Trusted {
		ts, ok := s.trustService(w, r)
		if !ok {
			return
		}
		if p, err = ts.SetTrusted(r.Context(), p.ID, true, nil); err != nil {
			writeError(w, r, err, s.cfg.Logger)
			return
		}
	}
	s.writeProject(w, r, status, *p)
}

// createEmptyDir makes the folder of a new project: its parent must exist
// and the folder itself must not exist yet or be an empty directory.
func createEmptyDir(raw string) error {
	if raw == "" || strings.ContainsRune(raw, 0) || !filepath.IsAbs(raw) {
		return flow.Errorf(flow.EINVALID, "path must be an absolute path: %q", raw)
	}
	clean := filepath.Clean(raw)
	if st, err := os.Stat(filepath.Dir(clean)); err != nil || !st.IsDir() {
		return flow.Errorf(flow.EINVALID, "the parent folder of %q does not exist", raw)
	}
	err := os.Mkdir(clean, 0o755) //nolint:gosec // G301: a project folder the user asked for, made like mkdir(1) makes one (umask applies)
	if err == nil {
		return nil
	}
	if !os.IsExist(err) {
		return flow.Errorf(flow.EINVALID, "cannot create %q: %v", raw, err)
	}
	entries, rerr := os.ReadDir(clean)
	if rerr != nil {
		return flow.Errorf(flow.EINVALID, "%q exists and is not a folder", raw)
	}
	if len(entries) > 0 {
		return flow.Errorf(flow.ECONFLICT, "%q already exists and is not empty: open it instead", raw)
	}
	return nil
}

func checkProjectPath(raw string) (string, error) {
	if raw == "" {
		return "", flow.Errorf(flow.EINVALID, "path is required")
	}
	if strings.ContainsRune(raw, 0) {
		return "", flow.Errorf(flow.EINVALID, "path contains a NUL byte")
	}
	if !filepath.IsAbs(raw) {
		return "", flow.Errorf(flow.EINVALID, "path must be absolute: %q", raw)
	}
	resolved, err := filepath.EvalSymlinks(filepath.Clean(raw))
	if err != nil {
		return "", flow.Errorf(flow.EINVALID, "path %q does not exist", raw)
	}
	st, err := os.Stat(resolved)
	if err != nil || !st.IsDir() {
		return "", flow.Errorf(flow.EINVALID, "path %q is not a directory", raw)
	}
	return resolved, nil
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := s.project(w, r); !ok {
		return
	}
	if s.cfg.BeforeProjectDelete != nil {
		if err := s.cfg.BeforeProjectDelete(r.Context(), id); err != nil {
			writeError(w, r, err, s.cfg.Logger)
			return
		}
	}
	if err := s.cfg.Store.DeleteProject(r.Context(), id); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	if s.cfg.ProjectDeleted != nil {
		s.cfg.ProjectDeleted(id)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listTools(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok {
		return
	}
	if s.cfg.Tools == nil {
		writeError(w, r, flow.Errorf(flow.EUNAVAILABLE, "tools are not available"), s.cfg.Logger)
		return
	}
	if c, ok := s.cfg.Tools.(interface {
		Catalog(ctx context.Context, projectID string) (any, error)
	}); ok {
		cat, err := c.Catalog(r.Context(), p.ID)
		if err != nil {
			writeError(w, r, err, s.cfg.Logger)
			return
		}
		writeJSON(w, http.StatusOK, cat)
		return
	}
	ts, err := s.cfg.Tools.ListTools(r.Context(), p.ID)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	if ts == nil {
		ts = []flow.Tool{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tools": ts})
}

var notificationLevels = map[string]bool{"info": true, "success": true, "warning": true, "error": true}

// notify records a durable notification on project:<id>, so scripts and CI
// hooks can tell the user's tab something.
//
// On SQLite the project is not read first: AppendEvent refuses an unknown
// project with not_found inside its group commit (the project's seq is
// looked up there anyway), which saves a read transaction per
// notification (7-10 % of serve's CPU under a stream of them). A bad
// request still answers not_found first when the project does not exist.
func (s *Server) notify(w http.ResponseWriter, r *http.Request) {
	projectID := r.PathValue("id")
	if s.cfg.Store.Dialect() != store.SQLite {
		p, ok := s.project(w, r)
		if !ok {
			return
		}
		projectID = p.ID
	}
	bad := func(err error) {
		if s.cfg.Store.Dialect() == store.SQLite {
			if _, ok := s.project(w, r); !ok {
				return
			}
		}
		writeError(w, r, err, s.cfg.Logger)
	}
	var req struct {
		Level   string          `json:"level"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data,omitempty"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		bad(err)
		return
	}
	var problems []string
	if req.Level == "" {
		req.Level = "info"
	}
	if !notificationLevels[req.Level] {
		problems = append(problems, "level must be one of info, success, warning, error")
	}
	if strings.TrimSpace(req.Message) == "" || len(req.Message) > 4096 {
		problems = append(problems, "message must be 1 to 4096 bytes")
	}
	if len(req.Data) > 0 && req.Data[0] != '{' && string(req.Data) != "null" {
		problems = append(problems, "data must be an object")
	}
	if len(problems) > 0 {
		bad(flow.Errorf(flow.EINVALID, "%s", strings.Join(problems, "; ")))
		return
	}
	// A struct, not a map: the same JSON (fields in the sorted order a map
	// would give) without a map and a key sort per notification.
	payload := notificationPayload{Level: req.Level, Message: req.Message}
	if len(req.Data) > 0 && string(req.Data) != "null" {
		payload.Data = req.Data
	}
	ev := flow.NewEvent(projectID, flow.EventNotification, "", "", payload)
	if err := s.cfg.Store.AppendEvent(r.Context(), &ev); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusAccepted)
	var buf [32]byte
	_, _ = w.Write(append(strconv.AppendInt(append(buf[:0], `{"seq":`...), ev.Seq, 10), "}\n"...))
}

// notificationPayload is the payload of a notification event.
type notificationPayload struct {
	Data    json.RawMessage `json:"data,omitempty"`
	Level   string          `json:"level"`
	Message string          `json:"message"`
}

// listEvents reads a channel's durable history: the REST twin of subscribe
// with since, for scripts and debugging.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	channel := q.Get("channel")
	if channel == "" {
		channel = "project:" + p.ID
	}
	kind, id := flow.SplitChannel(channel)
	if (kind == flow.ChannelProject || kind == flow.ChannelTools) && id != p.ID {
		writeError(w, r, flow.Errorf(flow.EFORBIDDEN, "channel %q is not available", channel), s.cfg.Logger)
		return
	}
	since, _ := strconv.ParseInt(q.Get("since"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	evs, err := s.cfg.Store.EventsAfter(r.Context(), p.ID, channel, since, limit)
	if err != nil {
		writeError(w, r, flow.Errorf(flow.EINVALID, "%v", err), s.cfg.Logger)
		return
	}
	if evs == nil {
		evs = []flow.Event{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": evs})
}

// newID returns prefix + "_" + 12 random base32 characters.
func newID(prefix string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := make([]byte, 12)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + "_" + string(b)
}
