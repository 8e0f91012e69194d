// Package auth issues and verifies Flow Weaver's local JWTs and the
// one-time login codes that turn a printed URL into a browser session.
//
// The key is 32 random bytes in <data-dir>/jwt.key (mode 0600), created on
// first start. Tokens are HS256 only; exp, iat, iss and aud are required,
// times are JSON numbers, iat may not lie in the future, a token may not
// live longer than MaxLifetime, and times get a 30 s leeway.
package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/golang-jwt/jwt/v5"
)

const (
	issuer   = "flowweaver"
	audience = "flowweaver"
	keySize  = 32
	// Leeway is the clock skew tolerated on exp, nbf and iat.
	Leeway = 30 * time.Second
	// DefaultTTL is the lifetime of a token when none is asked for.
	DefaultTTL = time.Hour
	// MaxLifetime bounds exp - iat of any token, issued here or not: a
	// token that claims to live longer was not made by Flow Weaver, and a
	// leaked one must not work for years.
	MaxLifetime = 30 * 24 * time.Hour
	// LocalUser is the subject of every token: Flow Weaver has one local user.
	LocalUser = "local"
)

// Authority signs and verifies tokens with one key.
type Authority struct {
	key   []byte
	now   func() time.Time
	sleep func(time.Duration)
	codes *codeBook
	// revoked and seen are the server-side state of sessions (revoke.go).
	sessions sessionState
	// verified caches tokens that passed Verify (tokencache.go).
	verified verifiedTokens
}

// Options configure an Authority.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// CodeTTL is how long a login code stays valid; default 10 minutes.
	CodeTTL time.Duration
	// FailDelay spaces out the answers to wrong login codes (all callers
	// together); default 250ms, so at most four guesses a second.
	FailDelay time.Duration
	// MaxFailWait is the longest a wrong guess waits for its turn; beyond
	// it the guess is refused at once (too_many_requests). Default 5s.
	MaxFailWait time.Duration
	// Sleep waits before a wrong guess is answered; default time.Sleep.
	Sleep func(time.Duration)
}

// LoadKey reads <dataDir>/jwt.key, creating it with a fresh random key
// (mode 0600) when it does not exist. A key file of the wrong size, or one
// readable by others, is refused rather than silently trusted or replaced.
func LoadKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, "jwt.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, keySize)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generate jwt key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return LoadKey(dataDir) // another process created it first
		}
		if err != nil {
			return nil, fmt.Errorf("create jwt key: %w", err)
		}
		if _, err := f.Write(key); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("write jwt key: %w", err)
		}
		if err := f.Sync(); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("sync jwt key: %w", err)
		}
		return key, f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("read jwt key: %w", err)
	}
	if len(b) != keySize {
		return nil, fmt.Errorf("jwt key %s has %d bytes, want %d: remove it to create a new one (this logs everybody out)", path, len(b), keySize)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("jwt key %s is accessible by other users (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	return b, nil
}

// NewKey returns a fresh random signing key of the size LoadKey expects.
func NewKey() ([]byte, error) {
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate jwt key: %w", err)
	}
	return key, nil
}

