// Package app is the desktop shell: a Wails v2 window around the embedded
// UI, talking to a daemon that runs in the same process on a loopback
// port. It is the only package (besides the root desktop.go) that imports
// Wails, and it holds no business logic: the page uses the same REST API
// and per-project WebSockets as in a browser; this package only hands it
// the backend URL and a token and adds the native touches (folder picker,
// title, window geometry, single instance, quit confirmation, menu).
//
// Without the build tags desktop,production (and webkit2_41 on Linux) the
// package still compiles as pure Go; Run then returns Wails' error, so
// `go test ./...` needs no GTK or WebKit.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/wailsapp/wails/v2/pkg/runtime"
)

// Backend is what the window needs of the daemon.
type Backend interface {
	// URL is the loopback base URL, e.g. http://127.0.0.1:41234.
	URL() string
	// Token mints a token for a new session valid for ttl.
	Token(ttl time.Duration) (string, time.Time, error)
}

// Session is what the page needs to reach the backend. The JSON names are
// part of the contract with frontend/src/platform.
type Session struct {
	URL       string    `json:"url"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// App is the facade bound to the page as window.go.app.App. Wails binds
// every exported method, so it has exactly the ones the page may call;
// lifecycle hooks live on the unexported shell.
type App struct {
	backend Backend
	ttl     time.Duration
	log     *slog.Logger

	// answer carries the page's close answer to the shell (set by Run).
	answer func(choice string, remember bool) error
	// watched tells the shell the page acknowledged a close question.
	watched func()

	mu          sync.Mutex
	ctx         context.Context // the Wails context, set at startup
	title       string
	activeRuns  int
	pageHandles bool // the page shows the close question (WatchClose)
}

func newApp(b Backend, ttl time.Duration, log *slog.Logger) *App {
	return &App{backend: b, ttl: ttl, log: log, title: WindowTitle("")}
}

// Session returns the backend URL and a fresh token. The page calls it at
// load and again before the token expires.
func (a *App) Session() (Session, error) {
	tok, exp, err := a.backend.Token(a.ttl)
	if err != nil {
		a.log.Error("desktop: mint session token", "err", err)
		return Session{}, fmt.Errorf("mint session token: %w", err)
	}
	return Session{URL: a.backend.URL(), Token: tok, ExpiresAt: exp.UTC()}, nil
}

// OpenProjectDialog shows the OS folder picker and returns the chosen
// directory, or "" when the user cancels.
func (a *App) OpenProjectDialog() (string, error) {
	ctx := a.wailsCtx()
	if ctx == nil {
		return "", errors.New("open project dialog: the window is not ready")
	}
	dir, err := runtime.OpenDirectoryDialog(ctx, runtime.OpenDialogOptions{
		Title:                "Open project folder",
		CanCreateDirectories: true,
	})
	if err != nil {
		return "", fmt.Errorf("open project dialog: %w", err)
	}
	return dir, nil
}

// SetTitle shows the active project in the window title:
// "Flow Weaver — <project>", or "Flow Weaver" for an empty name.
func (a *App) SetTitle(projectName string) {
	t := WindowTitle(projectName)
	a.mu.Lock()
	a.title = t
	ctx := a.ctx
	a.mu.Unlock()
	if ctx != nil {
		runtime.WindowSetTitle(ctx, t)
	}
}

// SetActiveRuns tells the shell how many runs the page sees in flight. The
// quit check asks the backend's GET /api/queue first and uses this count
// only when the queue endpoint does not answer.
func (a *App) SetActiveRuns(n int) {
	a.mu.Lock()
	a.activeRuns = max(n, 0)
	a.mu.Unlock()
}

// WatchClose tells the shell that the page shows the close question
// (EventCloseRequested) and answers it with AnswerClose. Until a page
// says so, the shell asks with a native dialog.
//
// The page calls it again when it shows a question, as an
// acknowledgement: a page that does not (hung, or reloading) gets the
// native dialog instead after a few seconds, so the window can always be
// closed.
func (a *App) WatchClose() {
	a.mu.Lock()
	a.pageHandles = true
	a.mu.Unlock()
	if a.watched != nil {
		a.watched()
	}
}

// AnswerClose is the page's answer to EventCloseRequested: "background"
// (hide the window, keep the backend), "quit" or "cancel"; remember keeps
// background or quit as the answer for the next closes.
func (a *App) AnswerClose(choice string, remember bool) error {
	if a.answer == nil {
		return errors.New("answer close: the window is not ready")
	}
	return a.answer(choice, remember)
}

func (a *App) pageHandlesClose() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pageHandles
}

func (a *App) setWailsCtx(ctx context.Context) {
	a.mu.Lock()
	a.ctx = ctx
	a.mu.Unlock()
}

func (a *App) wailsCtx() context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ctx
}

func (a *App) reportedRuns() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.activeRuns
}

// AppName is the product name in titles and dialogs.
const AppName = "Flow Weaver"

// maxTitleProject bounds the project part of the title.
const maxTitleProject = 120

// WindowTitle is the title for a project name: control characters are
// dropped, spaces collapsed and the name shortened to 120 characters.
func WindowTitle(projectName string) string {
	name := strings.Join(strings.FieldsFunc(projectName, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	if r := []rune(name); len(r) > maxTitleProject {
		name = string(r[:maxTitleProject-1]) + "…"
	}
	if name == "" {
		return AppName
	}
	return AppName + " — " + name
}
