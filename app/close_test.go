package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecideClose(t *testing.T) {
	for _, c := range []struct {
		name string
		req  closeRequest
		want closeStep
	}{
		{"no triggers: closing quits", closeRequest{triggers: 0, action: CloseBackground, pageHandles: true}, stepQuit},
		{"a quit never hides", closeRequest{quit: true, triggers: 3, action: CloseBackground, pageHandles: true}, stepQuit},
		{"remembered background", closeRequest{triggers: 1, action: CloseBackground}, stepHide},
		{"remembered quit", closeRequest{triggers: 1, action: CloseQuit, pageHandles: true}, stepQuit},
		{"ask in the page", closeRequest{triggers: 2, action: CloseAsk, pageHandles: true}, stepAskPage},
		{"ask natively without the page", closeRequest{triggers: 2, action: CloseAsk}, stepAskNative},
	} {
		if got := decideClose(c.req); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCloseQuestionNamesTriggersAndRuns(t *testing.T) {
	q := closeQuestion(1, 0)
	if q.Triggers != 1 || !strings.HasPrefix(q.Message, "1 active trigger will stop firing") || strings.Contains(q.Message, "run") && strings.Contains(q.Message, "in progress") {
		t.Fatalf("one trigger: %+v", q)
	}
	q = closeQuestion(3, 2)
	if !strings.HasPrefix(q.Message, "3 active triggers") || !strings.Contains(q.Message, "stops 2 runs in progress") || q.Runs != 2 {
		t.Fatalf("three triggers, two runs: %+v", q)
	}
}

func TestSettingsRoundTripAndBadFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := LoadSettings(dir)
	if err != nil || s.CloseAction != CloseAsk {
		t.Fatalf("missing file: %+v %v", s, err)
	}
	if err := SaveSettings(dir, Settings{CloseAction: CloseBackground}); err != nil {
		t.Fatal(err)
	}
	if s, err := LoadSettings(dir); err != nil || s.CloseAction != CloseBackground {
		t.Fatalf("after save: %+v %v", s, err)
	}
	if st, err := os.Stat(filepath.Join(dir, settingsFileName)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("settings file: %v %v", st, err)
	}
	// An unknown action is refused and the saved choice is kept.
	if err := SaveSettings(dir, Settings{CloseAction: "minimise"}); err == nil {
		t.Fatal("unknown action saved")
	}
	if s, _ := LoadSettings(dir); s.CloseAction != CloseBackground {
		t.Fatalf("a refused save changed the file: %+v", s)
	}
	// A corrupt or hand-edited file asks again, and says why.
	for _, bad := range []string{"{not json", `{"closeAction":"hide"}`} {
		if err := os.WriteFile(filepath.Join(dir, settingsFileName), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := LoadSettings(dir)
		if err == nil || s.CloseAction != CloseAsk {
			t.Fatalf("%q: %+v %v", bad, s, err)
		}
	}
}

func TestAboutTextShowsTheVersion(t *testing.T) {
	if got := AboutText("v1.4.0"); !strings.HasPrefix(got, "Flow Weaver v1.4.0\n") {
		t.Fatalf("about: %q", got)
	}
	if got := AboutText(""); !strings.HasPrefix(got, "Flow Weaver dev\n") {
		t.Fatalf("about without version: %q", got)
	}
}
