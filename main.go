// Command flowweaver is Flow Weaver: with no subcommand the desktop app,
// `serve` the headless daemon with its UI for a browser, `run` a workflow
// from a terminal, `token` a signed token for scripts. The command line
// lives in package cli; see README.md and docs/cli.md.
package main

import (
	"os"

	"github.com/flowweaver/flowweaver/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Env{
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Version: version,
		Desktop: runDesktop,
	}))
}