// WriteKey replaces <dataDir>/jwt.key with key (mode 0600, written to a
// temporary file and renamed, so a reader never sees half a key). Nodes of
// a cluster mirror the shared key there, so tools that sign with the data
// dir's key (flowweaver token) make tokens every node accepts.
func WriteKey(dataDir string, key []byte) error {
	if len(key) != keySize {
		return fmt.Errorf("jwt key has %d bytes, want %d", len(key), keySize)
	}
	path := filepath.Join(dataDir, "jwt.key")
	if cur, err := os.ReadFile(path); err == nil && string(cur) == string(key) {
		return nil
	}
	f, err := os.CreateTemp(dataDir, ".jwt.key-*")
	if err != nil {
		return fmt.Errorf("write jwt key: %w", err)
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if _, err := f.Write(key); err != nil {
		_ = f.Close()
		return fmt.Errorf("write jwt key: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync jwt key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write jwt key: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write jwt key: %w", err)
	}
	return nil
}

// New returns an Authority signing with key.
func New(key []byte, opts Options) (*Authority, error) {
	if len(key) < keySize {
		return nil, fmt.Errorf("jwt key too short: %d bytes, want %d", len(key), keySize)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CodeTTL <= 0 {
		opts.CodeTTL = 10 * time.Minute
	}
	if opts.FailDelay <= 0 {
		opts.FailDelay = 250 * time.Millisecond
	}
	if opts.MaxFailWait <= 0 {
		opts.MaxFailWait = 5 * time.Second
	}
	if opts.Sleep == nil {
		opts.Sleep = time.Sleep
	}
	return &Authority{key: key, now: opts.Now, sleep: opts.Sleep,
		codes:    newCodeBook(opts.Now, opts.CodeTTL, opts.FailDelay, opts.MaxFailWait),
		sessions: newSessionState()}, nil
}

// Issue signs a token for a new login session valid for ttl.
func (a *Authority) Issue(ttl time.Duration) (string, time.Time, error) {
	return a.issue(randomID(), ttl)
}

func (a *Authority) issue(sid string, ttl time.Duration) (string, time.Time, error) {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if ttl > MaxLifetime {
		return "", time.Time{}, fmt.Errorf("token lifetime %s is longer than the maximum of %s", ttl, MaxLifetime)
	}
	now := a.now()
	exp := now.Add(ttl).Truncate(time.Second)
	c := claims{
		SessionID: sid,
		Issuer:    issuer,
		Audience:  jwt.ClaimStrings{audience},
		Subject:   LocalUser,
		IssuedAt:  newDate(now),
		ExpiresAt: newDate(exp),
		ID:        randomID(),
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, &c).SignedString(a.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return tok, exp, nil
}

// Verify checks a token and returns who it speaks for. Every failure is a
// *flow.Error with code unauthorized, or token_expired for a token whose
// only fault is its age (so clients know a refresh may help).
func (a *Authority) Verify(token string) (*flow.Principal, error) {
	if token == "" {
		return nil, flow.Errorf(flow.EUNAUTHORIZED, "missing bearer token")
	}
	now := a.now()
	if t, ok := a.verified.get(token, now); ok {
		if a.sessions.isRevoked(t.principal.SessionID) {
			return nil, errSignedOut()
		}
		a.sessions.see(t.principal.SessionID, now)
		p := t.principal
		return &p, nil
	}
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return a.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(a.now),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, flow.Errorf(flow.ETOKENEXPIRED, "token expired")
	case err != nil:
		return nil, flow.Errorf(flow.EUNAUTHORIZED, "invalid token: %s", reason(err))
	}
	if c.Subject == "" || c.SessionID == "" {
		return nil, flow.Errorf(flow.EUNAUTHORIZED, "invalid token: missing sub or sid")
	}
	if c.IssuedAt == nil {
		return nil, flow.Errorf(flow.EUNAUTHORIZED, "invalid token: required claim missing")
	}
	if c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxLifetime {
		return nil, flow.Errorf(flow.EUNAUTHORIZED, "invalid token: lifetime longer than %s", MaxLifetime)
	}
	if a.sessions.isRevoked(c.SessionID) {
		return nil, errSignedOut()
	}
	a.sessions.see(c.SessionID, now)
	p := flow.Principal{Subject: c.Subject, SessionID: c.SessionID, TokenID: c.ID, ExpiresAt: c.ExpiresAt.Time}
	a.verified.put(token, verifiedTokenOf(&c, p))
	return &p, nil
}

// verifiedTokenOf keeps the time claims the way jwt compares them.
func verifiedTokenOf(c *claims, p flow.Principal) *verifiedToken {
	t := &verifiedToken{principal: p}
	if d, _ := c.GetExpirationTime(); d != nil {
		t.exp = d.Time
	}
	if d, _ := c.GetIssuedAt(); d != nil {
		t.iat = d.Time
	}
	if d, _ := c.GetNotBefore(); d != nil {
		t.nbf = d.Time
	}
	return t
}

// reason turns a jwt error into a short, non-leaking explanation.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "bad signature or algorithm"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "issued in the future"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "required claim missing"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	}
	return "rejected"
}

// Refresh verifies token and issues a fresh one for the same session.
func (a *Authority) Refresh(token string, ttl time.Duration) (string, time.Time, error) {
	p, err := a.Verify(token)
	if err != nil {
		return "", time.Time{}, err
	}
	return a.issue(p.SessionID, ttl)
}

// NewLoginCode returns a one-time code that Login exchanges for a token.
func (a *Authority) NewLoginCode() string { return a.codes.add() }

// Login redeems a one-time code for a token of a new session. A code works
// once; unknown, used and expired codes are all answered the same way,
// each after its turn in the queue of wrong guesses (see codeBook). The
// right code never waits.
func (a *Authority) Login(code string, ttl time.Duration) (string, time.Time, error) {
	if wait, err := a.codes.redeem(code); err != nil {
		if wait > 0 {
			a.sleep(wait)
		}
		return "", time.Time{}, err
	}
	return a.Issue(ttl)
}

func randomID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the OS has no entropy: nothing is safe
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
