//go:build !unix

package testserver

import "errors"

func freeze() error { return errors.New("freeze is only supported on unix") }
