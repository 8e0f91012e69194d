package app

import (
	"os"

	"github.com/wailsapp/wails/v2/pkg/menu"
	"github.com/wailsapp/wails/v2/pkg/menu/keys"
	"github.com/wailsapp/wails/v2/pkg/runtime"
)

// menuItems are the items whose checked state follows the settings.
type menuItems struct {
	autostart *menu.MenuItem
	close     map[CloseAction]*menu.MenuItem
}

// menu is the application menu. macOS gets its App, Edit and Window
// menus from the system roles (its App menu has About and Quit); on Linux
// and Windows the webview handles the editing shortcuts (Ctrl+C/V/X/Z/A)
// itself, so an Edit menu with the same accelerators would only steal
// them, and Help > About shows the version.
func (s *shell) menu(goos string) *menu.Menu {
	m := menu.NewMenu()
	if goos == "darwin" {
		m.Append(menu.AppMenu())
	}
	file := m.AddSubmenu("File")
	file.AddText("Open Project…", keys.CmdOrCtrl("o"), func(*menu.CallbackData) {
		if ctx := s.app.wailsCtx(); ctx != nil {
			runtime.EventsEmit(ctx, EventOpenProject)
		}
	})
	// Close Window is the window's close button: with active triggers it
	// may keep running in the background. Quit always quits.
	file.AddText("Close Window", keys.CmdOrCtrl("w"), func(*menu.CallbackData) {
		if ctx := s.app.wailsCtx(); ctx != nil {
			runtime.Quit(ctx) // OnBeforeClose decides (quitting is not set)
		}
	})
	file.AddSeparator()
	s.settingsMenu(file)
	if goos != "darwin" { // the macOS App menu has Quit (Cmd+Q)
		file.AddSeparator()
		file.AddText("Quit", keys.CmdOrCtrl("q"), func(*menu.CallbackData) {
			if ctx := s.app.wailsCtx(); ctx != nil {
				s.quit(ctx, false)
			}
		})
	}
	if goos == "darwin" {
		m.Append(menu.EditMenu())
	}
	view := m.AddSubmenu("View")
	view.AddText("Reload", keys.CmdOrCtrl("r"), func(*menu.CallbackData) {
		if ctx := s.app.wailsCtx(); ctx != nil {
			runtime.WindowReloadApp(ctx)
		}
	})
	fullscreen := keys.Key("f11")
	if goos == "darwin" {
		fullscreen = keys.Combo("f", keys.CmdOrCtrlKey, keys.ControlKey)
	}
	view.AddText("Toggle Full Screen", fullscreen, func(*menu.CallbackData) {
		ctx := s.app.wailsCtx()
		if ctx == nil {
			return
		}
		if runtime.WindowIsFullscreen(ctx) {
			runtime.WindowUnfullscreen(ctx)
		} else {
			runtime.WindowFullscreen(ctx)
		}
	})
	if goos == "darwin" {
		m.Append(menu.WindowMenu())
	} else {
		help := m.AddSubmenu("Help")
		help.AddText("About "+AppName, nil, func(*menu.CallbackData) { s.about() })
	}
	return m
}

// settingsMenu adds "Start at Login" (where XDG autostart exists) and
// "When Closing the Window" (Ask / Keep Running in the Background / Quit).
func (s *shell) settingsMenu(file *menu.Menu) {
	if s.cfg.Autostart != "" {
		s.menuItems.autostart = file.AddCheckbox("Start at Login (in the Background)", AutostartEnabled(s.cfg.Autostart), nil, func(cd *menu.CallbackData) {
			s.setAutostart(cd.MenuItem.Checked)
		})
	}
	sub := file.AddSubmenu("When Closing the Window with Active Triggers")
	current := s.closeAction()
	s.menuItems.close = map[CloseAction]*menu.MenuItem{}
	for _, c := range []struct {
		a     CloseAction
		label string
	}{{CloseAsk, "Ask"}, {CloseBackground, "Keep Running in the Background"}, {CloseQuit, "Quit"}} {
		a := c.a
		s.menuItems.close[a] = sub.AddRadio(c.label, a == current, nil, func(*menu.CallbackData) {
			_ = s.setCloseAction(a) // logged
		})
	}
}

// syncMenu ticks the items that match the settings (after a remembered
// answer of the close question, or a failed autostart change).
func (s *shell) syncMenu() {
	current := s.closeAction()
	for a, it := range s.menuItems.close {
		it.Checked = a == current
	}
	if it := s.menuItems.autostart; it != nil {
		it.Checked = AutostartEnabled(s.cfg.Autostart)
	}
	if ctx := s.app.wailsCtx(); ctx != nil {
		runtime.MenuUpdateApplicationMenu(ctx)
	}
}

// setAutostart writes or removes the autostart entry; a failure is shown
// and the checkbox put back.
func (s *shell) setAutostart(on bool) {
	var err error
	if on {
		exe := s.cfg.Executable
		if exe == "" {
			exe, err = os.Executable()
		}
		if err == nil {
			err = EnableAutostart(s.cfg.Autostart, exe, append([]string{BackgroundFlag}, s.cfg.AutostartArgs...))
		}
	} else {
		err = DisableAutostart(s.cfg.Autostart)
	}
	if err != nil {
		s.log.Warn("desktop: start at login", "on", on, "err", err)
		s.syncMenu()
		if ctx := s.app.wailsCtx(); ctx != nil {
			_, _ = runtime.MessageDialog(ctx, runtime.MessageDialogOptions{
				Type: runtime.ErrorDialog, Title: "Start at login", Message: err.Error(),
			})
		}
		return
	}
	s.log.Info("desktop: start at login", "on", on, "entry", s.cfg.Autostart)
}

// about shows the version (Linux and Windows; macOS has its own panel).
func (s *shell) about() {
	ctx := s.app.wailsCtx()
	if ctx == nil {
		return
	}
	_, err := runtime.MessageDialog(ctx, runtime.MessageDialogOptions{
		Type:    runtime.InfoDialog,
		Title:   "About " + AppName,
		Message: AboutText(s.cfg.Version),
	})
	if err != nil {
		s.log.Warn("desktop: about dialog", "err", err)
	}
}

// AboutText is the About box's text for a version string.
func AboutText(version string) string {
	if version == "" {
		version = "dev"
	}
	return AppName + " " + version + "\n\nBuild and run workflows on your machine."
}
