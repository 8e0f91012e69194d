package httpapi

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/flowweaver/flowweaver/backend/flow"
)

const notBuilt = `<!doctype html><html><head><meta charset="utf-8"><title>Flow Weaver</title></head>
<body style="font-family:system-ui;margin:3rem"><h1>Flow Weaver</h1>
<p>The backend is running, but this binary was built without the UI. Run <code>make run</code>, which builds the frontend first.</p></body></html>`

// ui serves the embedded single-page app. Unknown paths without a file
// extension get index.html so client-side routes survive a reload.
func (s *Server) ui() http.Handler {
	h := s.uiFiles()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, r, flow.Errorf(flow.EINVALID, "method %s not allowed here", r.Method), s.cfg.Logger)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) uiFiles() http.Handler {
	if s.cfg.UI == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serveNotBuilt(w) })
	}
	if _, err := fs.Stat(s.cfg.UI, "index.html"); err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serveNotBuilt(w) })
	}
	files := http.FileServerFS(s.cfg.UI)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		w.Header().Set("X-Frame-Options", "DENY")
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p == "" || p == "index.html" {
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, s.cfg.UI, "index.html")
			return
		}
		if _, err := fs.Stat(s.cfg.UI, p); err != nil && path.Ext(p) == "" {
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, s.cfg.UI, "index.html")
			return
		}
		if strings.HasPrefix(p, "assets/") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		files.ServeHTTP(w, r)
	})
}

func serveNotBuilt(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(notBuilt))
}
