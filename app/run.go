package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/logger"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/options/mac"
	"github.com/wailsapp/wails/v2/pkg/runtime"
)

// EventOpenProject is emitted to the page when the user picks
// File > Open Project… (Ctrl/Cmd+O): the page runs its usual open flow,
// which calls OpenProjectDialog.
const EventOpenProject = "menu:open-project"

// Config is what Run needs.
type Config struct {
	// Backend is the running daemon. Required.
	Backend Backend
	// DataDir holds window.json. Required.
	DataDir string
	// Assets is the built UI (frontend.Dist()). Required.
	Assets fs.FS
	// Instance, when set, delivers second launches; each one brings the
	// window to the front.
	Instance *Instance
	// Version is the build's version (flowweaver version), shown in the
	// About box.
	Version string
	// StartHidden starts with the window hidden (--background): the
	// backend serves triggers; a second launch shows the window.
	StartHidden bool
	// ActiveTriggers counts the triggers that fire on their own; closing
	// the window while there are some offers to keep running in the
	// background. Nil: closing always quits.
	ActiveTriggers func(ctx context.Context) (int, error)
	// Autostart is the path of the "Start at login" entry and AutostartArgs
	// the arguments it launches the app with (after BackgroundFlag). An
	// empty path hides the menu item (macOS, Windows).
	Autostart     string
	AutostartArgs []string
	// Executable is the program the autostart entry runs. Default
	// os.Executable().
	Executable string
	// TokenTTL is the lifetime of tokens handed to the page. Default 1h.
	TokenTTL time.Duration
	// Logger receives the shell's logs. Default slog.Default().
	Logger *slog.Logger
	// Icon is the PNG shown by the window manager (Linux) and the About
	// panel (macOS); optional.
	Icon []byte
}

func (c Config) withDefaults() Config {
	if c.TokenTTL <= 0 {
		c.TokenTTL = time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Backend == nil:
		return errors.New("app config: Backend is required")
	case c.DataDir == "":
		return errors.New("app config: DataDir is required")
	case c.Assets == nil:
		return errors.New("app config: Assets is required")
	}
	return nil
}

// shell owns the window's lifecycle hooks; App is only the bound facade.
type shell struct {
	cfg    Config
	app    *App
	log    *slog.Logger
	client *http.Client
	state  WindowState
	// ctx is Run's context; its end (SIGINT/SIGTERM) skips the question.
	ctx context.Context
	// force skips the quit confirmation.
	force atomic.Bool
	// closing is set once a close was allowed; Wails may ask again (its
	// own signal handler and ours both quit) and a second gtk_main_quit
	// after the window is destroyed crashes the process.
	closing atomic.Bool
	// quitting marks the next OnBeforeClose as a quit (File > Quit, the
	// answer Quit) rather than a close of the window.
	quitting atomic.Bool
	// confirmed skips the runs-in-flight question (the user already
	// answered Quit in a question that named them).
	confirmed atomic.Bool
	// acks receives the page's acknowledgement of a close question.
	acks chan struct{}
	// done is closed when the window is gone (Run returns).
	done <-chan struct{}

	settingsMu sync.Mutex
	settings   Settings
	menuItems  menuItems
}

