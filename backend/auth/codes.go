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
//
// Wrong guesses are slowed down, never counted towards a lockout: a code
// is 128 random bits, so guessing is hopeless at any rate a person would
// notice, while a lockout would let anyone who can reach the port keep the
// real user out by sending ten wrong codes. The right code is checked
// before any waiting and always works at once. Each wrong guess is
// answered no sooner than failDelay after the previous wrong guess (one
// queue for everybody, so parallel guessing gains nothing); a guess that
// would wait longer than maxWait is answered at once with
// too_many_requests.
type codeBook struct {
	mu        sync.Mutex
	now       func() time.Time
	ttl       time.Duration
	codes     map[[32]byte]time.Time // hash -> expiry
	failDelay time.Duration
	maxWait   time.Duration
	nextFail  time.Time // when the next wrong guess may be answered
}

func newCodeBook(now func() time.Time, ttl, failDelay, maxWait time.Duration) *codeBook {
	return &codeBook{now: now, ttl: ttl, codes: map[[32]byte]time.Time{}, failDelay: failDelay, maxWait: maxWait}
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
}

// redeem uses up a valid code. For a wrong one it returns the error and
// how long the caller must wait before answering.
func (b *codeBook) redeem(code string) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gc()
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
	if ok == 1 && code != "" {
		delete(b.codes, found)
		return 0, nil
	}
	now := b.now()
	slot := b.nextFail
	if slot.Before(now) {
		slot = now
	}
	wait := slot.Sub(now)
	if wait > b.maxWait {
		return 0, flow.Errorf(flow.ETOOMANY, "too many wrong login codes at once; try again in a few seconds")
	}
	b.nextFail = slot.Add(b.failDelay)
	return wait + b.failDelay, flow.Errorf(flow.EUNAUTHORIZED, "login code is invalid, used or expired: run `flowweaver serve` or `flowweaver token` again")
}
