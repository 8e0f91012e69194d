package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// codeBook holds outstanding one-time login codes. Only SHA-256 hashes are
// kept, and lookups compare every entry in constant time so response time
// does not reveal how much of a guess was right.
type codeBook struct {
	mu        sync.Mutex
	now       func() time.Time
	ttl       time.Duration
	codes     map[[32]byte]time.Time // hash -> expiry
	maxFailed int
	failed    []time.Time // failed attempts within the last minute
}

func newCodeBook(now func() time.Time, ttl time.Duration, maxFailed int) *codeBook {
	return &codeBook{now: now, ttl: ttl, codes: map[[32]byte]time.Time{}, maxFailed: maxFailed}
}

func (b *codeBook) add() string {
	code := randomID()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gc()
	b.codes[sha256.Sum256([]byte(code))] = b.now().Add(b.ttl)
	return code
}

func (b *codeBook) gc() {
	now := b.now()
	for h, exp := range b.codes {
		if now.After(exp) {
			delete(b.codes, h)
		}
	}
	cut := 0
	for cut < len(b.failed) && now.Sub(b.failed[cut]) > time.Minute {
		cut++
	}
	b.failed = b.failed[cut:]
}

func (b *codeBook) redeem(code string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gc()
	if len(b.failed) >= b.maxFailed {
		return flow.Errorf(flow.ETOOMANY, "too many failed login attempts; wait a minute")
	}
	h := sha256.Sum256([]byte(code))
	var found [32]byte
	ok := 0
	for k := range b.codes {
		eq := subtle.ConstantTimeCompare(k[:], h[:])
		if eq == 1 {
			found = k
		}
		ok |= eq
	}
	if ok != 1 || code == "" {
		b.failed = append(b.failed, b.now())
		return flow.Errorf(flow.EUNAUTHORIZED, "login code is invalid, used or expired: run `flowweaver serve` or `flowweaver token` again")
	}
	delete(b.codes, found)
	return nil
}
