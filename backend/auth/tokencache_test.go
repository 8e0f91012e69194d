package auth

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/golang-jwt/jwt/v5"
)

// movableClock is a test clock that tests move forward and back.
type movableClock struct{ ns atomic.Int64 }

func (c *movableClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *movableClock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *movableClock) add(d time.Duration)     { c.ns.Add(int64(d)) }
func newMovableClock(t time.Time) *movableClock { c := &movableClock{}; c.set(t); return c }

// TestVerifiedTokenStillExpires: a token verified (and cached) while valid
// is refused with token_expired once the clock passes exp plus the leeway,
// exactly like a token seen for the first time.
func TestVerifiedTokenStillExpires(t *testing.T) {
	clock := newMovableClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	a, _ := newAuthority(t, clock.now)
	tok, exp, err := a.Issue(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // the first call fills the cache, the others hit it
		if _, err := a.Verify(tok); err != nil {
			t.Fatalf("verify %d: %v", i, err)
		}
	}
	if a.verified.len() != 1 {
		t.Fatalf("%d cached tokens, want 1", a.verified.len())
	}
	clock.set(exp.Add(Leeway - time.Second)) // within the leeway: still valid
	if _, err := a.Verify(tok); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	clock.set(exp.Add(Leeway))
	if _, err := a.Verify(tok); flow.ErrorCode(err) != flow.ETOKENEXPIRED {
		t.Fatalf("after exp+leeway: %v, want token_expired", err)
	}
	// The clock going back does not make the cache lie either way: the full
	// path answers, and accepts the token again.
	clock.set(exp.Add(-time.Second))
	if _, err := a.Verify(tok); err != nil {
		t.Fatalf("clock back before exp: %v", err)
	}
}

// TestVerifiedTokenIsRefusedAfterRevocation: revoking the session refuses
// a token that was verified (and cached) a moment before.
func TestVerifiedTokenIsRefusedAfterRevocation(t *testing.T) {
	clock := newMovableClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	a, _ := newAuthority(t, clock.now)
	tok, _, err := a.Issue(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(tok); err != nil {
		t.Fatal(err)
	}
	a.MarkRevoked(p.SessionID)
	_, err = a.Verify(tok)
	if flow.ErrorCode(err) != flow.EUNAUTHORIZED || !strings.Contains(err.Error(), "signed out") {
		t.Fatalf("revoked session: %v, want unauthorized (signed out)", err)
	}
}

// TestVerifiedTokenTimeClaimsRechecked: nbf and iat are compared with the
// clock on every hit, so a clock that moves back before them refuses the
// token as the full path would.
func TestVerifiedTokenTimeClaimsRechecked(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := newMovableClock(start)
	a, key := newAuthority(t, clock.now)
	tok := sign(t, jwt.SigningMethodHS256, key, jwt.MapClaims{"iss": "flowweaver", "aud": "flowweaver",
		"sub": "local", "sid": "s1", "iat": start.Unix(), "nbf": start.Add(time.Minute).Unix(),
		"exp": start.Add(time.Hour).Unix(), "jti": "j"})
	if _, err := a.Verify(tok); flow.ErrorCode(err) != flow.EUNAUTHORIZED {
		t.Fatalf("before nbf: %v, want unauthorized", err)
	}
	if a.verified.len() != 0 {
		t.Fatal("a refused token was cached")
	}
	clock.add(time.Minute)
	if _, err := a.Verify(tok); err != nil {
		t.Fatalf("at nbf: %v", err)
	}
	clock.set(start.Add(-time.Minute)) // before iat and nbf, past the leeway
	if _, err := a.Verify(tok); flow.ErrorCode(err) != flow.EUNAUTHORIZED {
		t.Fatalf("clock before nbf again: %v, want unauthorized", err)
	}
}

// TestVerifiedTokenCacheIsExact: a cached token does not vouch for another
// string: the same token with its signature changed is refused.
func TestVerifiedTokenCacheIsExact(t *testing.T) {
	a, _ := newAuthority(t, time.Now)
	tok, _, err := a.Issue(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(tok); err != nil {
		t.Fatal(err)
	}
	last := tok[len(tok)-2]
	flip := byte('A')
	if last == 'A' {
		flip = 'B'
	}
	forged := tok[:len(tok)-2] + string(flip) + tok[len(tok)-1:]
	if _, err := a.Verify(forged); flow.ErrorCode(err) != flow.EUNAUTHORIZED {
		t.Fatalf("forged signature: %v, want unauthorized", err)
	}
	if _, err := a.Verify(tok + " "); err == nil {
		t.Fatal("token with a trailing space accepted")
	}
}

// TestVerifiedTokenCacheIsBounded: many distinct tokens never grow the cache
// past its bound, and every one of them still verifies.
func TestVerifiedTokenCacheIsBounded(t *testing.T) {
	a, _ := newAuthority(t, time.Now)
	for i := 0; i < maxVerifiedTokens+200; i++ {
		tok, _, err := a.Issue(time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Verify(tok); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	if n := a.verified.len(); n > maxVerifiedTokens {
		t.Fatalf("%d cached tokens, bound %d", n, maxVerifiedTokens)
	}
}

// TestVerifiedTokenConcurrent: concurrent Verify calls of a few tokens
// (run with -race) all succeed and return their own session.
func TestVerifiedTokenConcurrent(t *testing.T) {
	a, _ := newAuthority(t, time.Now)
	toks := make([]string, 4)
	sids := make([]string, 4)
	for i := range toks {
		tok, _, err := a.Issue(time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		p, err := a.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		toks[i], sids[i] = tok, p.SessionID
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				k := (g + i) % len(toks)
				p, err := a.Verify(toks[k])
				if err == nil && p.SessionID != sids[k] {
					err = fmt.Errorf("token %d answered session %s, want %s", k, p.SessionID, sids[k])
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// BenchmarkVerify measures Verify of one token presented again and again,
// as with every REST request of a client.
func BenchmarkVerify(b *testing.B) {
	key, err := NewKey()
	if err != nil {
		b.Fatal(err)
	}
	a, err := New(key, Options{})
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := a.Issue(time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}
