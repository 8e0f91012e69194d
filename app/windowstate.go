package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const windowFileName = "window.json"

// Window size limits. The minimum keeps the canvas and inspector usable;
// the maximum and the position bound reject garbage in a hand-edited file.
const (
	MinWidth      = 800
	MinHeight     = 560
	DefaultWidth  = 1280
	DefaultHeight = 820
	maxExtent     = 16384
)

// WindowState is the window geometry remembered across launches in
// <data-dir>/window.json.
type WindowState struct {
	Width  int `json:"width"`
	Height int `json:"height"`
	X      int `json:"x"`
	Y      int `json:"y"`
	// Positioned is false until a position was saved: the first launch
	// lets the window manager centre the window.
	Positioned bool `json:"positioned"`
	Maximised  bool `json:"maximised"`
}

// DefaultWindowState is a centred 1280x820 window.
func DefaultWindowState() WindowState {
	return WindowState{Width: DefaultWidth, Height: DefaultHeight}
}

// sanitized clamps every field into a usable range, so a corrupt or
// hand-edited file can never open an invisible or tiny window.
func (s WindowState) sanitized() WindowState {
	if s.Width <= 0 || s.Height <= 0 {
		s.Width, s.Height = DefaultWidth, DefaultHeight
	}
	s.Width = clamp(s.Width, MinWidth, maxExtent)
	s.Height = clamp(s.Height, MinHeight, maxExtent)
	if s.X < -maxExtent || s.X > maxExtent || s.Y < -maxExtent || s.Y > maxExtent {
		s.X, s.Y, s.Positioned = 0, 0, false
	}
	return s
}

func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}

// LoadWindowState reads the saved geometry. A missing file gives the
// default without error; an unreadable or corrupt one gives the default
// and the error, for the caller to log (the next save replaces it).
func LoadWindowState(dataDir string) (WindowState, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, windowFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultWindowState(), nil
	}
	if err != nil {
		return DefaultWindowState(), fmt.Errorf("read window state: %w", err)
	}
	var s WindowState
	if err := json.Unmarshal(b, &s); err != nil {
		return DefaultWindowState(), fmt.Errorf("parse window state %s: %w", filepath.Join(dataDir, windowFileName), err)
	}
	return s.sanitized(), nil
}

// SaveWindowState writes the geometry atomically.
func SaveWindowState(dataDir string, s WindowState) error {
	b, err := json.MarshalIndent(s.sanitized(), "", "  ")
	if err != nil {
		return fmt.Errorf("encode window state: %w", err)
	}
	return writeFileAtomic(filepath.Join(dataDir, windowFileName), append(b, '\n'))
}
