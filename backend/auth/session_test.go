package auth

import (
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

const testDeviceKey = "dk-0123456789abcdefghijklmnop"

func TestSessionLoginNeedsTheDeviceKeyAndRenews(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a, _ := newAuthority(t, func() time.Time { return now })
	tok, _, err := a.Issue(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sid, err := a.SessionOf(tok)
	if err != nil {
		t.Fatal(err)
	}
	session, exp, err := a.IssueSession(sid, testDeviceKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := exp.Sub(now); got != SessionTTL {
		t.Fatalf("session lives %s, want %s", got, SessionTTL)
	}

	// The session token is not an API token.
	if _, err := a.Verify(session); flow.ErrorCode(err) != flow.EUNAUTHORIZED {
		t.Fatalf("Verify(session token) = %v, want unauthorized", err)
	}
	// Without the page's device key it is worth nothing.
	for _, dk := range []string{"", "dk-someone-else-0123456789abc", testDeviceKey + "x"} {
		if _, _, _, _, err := a.SessionLogin(session, dk, time.Hour); flow.ErrorCode(err) != flow.EUNAUTHORIZED {
			t.Fatalf("SessionLogin with device key %q = %v, want unauthorized", dk, err)
		}
	}
	// An access token is not a session token either.
	if _, _, _, _, err := a.SessionLogin(tok, testDeviceKey, time.Hour); flow.ErrorCode(err) != flow.EUNAUTHORIZED {
		t.Fatalf("SessionLogin(access token) = %v, want unauthorized", err)
	}

	now = now.Add(13 * 24 * time.Hour)
	access, _, renewed, rexp, err := a.SessionLogin(session, testDeviceKey, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Verify(access)
	if err != nil {
		t.Fatal(err)
	}
	if p.SessionID != sid {
		t.Fatalf("access token of session %q, want %q", p.SessionID, sid)
	}
	if !rexp.After(exp) {
		t.Fatalf("renewed session expires %s, not after %s", rexp, exp)
	}

	// Unused for longer than SessionTTL: expired, with a clear message.
	now = now.Add(SessionTTL + time.Hour)
	if _, _, _, _, err := a.SessionLogin(session, testDeviceKey, time.Hour); flow.ErrorCode(err) != flow.EUNAUTHORIZED {
		t.Fatalf("expired session = %v, want unauthorized", err)
	}
	if _, _, _, _, err := a.SessionLogin(renewed, testDeviceKey, time.Hour); flow.ErrorCode(err) != flow.EUNAUTHORIZED {
		t.Fatalf("renewed session after its own TTL = %v, want unauthorized", err)
	}
}

func TestIssueSessionRefusesShortDeviceKeys(t *testing.T) {
	a, _ := newAuthority(t, time.Now)
	if _, _, err := a.IssueSession("sid", "short"); flow.ErrorCode(err) != flow.EINVALID {
		t.Fatalf("IssueSession(short key) = %v, want invalid", err)
	}
}
