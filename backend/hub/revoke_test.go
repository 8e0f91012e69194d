package hub

import (
	"testing"
)

func TestCloseSessionsClosesOnlyThoseSessions(t *testing.T) {
	e := newEnv(t, nil, "p1")
	a := e.dial("p1", "ok.u.s1")
	a2 := e.dial("p1", "ok.u.s1")
	b := e.dial("p1", "ok.u.s2")
	if n := e.hub.CloseSessions([]string{"s1"}); n != 2 {
		t.Fatalf("closed %d connections, want 2", n)
	}
	for _, c := range []*client{a, a2} {
		if got := c.closeStatus(); got != CloseTokenExpired {
			t.Fatalf("close %d, want 4001", got)
		}
	}
	b.send(map[string]any{"event": "ping", "ref": "b"})
	b.expect(EventPong, "b")
	b.close()
}

// revokingVerifier verifies every "ok." token but reports session "gone"
// as signed out: what a connection sees when the revocation lands between
// its handshake's Verify and its registration.
type revokingVerifier struct{ fakeVerifier }

func (revokingVerifier) Revoked(sid string) bool { return sid == "gone" }

var _ Verifier = revokingVerifier{}

func TestConnectionOfASessionRevokedDuringTheHandshakeIsClosed(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Verifier = revokingVerifier{} }, "p1")
	c, err := dialClient(e.wsURL("p1"), "ok.u.gone")
	if err != nil {
		t.Fatal(err)
	}
	c.t = t
	if got := c.closeStatus(); got != CloseTokenExpired {
		t.Fatalf("close %d, want 4001", got)
	}
	ok := e.dial("p1", "ok.u.kept")
	ok.send(map[string]any{"event": "ping", "ref": "k"})
	ok.expect(EventPong, "k")
	ok.close()
}
