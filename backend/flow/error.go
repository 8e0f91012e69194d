package flow

import (
	"errors"
	"fmt"
)

// Error codes. They are the "error" field of every JSON error body and the
// "code" of WebSocket error events, so they are part of the wire contract.
const (
	ECONFLICT        = "conflict"
	EINTERNAL        = "internal"
	EINVALID         = "bad_request"
	ENOTFOUND        = "not_found"
	EUNAUTHORIZED    = "unauthorized"
	EFORBIDDEN       = "forbidden"
	ETOOMANY         = "too_many_requests"
	EUNKNOWNEVENT    = "unknown_event"
	ETOKENEXPIRED    = "token_expired"
	EUNAVAILABLE     = "unavailable"
	EPAYLOADTOOLARGE = "payload_too_large"
	// EUNTRUSTED refuses something that would execute what an untrusted
	// project's folder brings (a run, an MCP server); HTTP 403.
	EUNTRUSTED = "untrusted"
)

// Error is the one application error type. Code is machine readable, Message
// is safe to show to the user. Details carries structured extras (for example
// every validation problem of a workflow, or the current version on conflict).
type Error struct {
	Code    string
	Message string
	Details any
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err. Internal errors are
// reduced to a generic text so no file paths or SQL leak to clients.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
