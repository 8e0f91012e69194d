package app

import (
	"embed"
	"errors"
	"io/fs"
)

// notice replaces a UI build without index.html (a fresh clone before
// `npm run build`): Wails refuses to start without one and exits the
// process, skipping the daemon's graceful stop.
//
//go:embed notice/index.html
var notice embed.FS

// uiOrNotice returns assets when they hold an index.html, else a one-page
// notice explaining how to build the UI.
func uiOrNotice(assets fs.FS) (fs.FS, bool) {
	if _, err := fs.Stat(assets, "index.html"); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return assets, true // present, or a real problem for Wails to report
	}
	sub, _ := fs.Sub(notice, "notice")
	return sub, false
}
