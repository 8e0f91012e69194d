package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// "Start at login" on Linux and the other freedesktop systems is a
// .desktop file in the user's autostart folder (XDG Autostart). The file
// is the setting: it exists when the option is on, so a user who removes
// it in their desktop's startup-apps tool has turned it off here too.
// macOS (a LaunchAgent) and Windows (the Run registry key) are not done:
// AutostartSupported says so and the menu item is not shown there.

// AutostartFileName is the entry's name in the autostart folder.
const AutostartFileName = "flowweaver.desktop"

// BackgroundFlag starts the app with its window hidden; the autostart
// entry passes it.
const BackgroundFlag = "--background"

// ErrAutostartUnsupported is returned where start at login is not built.
var ErrAutostartUnsupported = errors.New("start at login is only available on Linux (XDG autostart)")

// AutostartSupported reports whether goos has XDG autostart.
func AutostartSupported(goos string) bool { return goos != "darwin" && goos != "windows" }

// AutostartPath is $XDG_CONFIG_HOME/autostart/flowweaver.desktop, with
// XDG_CONFIG_HOME defaulting to ~/.config (a relative XDG_CONFIG_HOME is
// invalid per the spec and ignored).
func AutostartPath(getenv func(string) string) (string, error) {
	base := getenv("XDG_CONFIG_HOME")
	if base == "" || !filepath.IsAbs(base) {
		home := getenv("HOME")
		if home == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("autostart: no home directory: %w", err)
			}
			home = h
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "autostart", AutostartFileName), nil
}

// AutostartEntry is the content of the autostart file that runs exe with
// args (BackgroundFlag first, then e.g. --data-dir DIR). Every argument is
// quoted and escaped per the Desktop Entry Specification, so paths with
// spaces, quotes, dollars or backslashes survive; control characters
// cannot be written in an Exec line and are refused.
func AutostartEntry(exe string, args []string) (string, error) {
	if !filepath.IsAbs(exe) {
		return "", fmt.Errorf("autostart: the program path %q is not absolute", exe)
	}
	words := make([]string, 0, len(args)+1)
	for _, w := range append([]string{exe}, args...) {
		q, err := execQuote(w)
		if err != nil {
			return "", err
		}
		words = append(words, q)
	}
	tryExec, err := escapeString(exe)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("[Desktop Entry]\n")
	b.WriteString("Type=Application\n")
	b.WriteString("Version=1.4\n")
	b.WriteString("Name=Flow Weaver\n")
	b.WriteString("Comment=Serve workflow schedules, webhooks and file triggers in the background\n")
	b.WriteString("Exec=" + strings.Join(words, " ") + "\n")
	b.WriteString("TryExec=" + tryExec + "\n")
	b.WriteString("Icon=flowweaver\n")
	b.WriteString("Terminal=false\n")
	b.WriteString("X-GNOME-Autostart-enabled=true\n")
	return b.String(), nil
}

// EnableAutostart writes the autostart entry at path (its folder created
// 0700 if missing) atomically.
func EnableAutostart(path, exe string, args []string) error {
	content, err := AutostartEntry(exe, args)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("autostart: create %s: %w", filepath.Dir(path), err)
	}
	return writeFileAtomic(path, []byte(content))
}

// DisableAutostart removes the entry; a missing one is not an error.
func DisableAutostart(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("autostart: remove %s: %w", path, err)
	}
	return nil
}

// AutostartEnabled reports whether the entry exists.
func AutostartEnabled(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// execQuote quotes one Exec argument: inside double quotes, `"`, "`",
// `$` and `\` take a backslash; `%` is doubled (field codes); then the
// value as a whole gets the string escapes (escapeString).
func execQuote(arg string) (string, error) {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range arg {
		switch r {
		case '"', '`', '$', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '%':
			b.WriteString("%%")
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return escapeString(b.String())
}

// escapeString applies the escapes of a Desktop Entry string value: a
// backslash becomes `\\`. Control characters (a newline would end the
// value) are refused.
func escapeString(s string) (string, error) {
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("autostart: %q has a control character, which a desktop entry cannot hold", s)
	}
	return strings.ReplaceAll(s, `\`, `\\`), nil
}
