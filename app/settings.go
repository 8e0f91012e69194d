package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const settingsFileName = "desktop.json"

// CloseAction is what closing the window does while triggers are active
// (with none, closing the window always quits: there is nothing to keep
// running for).
type CloseAction string

const (
	// CloseAsk shows the question "Keep running in the background / Quit /
	// Cancel" (the default).
	CloseAsk CloseAction = "ask"
	// CloseBackground hides the window; the backend keeps serving
	// schedules, webhooks and file triggers until the user quits.
	CloseBackground CloseAction = "background"
	// CloseQuit quits, as without triggers.
	CloseQuit CloseAction = "quit"
)

// Valid reports whether a is one of the three actions.
func (a CloseAction) Valid() bool {
	return a == CloseAsk || a == CloseBackground || a == CloseQuit
}

// Settings are the desktop shell's own preferences, kept in
// <data-dir>/desktop.json. Whether the app starts at login is not stored
// here: the autostart entry itself is the truth (a user who deletes it by
// hand has turned it off).
type Settings struct {
	CloseAction CloseAction `json:"closeAction"`
}

// DefaultSettings asks on close.
func DefaultSettings() Settings { return Settings{CloseAction: CloseAsk} }

// LoadSettings reads desktop.json. A missing file gives the defaults
// without error; a corrupt one, or an unknown action, gives the defaults
// and the error, for the caller to log.
func LoadSettings(dataDir string) (Settings, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, settingsFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return DefaultSettings(), fmt.Errorf("read desktop settings: %w", err)
	}
	var s Settings
	if err := json.Unmarshal(b, &s); err != nil {
		return DefaultSettings(), fmt.Errorf("parse desktop settings %s: %w", filepath.Join(dataDir, settingsFileName), err)
	}
	if !s.CloseAction.Valid() {
		return DefaultSettings(), fmt.Errorf("desktop settings %s: unknown closeAction %q (want ask, background or quit)", filepath.Join(dataDir, settingsFileName), s.CloseAction)
	}
	return s, nil
}

// SaveSettings writes desktop.json atomically; an invalid action is
// refused and nothing is written.
func SaveSettings(dataDir string, s Settings) error {
	if !s.CloseAction.Valid() {
		return fmt.Errorf("save desktop settings: unknown close action %q", s.CloseAction)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode desktop settings: %w", err)
	}
	return writeFileAtomic(filepath.Join(dataDir, settingsFileName), append(b, '\n'))
}
