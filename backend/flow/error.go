package flow

import (
	"errors"
	"fmt"
	"syscall"
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
	// EDISKFULL: the disk (or the database's size limit) is full, so
	// nothing could be saved; HTTP 507. Nothing half-written is kept: the
	// transaction that hit it rolled back.
	EDISKFULL = "disk_full"
)

// diskFullMessage is what the user reads when a write failed for lack of
// space: the cause and what to do, never a path or SQL.
const diskFullMessage = "the disk is full: Flow Weaver could not save this change (nothing was lost); free some disk space and try again"

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
	if IsDiskFull(err) {
		return EDISKFULL
	}
	if IsUnavailable(err) {
		return EUNAVAILABLE
	}
	return EINTERNAL
}

// sqliteFull is SQLITE_FULL, the primary result code SQLite returns when
// the disk or max_page_count is exhausted (extended codes keep it in the
// low byte).
const sqliteFull = 13

// IsDiskFull reports whether err comes from a full disk: ENOSPC (or
// EDQUOT, a full quota) from the OS, or SQLITE_FULL from the database
// driver (any error with a Code() int, as modernc.org/sqlite's has, so
// this package needs no driver import). This and ErrorCode are the one
// place where such low-level errors get their meaning.
func IsDiskFull(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || isQuota(err) {
		return true
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code()&0xff == sqliteFull
	}
	return false
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
	if IsDiskFull(err) {
		return diskFullMessage
	}
	if IsUnavailable(err) {
		return unavailableMessage
	}
	return "internal error"
}
