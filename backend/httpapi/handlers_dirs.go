package httpapi

import (
	"net/http"
	"os"

	"github.com/flowweaver/flowweaver/backend/dirlist"
)

// listDirs serves the folder browser of "Open folder" in a browser:
// GET /api/fs/dirs?path=ABS[&hidden=1] lists the subfolders of ABS, and
// without path the roots it may browse. The roots are the user's home
// folder and the folders of known projects; anything else, including a
// symlink that leads out of them, is 403 (see dirlist).
func (s *Server) listDirs(w http.ResponseWriter, r *http.Request) {
	ps, err := s.cfg.Store.Projects(r.Context())
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	var candidates []string
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, home)
	}
	projects := make(map[string]string, len(ps))
	for _, p := range ps {
		candidates = append(candidates, p.Path)
		projects[p.Path] = p.ID
	}
	q := r.URL.Query()
	l, err := dirlist.List(dirlist.ResolveRoots(candidates), q.Get("path"), dirlist.Options{
		Hidden:   q.Get("hidden") == "1" || q.Get("hidden") == "true",
		Projects: projects,
	})
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, l)
}
