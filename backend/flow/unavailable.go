package flow

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// unavailableMessage is what a client reads when the database cannot be
// reached (PostgreSQL restarting, the network to it down): nothing was
// acknowledged, so retrying is safe.
const unavailableMessage = "the database is unavailable (nothing was saved); retry in a moment"

// IsUnavailable reports whether err means the database could not be
// reached or dropped the connection, rather than refusing the request:
// a network error, a connection closed under the query, or a PostgreSQL
// SQLSTATE of class 08 (connection exception) or 57P (the server is
// shutting down, restarting or not yet accepting connections). It looks
// for behaviour (SQLState, SafeToRetry), not driver types, so this package
// imports no driver; like IsDiskFull it is where such errors get their
// meaning.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var state interface{ SQLState() string }
	if errors.As(err, &state) {
		s := state.SQLState()
		return strings.HasPrefix(s, "08") || strings.HasPrefix(s, "57P")
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	// pgx marks errors that happened before anything was sent (a closed
	// or busy connection) as safe to retry.
	var retry interface{ SafeToRetry() bool }
	if errors.As(err, &retry) && retry.SafeToRetry() {
		return true
	}
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