// Run opens the window and blocks until it is closed or ctx is canceled
// (SIGINT/SIGTERM close it without asking). It must be called on the main
// goroutine: macOS runs its UI loop on the main thread.
func Run(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	s := &shell{
		cfg:    cfg,
		app:    newApp(cfg.Backend, cfg.TokenTTL, cfg.Logger),
		log:    cfg.Logger,
		client: &http.Client{Timeout: 3 * time.Second},
		ctx:    ctx,
		acks:   make(chan struct{}, 1),
	}
	s.app.answer = s.answerClose
	s.app.watched = s.ackClose
	set, err := LoadSettings(cfg.DataDir)
	if err != nil {
		s.log.Warn("desktop: settings ignored", "err", err)
	}
	s.settings = set
	st, err := LoadWindowState(cfg.DataDir)
	if err != nil {
		s.log.Warn("desktop: window state ignored", "err", err)
	}
	s.state = st
	assets, ok := uiOrNotice(cfg.Assets)
	if !ok {
		s.log.Warn("desktop: the embedded UI has no index.html; showing a notice (build the frontend first)")
	}

	// done ends the helper goroutines when the window is gone.
	done := make(chan struct{})
	s.done = done
	var wg sync.WaitGroup
	defer func() {
		close(done)
		wg.Wait()
	}()

	start := options.WindowStartState(options.Normal)
	if st.Maximised {
		start = options.Maximised
	}
	err = wails.Run(&options.App{
		Title:            AppName,
		Width:            st.Width,
		Height:           st.Height,
		MinWidth:         MinWidth,
		MinHeight:        MinHeight,
		WindowStartState: start,
		StartHidden:      cfg.StartHidden,
		BackgroundColour: options.NewRGBA(246, 247, 249, 255),
		AssetServer:      &assetserver.Options{Assets: assets},
		Menu:             s.menu(goruntime.GOOS),
		Bind:             []any{s.app},
		Logger:           slogBridge{s.log},
		LogLevel:         logger.WARNING,
		OnStartup: func(wctx context.Context) {
			s.app.setWailsCtx(wctx)
			wg.Add(2)
			go func() { defer wg.Done(); s.quitOnCancel(ctx, wctx, done) }()
			go func() { defer wg.Done(); s.focusOnLaunch(wctx, done) }()
		},
		OnDomReady:    s.domReady,
		OnBeforeClose: s.beforeClose,
		Linux: &linux.Options{
			Icon:        cfg.Icon,
			ProgramName: "flowweaver",
			// Never: WebKit's accelerated compositing costs about 80 MB in the
			// web process at idle (tools/desktop-memory.sh, docs/benchmarks.md)
			// and a canvas of boxes and lines renders smoothly without it.
			WebviewGpuPolicy: linux.WebviewGpuPolicyNever,
		},
		Mac: &mac.Options{
			// The App menu's About item; Linux and Windows get Help > About.
			About: &mac.AboutInfo{Title: AppName, Message: "Version " + cfg.Version + "\nBuild and run workflows on your machine.", Icon: cfg.Icon},
		},
	})
	if err != nil {
		return fmt.Errorf("desktop window: %w", err)
	}
	return nil
}

// quitOnCancel closes the window without asking when ctx ends. Wails
// itself quits on SIGINT/SIGTERM, so this only acts if the window is still
// open a moment later (ctx canceled for another reason).
func (s *shell) quitOnCancel(ctx, wctx context.Context, done <-chan struct{}) {
	select {
	case <-ctx.Done():
		s.force.Store(true)
	case <-done:
		return
	}
	select {
	case <-time.After(time.Second):
		if !s.closing.Load() {
			runtime.Quit(wctx)
		}
	case <-done:
	}
}

// focusOnLaunch brings the window to the front for each second launch.
func (s *shell) focusOnLaunch(wctx context.Context, done <-chan struct{}) {
	if s.cfg.Instance == nil {
		return
	}
	for {
		select {
		case <-done:
			return
		case l, ok := <-s.cfg.Instance.Launches():
			if !ok {
				return
			}
			if slices.Contains(l.Args, BackgroundFlag) {
				// Autostart of an app that already runs: stay as it is.
				s.log.Info("desktop: second launch in background mode; the window stays as it is")
				continue
			}
			s.log.Info("desktop: second launch, showing the window", "args", l.Args)
			s.show(wctx)
		}
	}
}

// domReady restores the saved position (Wails has no start position) and
// the title the page may have set before the window existed.
func (s *shell) domReady(wctx context.Context) {
	if s.state.Positioned && !s.state.Maximised {
		runtime.WindowSetPosition(wctx, s.state.X, s.state.Y)
	}
	s.app.mu.Lock()
	title := s.app.title
	s.app.mu.Unlock()
	runtime.WindowSetTitle(wctx, title)
}

