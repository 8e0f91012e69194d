package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/daemon"
)

type cliResult struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Version: "test"}
	err := Run(context.Background(), args, &env)
	code := ExitCode(err, &errb)
	return cliResult{code, out.String(), errb.String()}
}

const cliSecret = "cli-Secret-Value-51f0a2"

// Without a running Flow Weaver the command writes the data dir itself:
// the value comes from stdin, is listed by name only, never reaches the
// terminal, and is stored encrypted.
func TestSecretsCommandLocal(t *testing.T) {
	dataDir, project := t.TempDir(), t.TempDir()
	r := runCLI(t, cliSecret+"\n", "secrets", "set", "--data-dir", dataDir, "--project", project, "API_TOKEN")
	if r.code != 0 {
		t.Fatalf("set: %d %s", r.code, r.stderr)
	}
	r = runCLI(t, "", "secrets", "list", "--data-dir", dataDir, "--project", project)
	if r.code != 0 || !strings.Contains(r.stdout, "API_TOKEN") {
		t.Fatalf("list: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, cliSecret) {
		t.Fatal("list printed the value")
	}
	for _, f := range []string{"flowweaver.db", "flowweaver.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dataDir, f))
		if bytes.Contains(b, []byte(cliSecret)) {
			t.Fatalf("%s holds the value in plain text", f)
		}
	}
	// The value is never taken from the command line.
	if r := runCLI(t, "", "secrets", "set", "--data-dir", dataDir, "--project", project, "API_TOKEN", "oops"); r.code != ExitUsage || !strings.Contains(r.stderr, "stdin") {
		t.Fatalf("value on the command line: %d %q", r.code, r.stderr)
	}
	if r := runCLI(t, "", "secrets", "set", "--data-dir", dataDir, "--project", project, "API_TOKEN"); r.code != ExitUsage {
		t.Fatalf("empty stdin: %d %q", r.code, r.stderr)
	}
	if r := runCLI(t, "x", "secrets", "set", "--data-dir", dataDir, "--project", project, "bad-name"); r.code != ExitUsage {
		t.Fatalf("bad name: %d %q", r.code, r.stderr)
	}
	if r := runCLI(t, "", "secrets", "rm", "--data-dir", dataDir, "--project", project, "API_TOKEN"); r.code != 0 {
		t.Fatalf("rm: %d %q", r.code, r.stderr)
	}
	if r := runCLI(t, "", "secrets", "rm", "--data-dir", dataDir, "--project", project, "API_TOKEN"); r.code != ExitFailed || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("rm again: %d %q", r.code, r.stderr)
	}
}

// With a server holding the data dir the command goes through its API,
// so the running app sees the secret at once.
func TestSecretsCommandHandsOverToTheRunningServer(t *testing.T) {
	dataDir, project := t.TempDir(), t.TempDir()
	ctx := context.Background()
	d, err := daemon.New(ctx, daemon.Config{Addr: "127.0.0.1:0", DataDir: dataDir, Workers: 1, Announce: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_ = d.Stop(sctx)
	}()
	r := runCLI(t, cliSecret, "secrets", "set", "--data-dir", dataDir, "--project", project, "API_TOKEN")
	if r.code != 0 {
		t.Fatalf("set: %d %s", r.code, r.stderr)
	}
	r = runCLI(t, "", "secrets", "list", "--json", "--data-dir", dataDir, "--project", project)
	if r.code != 0 || !strings.Contains(r.stdout, `"name": "API_TOKEN"`) || strings.Contains(r.stdout, cliSecret) {
		t.Fatalf("list: %d %q %q", r.code, r.stdout, r.stderr)
	}
	ps, err := d.Store().Projects(ctx)
	if err != nil || len(ps) != 1 {
		t.Fatalf("projects %v %v", ps, err)
	}
	rows, err := d.Store().Secrets(ctx, ps[0].ID)
	if err != nil || len(rows) != 1 || rows[0].Name != "API_TOKEN" {
		t.Fatalf("the server does not have the secret: %+v %v", rows, err)
	}
}
