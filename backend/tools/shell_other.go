//go:build !unix

package tools

import (
	"context"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Run reports that the shell tool needs a Unix system: it relies on
// /bin/sh and process groups.
func (t *shellTool) Run(ctx context.Context, call Call) (any, error) {
	if err := shellSpec.validate(call.Params); err != nil {
		return nil, err
	}
	return nil, flow.Errorf(flow.EUNAVAILABLE, "shell: not supported on this operating system yet")
}
