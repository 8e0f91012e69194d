package flow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
)

type sqlStateErr string

func (e sqlStateErr) Error() string    { return "pg: " + string(e) }
func (e sqlStateErr) SQLState() string { return string(e) }

type retryErr bool

func (e retryErr) Error() string     { return "conn closed" }
func (e retryErr) SafeToRetry() bool { return bool(e) }

func TestUnavailableErrorsAnswer503WithAClearMessage(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for name, err := range map[string]error{
		"connection refused":    fmt.Errorf("read project: %w", dial),
		"server shutting down":  fmt.Errorf("begin: %w", sqlStateErr("57P01")),
		"not yet accepting":     sqlStateErr("57P03"),
		"connection exception":  sqlStateErr("08006"),
		"closed under the call": fmt.Errorf("begin write: %w", retryErr(true)),
		"eof mid-query":         fmt.Errorf("allocate seqs: %w", io.ErrUnexpectedEOF),
		"reset":                 fmt.Errorf("x: %w", syscall.ECONNRESET),
	} {
		if ErrorCode(err) != EUNAVAILABLE || ErrorMessage(err) != unavailableMessage {
			t.Errorf("%s: code %s, message %q", name, ErrorCode(err), ErrorMessage(err))
		}
	}
	for name, err := range map[string]error{
		"unique violation":  sqlStateErr("23505"),
		"not safe to retry": retryErr(false),
		"plain":             errors.New("boom"),
		"canceled":          context.Canceled,
	} {
		if ErrorCode(err) != EINTERNAL || ErrorMessage(err) != "internal error" {
			t.Errorf("%s: code %s, message %q, want internal", name, ErrorCode(err), ErrorMessage(err))
		}
	}
	if ErrorCode(Errorf(ENOTFOUND, "x")) != ENOTFOUND {
		t.Error("an application error keeps its code")
	}
}
