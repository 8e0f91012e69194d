package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// claims are the token's claims, parsed strictly: jwt.RegisteredClaims
// would accept a time given as a string ("exp": "99999999999"), which no
// Flow Weaver token carries; here every time must be a JSON number, and
// string claims must be strings (encoding/json refuses other types).
type claims struct {
	SessionID string           `json:"sid"`
	Issuer    string           `json:"iss,omitempty"`
	Subject   string           `json:"sub,omitempty"`
	Audience  jwt.ClaimStrings `json:"aud,omitempty"`
	ExpiresAt *date            `json:"exp,omitempty"`
	NotBefore *date            `json:"nbf,omitempty"`
	IssuedAt  *date            `json:"iat,omitempty"`
	ID        string           `json:"jti,omitempty"`
}

// date is a NumericDate that accepts only a JSON number of seconds.
type date struct{ time.Time }

func newDate(t time.Time) *date { return &date{t.Truncate(time.Second)} }

var errNotNumeric = errors.New("time claim is not a number")

func (d *date) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || !(b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		return errNotNumeric // a string, bool, object, array or null
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e12 {
		return errNotNumeric
	}
	sec, frac := math.Modf(f)
	d.Time = time.Unix(int64(sec), int64(frac*1e9))
	return nil
}

func (d *date) MarshalJSON() ([]byte, error) { return json.Marshal(d.Unix()) }

func (d *date) numeric() (*jwt.NumericDate, error) {
	if d == nil {
		return nil, nil
	}
	return jwt.NewNumericDate(d.Time), nil
}

// The jwt.Claims interface, so jwt's validator checks exp, nbf, iat, iss
// and aud with its leeway.
func (c *claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt.numeric() }
func (c *claims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore.numeric() }
func (c *claims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt.numeric() }
func (c *claims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *claims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *claims) GetAudience() (jwt.ClaimStrings, error)       { return c.Audience, nil }
