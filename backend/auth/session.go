package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/golang-jwt/jwt/v5"
)

// A browser session outlives its access tokens: after the one-time code,
// the server gives the browser a session token in an HttpOnly,
// SameSite=Strict cookie, and new tabs and windows of that browser trade it
// for access tokens (SessionLogin). Cookies are not port-isolated (a page
// served by another program on 127.0.0.1 gets them too), so the session
// token alone is not enough: it is bound to a device key that the page
// keeps in the origin's localStorage, which no other origin can read. The
// cookie carries only the key's SHA-256; both must come together.

const (
	// sessionAudience keeps session tokens out of the bearer path: Verify
	// accepts only the access audience, so a leaked cookie is no API token.
	sessionAudience = "flowweaver-session"
	// SessionTTL is how long a browser stays signed in without using
	// Flow Weaver; every sign-in through the session renews it.
	SessionTTL = 14 * 24 * time.Hour
	// minDeviceKey is the shortest device key accepted (128 bits, base64url).
	minDeviceKey = 22
)

// sessionClaims are a session token's claims: the access claims plus the
// device key's hash.
type sessionClaims struct {
	claims
	DeviceKeyHash string `json:"dkh"`
}

func deviceKeyHash(deviceKey string) string {
	sum := sha256.Sum256([]byte(deviceKey))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// IssueSession signs a session token for session sid bound to deviceKey.
func (a *Authority) IssueSession(sid, deviceKey string) (string, time.Time, error) {
	if len(deviceKey) < minDeviceKey || len(deviceKey) > 256 {
		return "", time.Time{}, flow.Errorf(flow.EINVALID, "deviceKey must be %d to 256 characters", minDeviceKey)
	}
	now := a.now()
	exp := now.Add(SessionTTL).Truncate(time.Second)
	c := sessionClaims{
		claims: claims{
			SessionID: sid,
			Issuer:    issuer,
			Audience:  jwt.ClaimStrings{sessionAudience},
			Subject:   LocalUser,
			IssuedAt:  newDate(now),
			ExpiresAt: newDate(exp),
			ID:        randomID(),
		},
		DeviceKeyHash: deviceKeyHash(deviceKey),
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, &c).SignedString(a.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign session token: %w", err)
	}
	return tok, exp, nil
}

// SessionLogin checks a session token against the device key presented
// with it and returns an access token of the same session, valid for ttl,
// and a renewed session token. Every failure is unauthorized.
func (a *Authority) SessionLogin(session, deviceKey string, ttl time.Duration) (access string, accessExp time.Time, renewed string, renewedExp time.Time, err error) {
	if session == "" {
		return "", time.Time{}, "", time.Time{}, flow.Errorf(flow.EUNAUTHORIZED, "no browser session: open a login link")
	}
	var c sessionClaims
	_, perr := jwt.ParseWithClaims(session, &c, func(*jwt.Token) (any, error) { return a.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(sessionAudience),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(a.now),
	)
	switch {
	case errors.Is(perr, jwt.ErrTokenExpired):
		return "", time.Time{}, "", time.Time{}, flow.Errorf(flow.EUNAUTHORIZED, "browser session expired: open a new login link")
	case perr != nil:
		return "", time.Time{}, "", time.Time{}, flow.Errorf(flow.EUNAUTHORIZED, "invalid browser session: %s", reason(perr))
	}
	if c.SessionID == "" || c.DeviceKeyHash == "" {
		return "", time.Time{}, "", time.Time{}, flow.Errorf(flow.EUNAUTHORIZED, "invalid browser session: missing sid or device key")
	}
	if subtle.ConstantTimeCompare([]byte(c.DeviceKeyHash), []byte(deviceKeyHash(deviceKey))) != 1 {
		return "", time.Time{}, "", time.Time{}, flow.Errorf(flow.EUNAUTHORIZED, "browser session does not belong to this page")
	}
	if a.sessions.isRevoked(c.SessionID) {
		return "", time.Time{}, "", time.Time{}, errSignedOut()
	}
	a.sessions.see(c.SessionID, a.now())
	access, accessExp, err = a.issue(c.SessionID, ttl)
	if err != nil {
		return "", time.Time{}, "", time.Time{}, err
	}
	renewed, renewedExp, err = a.IssueSession(c.SessionID, deviceKey)
	return access, accessExp, renewed, renewedExp, err
}

// SessionOfCookie returns the session id of a valid session token (the
// cookie), without the device key: enough to sign that session out, never
// to sign in.
func (a *Authority) SessionOfCookie(session string) (string, error) {
	var c sessionClaims
	_, err := jwt.ParseWithClaims(session, &c, func(*jwt.Token) (any, error) { return a.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(sessionAudience),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(a.now),
	)
	if err != nil || c.SessionID == "" {
		return "", flow.Errorf(flow.EUNAUTHORIZED, "invalid browser session")
	}
	return c.SessionID, nil
}

// SessionOf returns the session id of a valid access token.
func (a *Authority) SessionOf(token string) (string, error) {
	p, err := a.Verify(token)
	if err != nil {
		return "", err
	}
	return p.SessionID, nil
}
