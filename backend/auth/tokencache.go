package auth

import (
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// verifiedTokens remembers tokens that passed every check of Verify, keyed
// by the exact token string. Clients send the same bearer token with every
// request (the UI, scripts posting notifications, CI hooks), and parsing it
// anew each time (base64, JSON, HMAC) was 8-10 % of serve's CPU under a
// stream of REST notifications.
//
// A hit skips only what cannot change for that exact string: the signature
// (an Authority's key never changes) and the shape of the claims. What
// changes with time or server state is checked on every hit exactly as jwt
// checks it: exp, nbf and iat against the clock with the same leeway, and
// the session's revocation. A cached token that fails a time check is
// dropped and goes through the full path, which gives the same answer an
// uncached token gets. Failures are never cached, and the cache is bounded.
type verifiedTokens struct {
	mu sync.RWMutex
	m  map[string]*verifiedToken
}

// verifiedToken is what Verify learned about one token.
type verifiedToken struct {
	principal     flow.Principal
	exp, nbf, iat time.Time // as jwt compares them (whole seconds); nbf may be zero
}

// maxVerifiedTokens bounds the cache: tokens live at most an hour by
// default, so a local server rarely sees more than a few at a time.
const maxVerifiedTokens = 1024

// validAt reports whether jwt's time checks pass at now.
func (t *verifiedToken) validAt(now time.Time) bool {
	return now.Before(t.exp.Add(Leeway)) &&
		!now.Before(t.iat.Add(-Leeway)) &&
		(t.nbf.IsZero() || !now.Before(t.nbf.Add(-Leeway)))
}

// get returns the cached token if it is still valid at now; an entry that
// is no longer valid is removed.
func (v *verifiedTokens) get(token string, now time.Time) (*verifiedToken, bool) {
	v.mu.RLock()
	t, ok := v.m[token]
	v.mu.RUnlock()
	if !ok {
		return nil, false
	}
	if !t.validAt(now) {
		v.mu.Lock()
		if v.m[token] == t {
			delete(v.m, token)
		}
		v.mu.Unlock()
		return nil, false
	}
	return t, true
}

// put remembers a token that was just verified; a full cache makes room by
// dropping one entry.
func (v *verifiedTokens) put(token string, t *verifiedToken) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = make(map[string]*verifiedToken)
	}
	if _, ok := v.m[token]; !ok && len(v.m) >= maxVerifiedTokens {
		for k := range v.m {
			delete(v.m, k)
			break
		}
	}
	v.m[token] = t
}

// len is the number of cached tokens (tests).
func (v *verifiedTokens) len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.m)
}
