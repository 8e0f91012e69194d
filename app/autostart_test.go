package app

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestAutostartPathRespectsXDGConfigHome(t *testing.T) {
	got, err := AutostartPath(env(map[string]string{"XDG_CONFIG_HOME": "/x/cfg", "HOME": "/home/u"}))
	if err != nil || got != "/x/cfg/autostart/flowweaver.desktop" {
		t.Fatalf("with XDG_CONFIG_HOME: %q %v", got, err)
	}
	got, err = AutostartPath(env(map[string]string{"HOME": "/home/u"}))
	if err != nil || got != "/home/u/.config/autostart/flowweaver.desktop" {
		t.Fatalf("default: %q %v", got, err)
	}
	// A relative XDG_CONFIG_HOME is invalid per the base directory spec.
	got, err = AutostartPath(env(map[string]string{"XDG_CONFIG_HOME": "cfg", "HOME": "/home/u"}))
	if err != nil || got != "/home/u/.config/autostart/flowweaver.desktop" {
		t.Fatalf("relative XDG_CONFIG_HOME: %q %v", got, err)
	}
}

// validate runs desktop-file-validate on path. CI installs it (the .deb
// test needs it too); a developer machine without it skips only this part.
func validate(t *testing.T, path string) {
	t.Helper()
	bin, err := exec.LookPath("desktop-file-validate")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("desktop-file-validate is not installed (.ci/system-deps.sh installs desktop-file-utils)")
		}
		t.Log("desktop-file-validate not installed; validity not checked")
		return
	}
	out, err := exec.Command(bin, path).CombinedOutput()
	if err != nil {
		t.Fatalf("desktop-file-validate %s: %v\n%s\n--- file ---\n%s", path, err, out, readFile(t, path))
	}
	if strings.Contains(string(out), "error") {
		t.Fatalf("desktop-file-validate reports: %s", out)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAutostartEnableWritesAValidEntryAndDisableRemovesIt(t *testing.T) {
	cfg := t.TempDir()
	path, err := AutostartPath(env(map[string]string{"XDG_CONFIG_HOME": cfg}))
	if err != nil {
		t.Fatal(err)
	}
	if AutostartEnabled(path) {
		t.Fatal("enabled before Enable")
	}
	// A program and a data dir with every character the Exec rules escape.
	exe := `/opt/Flow Weaver/bin/flow"weaver`
	data := `/home/u/my $data\dir 100%`
	args := []string{BackgroundFlag, "--data-dir", data}
	if err := EnableAutostart(path, exe, args); err != nil {
		t.Fatal(err)
	}
	if !AutostartEnabled(path) {
		t.Fatal("not enabled after Enable")
	}
	validate(t, path)
	content := readFile(t, path)
	var execLine string
	for _, l := range strings.Split(content, "\n") {
		if v, ok := strings.CutPrefix(l, "Exec="); ok {
			execLine = v
		}
	}
	got, err := parseExec(execLine)
	if err != nil {
		t.Fatalf("Exec=%s: %v", execLine, err)
	}
	if want := append([]string{exe}, args...); !slices.Equal(got, want) {
		t.Fatalf("Exec=%s runs %q, want %q", execLine, got, want)
	}
	if !strings.Contains(content, "X-GNOME-Autostart-enabled=true\n") || !strings.HasPrefix(content, "[Desktop Entry]\n") {
		t.Fatalf("entry:\n%s", content)
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
		t.Fatalf("autostart dir: %v", err)
	}

	// Enabling again replaces the entry (a moved binary is picked up).
	if err := EnableAutostart(path, "/usr/bin/flowweaver", []string{BackgroundFlag}); err != nil {
		t.Fatal(err)
	}
	if c := readFile(t, path); !strings.Contains(c, `Exec="/usr/bin/flowweaver" "--background"`+"\n") {
		t.Fatalf("re-enabled entry:\n%s", c)
	}
	validate(t, path)

	if err := DisableAutostart(path); err != nil {
		t.Fatal(err)
	}
	if AutostartEnabled(path) {
		t.Fatal("still enabled after Disable")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("file left: %v", err)
	}
	if err := DisableAutostart(path); err != nil { // idempotent
		t.Fatalf("second disable: %v", err)
	}
}

func TestAutostartRefusesWhatAnExecLineCannotHold(t *testing.T) {
	path := filepath.Join(t.TempDir(), "autostart", AutostartFileName)
	if err := EnableAutostart(path, "/usr/bin/flowweaver", []string{BackgroundFlag, "--data-dir", "/tmp/a\nb"}); err == nil {
		t.Fatal("newline in an argument accepted")
	}
	if err := EnableAutostart(path, "flowweaver", nil); err == nil {
		t.Fatal("relative program path accepted")
	}
	if AutostartEnabled(path) {
		t.Fatal("a refused entry was written")
	}
}

// parseExec undoes the escaping of an Exec value as a launcher does:
// string escapes first (\\ -> \), then the quoting rules, then %% -> %.
func parseExec(v string) ([]string, error) {
	v = strings.ReplaceAll(v, `\\`, `\`)
	var args []string
	var cur strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(v):
			i++
			cur.WriteByte(v[i])
		case c == '"':
			inQuote = !inQuote
			have = true
		case c == ' ' && !inQuote:
			if have {
				args = append(args, strings.ReplaceAll(cur.String(), "%%", "%"))
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if inQuote {
		return nil, os.ErrInvalid
	}
	if have {
		args = append(args, strings.ReplaceAll(cur.String(), "%%", "%"))
	}
	return args, nil
}
