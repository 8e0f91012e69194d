package cli_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCompletion: the hidden __complete answers commands, flags and the
// project's workflow ids, and every shell gets a script that calls it.
func TestCompletion(t *testing.T) {
	proj := newProject(t, map[string]string{"build": twoNodes, "deploy": twoNodes, "bench": twoNodes})
	complete := func(words ...string) []string {
		t.Helper()
		stdout, stderr, code := runCLI(t, proj, append([]string{"__complete"}, words...)...)
		if code != 0 {
			t.Fatalf("__complete %q: exit %d %s", words, code, stderr)
		}
		return strings.Fields(stdout)
	}
	if got := strings.Join(complete("ru"), " "); got != "run runs" {
		t.Errorf("commands for 'ru': %q", got)
	}
	if got := strings.Join(complete("run", "b"), " "); got != "bench build" {
		t.Errorf("workflow ids for 'run b': %q", got)
	}
	if got := strings.Join(complete("run", "--json", ""), " "); got != "bench build deploy" {
		t.Errorf("workflow ids after a flag: %q", got)
	}
	other := newProject(t, map[string]string{"release": twoNodes})
	if got := strings.Join(complete("run", "--project", other, ""), " "); got != "release" {
		t.Errorf("workflow ids of --project: %q", got)
	}
	if got := complete("run", "--project", ""); len(got) != 0 {
		t.Errorf("a flag's value completed as %q (should fall back to files)", got)
	}
	flags := strings.Join(complete("run", "--"), " ")
	for _, want := range []string{"--data-dir", "--detach", "--input", "--inputs-json", "--json", "--project", "--trust"} {
		if !strings.Contains(flags, want) {
			t.Errorf("flags of run lack %s: %q", want, flags)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, _, code := runCLI(t, proj, "completion", shell)
		if code != 0 || !strings.Contains(out, "flowweaver __complete") {
			t.Errorf("completion %s: exit %d %q", shell, code, out)
		}
	}
	// The bash script works in a real bash.
	if bash, err := exec.LookPath("bash"); err == nil {
		script := `source <(` + binary + ` completion bash); flowweaver() { ` + binary + ` "$@"; }
COMP_WORDS=(flowweaver run b); COMP_CWORD=2; _flowweaver; echo "${COMPREPLY[@]}"`
		cmd := exec.Command(bash, "-c", strings.ReplaceAll(script, "$(flowweaver ", "$("+binary+" "))
		cmd.Dir = proj
		out, err := cmd.Output()
		if err != nil || strings.TrimSpace(string(out)) != "bench build" {
			t.Errorf("bash completion: %v %q", err, out)
		}
	}
}