// beforeClose decides what a close or quit request does (close.go):
// with active triggers a close may hide the window instead; a quit asks
// before stopping runs in flight, then saves the window geometry. It
// returns true to keep the process running.
func (s *shell) beforeClose(wctx context.Context) (prevent bool) {
	if s.closing.Load() {
		return true // a close is already under way
	}
	quit := s.quitting.Swap(false)
	if !s.forced() && !quit {
		req := closeRequest{action: s.closeAction(), pageHandles: s.app.pageHandlesClose()}
		if s.cfg.ActiveTriggers != nil {
			n, err := s.cfg.ActiveTriggers(wctx)
			if err != nil {
				s.log.Warn("desktop: counting active triggers failed; closing quits", "err", err)
			}
			req.triggers = n
		}
		switch decideClose(req) {
		case stepHide:
			s.hide(wctx)
			return true
		case stepAskPage:
			s.askPage(wctx, closeQuestion(req.triggers, s.inFlight(wctx)))
			return true
		case stepAskNative:
			switch s.askNative(wctx, req.triggers) {
			case stepHide:
				s.hide(wctx)
				return true
			case stepQuit:
			default: // the dialog was dismissed
				return true
			}
		case stepQuit:
		}
	}
	if !s.forced() && !s.confirmed.Swap(false) {
		// The signal that made Wails quit also cancels ctx; the check
		// below takes a round trip, so ask forced() again after it.
		if n := s.inFlight(wctx); n > 0 && !s.forced() {
			answer, err := runtime.MessageDialog(wctx, runtime.MessageDialogOptions{
				Type:          runtime.QuestionDialog,
				Title:         "Quit " + AppName + "?",
				Message:       quitQuestion(n),
				Buttons:       []string{"Quit", "Cancel"},
				DefaultButton: "Cancel",
				CancelButton:  "Cancel",
			})
			if err != nil {
				s.log.Warn("desktop: quit confirmation failed; quitting", "err", err)
			} else if !confirmed(answer) {
				return true
			}
		}
	}
	if !s.closing.CompareAndSwap(false, true) {
		return true
	}
	s.saveWindow(wctx)
	return false
}

// forced reports whether the window must close without asking.
func (s *shell) forced() bool { return s.force.Load() || s.ctx.Err() != nil }

// confirmed reads a MessageDialog answer: GTK and Windows answer Yes/No
// for question dialogs, macOS the label of the button.
func confirmed(answer string) bool { return answer == "Quit" || answer == "Yes" || answer == "OK" }

// inFlight counts queued and running runs: the backend's GET /api/queue,
// or, when it does not answer, what the page reported via SetActiveRuns.
func (s *shell) inFlight(ctx context.Context) int {
	tok, _, err := s.cfg.Backend.Token(tokenForCheck)
	if err == nil {
		n, qerr := activeRuns(ctx, s.client, s.cfg.Backend.URL(), tok)
		if qerr == nil {
			return n
		}
		err = qerr
	}
	s.log.Warn("desktop: queue check failed; using the page's run count", "err", err)
	return s.app.reportedRuns()
}

func (s *shell) saveWindow(wctx context.Context) {
	st := s.state
	st.Maximised = runtime.WindowIsMaximised(wctx)
	if !st.Maximised && !runtime.WindowIsFullscreen(wctx) && !runtime.WindowIsMinimised(wctx) {
		st.Width, st.Height = runtime.WindowGetSize(wctx)
		st.X, st.Y = runtime.WindowGetPosition(wctx)
		st.Positioned = true
	}
	if err := SaveWindowState(s.cfg.DataDir, st); err != nil {
		s.log.Warn("desktop: save window state", "err", err)
	}
}

// slogBridge sends Wails' log lines to our structured logger.
type slogBridge struct{ l *slog.Logger }

func (b slogBridge) Print(msg string)   { b.l.Info("wails: " + msg) }
func (b slogBridge) Trace(msg string)   { b.l.Debug("wails: " + msg) }
func (b slogBridge) Debug(msg string)   { b.l.Debug("wails: " + msg) }
func (b slogBridge) Info(msg string)    { b.l.Info("wails: " + msg) }
func (b slogBridge) Warning(msg string) { b.l.Warn("wails: " + msg) }
func (b slogBridge) Error(msg string)   { b.l.Error("wails: " + msg) }
func (b slogBridge) Fatal(msg string)   { b.l.Error("wails: " + msg) }
