// Package flow holds Flow Weaver's domain types and the contracts between the
// backend packages. It imports only the standard library so every other
// package can depend on it without pulling in SQLite, HTTP or WebSocket code.
package flow
