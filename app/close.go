package app

import "fmt"

// Closing the window and quitting are two requests. Wails sends both
// through OnBeforeClose; the shell tells them apart by how they came:
// File > Quit (Ctrl/Cmd+Q), SIGINT/SIGTERM and an answer "Quit" are
// quits; the window's close button and File > Close Window are closes.
// A close while triggers are active may keep the backend running with
// the window hidden; a quit never does. There is no tray icon to come
// back through (Wails v2 has none on Linux), so a hidden window comes
// back when the app is launched again (application menu, autostart,
// `flowweaver` in a terminal), and the app ends with File > Quit in the
// shown window or SIGTERM.

// closeStep is what beforeClose does next.
type closeStep int

const (
	// stepQuit goes on to quit (after the runs-in-flight question).
	stepQuit closeStep = iota
	// stepHide hides the window and keeps the backend.
	stepHide
	// stepAskPage asks in the page (Keep running / Quit / Cancel, with
	// "remember my choice"); the answer comes back through App.AnswerClose.
	stepAskPage
	// stepAskNative asks with a native Yes/No dialog: the page is not
	// there to ask (not loaded, or an old page without the dialog).
	stepAskNative
)

// closeRequest is what the decision depends on.
type closeRequest struct {
	quit        bool        // a quit, not a close of the window
	triggers    int         // active triggers (enabled, trusted projects)
	action      CloseAction // the remembered choice
	pageHandles bool        // the page shows the close question
}

// decideClose picks the next step for a close or quit request.
func decideClose(r closeRequest) closeStep {
	if r.quit || r.triggers <= 0 {
		return stepQuit
	}
	switch r.action {
	case CloseBackground:
		return stepHide
	case CloseQuit:
		return stepQuit
	}
	if r.pageHandles {
		return stepAskPage
	}
	return stepAskNative
}

// CloseQuestion is the payload of EventCloseRequested: what the page's
// dialog says.
type CloseQuestion struct {
	Triggers int `json:"triggers"`
	Runs     int `json:"runs"`
	// Message is the sentence under the title, e.g. "2 triggers (…) will
	// stop firing if Flow Weaver quits."
	Message string `json:"message"`
}

// closeQuestion words the question for n active triggers and runs in flight.
func closeQuestion(triggers, runs int) CloseQuestion {
	msg := fmt.Sprintf("%s will stop firing if %s quits. Keep running in the background to keep serving schedules and webhooks; launch %s again to bring the window back.",
		plural(triggers, "active trigger", "active triggers"), AppName, AppName)
	if runs > 0 {
		msg += " " + fmt.Sprintf("Quitting also stops %s in progress; they go back to the queue and continue the next time %s starts.", plural(runs, "run", "runs"), AppName)
	}
	return CloseQuestion{Triggers: triggers, Runs: runs, Message: msg}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Close answers of the page (App.AnswerClose).
const (
	AnswerBackground = "background"
	AnswerQuit       = "quit"
	AnswerCancel     = "cancel"
)
