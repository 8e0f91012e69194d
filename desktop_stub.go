//go:build !desktop

package main

import (
	"context"
	"errors"

	"github.com/flowweaver/flowweaver/cli"
)

// runDesktop in a build without the desktop tag: there is no window, and
// saying so beats a blank exit.
func runDesktop(ctx context.Context, env *cli.Env, args []string) error {
	return cli.UsageError(errors.New("this build of flowweaver has no desktop window (built without the 'desktop' tag); run `flowweaver serve` and open the printed URL in a browser, or build the desktop app with `make desktop`"))
}
