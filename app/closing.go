package app

import (
	"context"
	"fmt"
	"time"

	"github.com/wailsapp/wails/v2/pkg/runtime"
)

// EventCloseRequested is emitted to the page with a CloseQuestion when
// the window is closed while triggers are active and no choice is
// remembered; the page answers with App.AnswerClose.
const EventCloseRequested = "app:close-requested"

// pageAckWait is how long the page has to acknowledge a close question
// (App.WatchClose) before the native dialog asks instead. It is a
// fallback for a hung page, not a timing goal.
const pageAckWait = 10 * time.Second

func (s *shell) closeAction() CloseAction {
	s.settingsMu.Lock()
	defer s.settingsMu.Unlock()
	return s.settings.CloseAction
}

// setCloseAction remembers a, saves it and ticks it in the menu.
func (s *shell) setCloseAction(a CloseAction) error {
	s.settingsMu.Lock()
	s.settings.CloseAction = a
	set := s.settings
	s.settingsMu.Unlock()
	s.syncMenu()
	if err := SaveSettings(s.cfg.DataDir, set); err != nil {
		s.log.Warn("desktop: save settings", "err", err)
		return err
	}
	return nil
}

// hide keeps the backend and hides the window, saving its geometry first
// (a hidden window reports no useful one).
func (s *shell) hide(wctx context.Context) {
	s.saveWindow(wctx)
	s.log.Info("desktop: window hidden; the backend keeps serving triggers (launch the app again to show it)")
	runtime.WindowHide(wctx)
}

// show brings a hidden or minimised window back to the front.
func (s *shell) show(wctx context.Context) {
	runtime.WindowUnminimise(wctx)
	runtime.WindowShow(wctx)
	runtime.Show(wctx)
	// Window managers refuse focus stealing; a brief always-on-top is the
	// portable way to raise the window.
	runtime.WindowSetAlwaysOnTop(wctx, true)
	runtime.WindowSetAlwaysOnTop(wctx, false)
}

// askPage emits the question to the page; without an acknowledgement in
// pageAckWait the native dialog asks instead.
func (s *shell) askPage(wctx context.Context, q CloseQuestion) {
	select {
	case <-s.acks: // a stale acknowledgement
	default:
	}
	runtime.EventsEmit(wctx, EventCloseRequested, q)
	go func() {
		t := time.NewTimer(pageAckWait)
		defer t.Stop()
		select {
		case <-s.acks:
			return
		case <-s.done:
			return
		case <-t.C:
		}
		s.log.Warn("desktop: the page did not show the close question; asking natively")
		switch s.askNative(wctx, q.Triggers) {
		case stepHide:
			s.hide(wctx)
		case stepQuit:
			s.quit(wctx, false)
		}
	}()
}

func (s *shell) ackClose() {
	select {
	case s.acks <- struct{}{}:
	default:
	}
}

// askNative asks with a Yes/No dialog (the only buttons GTK's message
// dialog of Wails has): Yes keeps running in the background, No quits,
// dismissing the dialog cancels (returned as stepAskNative).
func (s *shell) askNative(wctx context.Context, triggers int) closeStep {
	q := closeQuestion(triggers, 0)
	answer, err := runtime.MessageDialog(wctx, runtime.MessageDialogOptions{
		Type:          runtime.QuestionDialog,
		Title:         "Keep " + AppName + " running in the background?",
		Message:       q.Message + "\n\nYes: keep running in the background. No: quit.",
		Buttons:       []string{"Yes", "No"},
		DefaultButton: "Yes",
	})
	switch {
	case err != nil:
		s.log.Warn("desktop: close question failed; quitting", "err", err)
		return stepQuit
	case answer == "Yes":
		return stepHide
	case answer == "No":
		return stepQuit
	}
	return stepAskNative
}

// answerClose carries out the page's answer.
func (s *shell) answerClose(choice string, remember bool) error {
	wctx := s.app.wailsCtx()
	if wctx == nil {
		return fmt.Errorf("answer close: the window is not ready")
	}
	switch choice {
	case AnswerBackground:
		if remember {
			_ = s.setCloseAction(CloseBackground) // logged; the answer still counts
		}
		s.hide(wctx)
	case AnswerQuit:
		if remember {
			_ = s.setCloseAction(CloseQuit)
		}
		// The question named the runs in flight: do not ask again.
		s.quit(wctx, true)
	case AnswerCancel:
	default:
		return fmt.Errorf("answer close: unknown choice %q (want background, quit or cancel)", choice)
	}
	return nil
}

// quit quits the app (not only the window); confirmed skips the question
// about runs in flight.
func (s *shell) quit(wctx context.Context, confirmed bool) {
	s.confirmed.Store(confirmed)
	s.quitting.Store(true)
	runtime.Quit(wctx)
}
