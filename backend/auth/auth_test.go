package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/golang-jwt/jwt/v5"
)

func newAuthority(t *testing.T, now func() time.Time) (*Authority, []byte) {
	t.Helper()
	key, err := LoadKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(key, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return a, key
}

func sign(t *testing.T, method jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyTable(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a, key := newAuthority(t, func() time.Time { return now })
	otherKey := make([]byte, 32)
	otherKey[0] = 1
	valid := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": "flowweaver", "aud": "flowweaver", "sub": "local", "sid": "s1",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "j"}
	}
	with := func(k string, v any) jwt.MapClaims { c := valid(); c[k] = v; return c }
	without := func(k string) jwt.MapClaims { c := valid(); delete(c, k); return c }
	good, _, err := a.Issue(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid())

	cases := []struct {
		name  string
		token string
		code  string
	}{
		{"valid issued", good, ""},
		{"valid hand-made", sign(t, jwt.SigningMethodHS256, key, valid()), ""},
		{"empty", "", flow.EUNAUTHORIZED},
		{"garbage", "not.a.jwt", flow.EUNAUTHORIZED},
		{"alg none", none, flow.EUNAUTHORIZED},
		{"wrong key", sign(t, jwt.SigningMethodHS256, otherKey, valid()), flow.EUNAUTHORIZED},
		{"HS512", sign(t, jwt.SigningMethodHS512, key, valid()), flow.EUNAUTHORIZED},
		{"expired", sign(t, jwt.SigningMethodHS256, key, with("exp", now.Add(-time.Minute).Unix())), flow.ETOKENEXPIRED},
		{"expired within leeway", sign(t, jwt.SigningMethodHS256, key, with("exp", now.Add(-10*time.Second).Unix())), ""},
		{"no exp", sign(t, jwt.SigningMethodHS256, key, without("exp")), flow.EUNAUTHORIZED},
		{"wrong aud", sign(t, jwt.SigningMethodHS256, key, with("aud", "other")), flow.EUNAUTHORIZED},
		{"no aud", sign(t, jwt.SigningMethodHS256, key, without("aud")), flow.EUNAUTHORIZED},
		{"wrong iss", sign(t, jwt.SigningMethodHS256, key, with("iss", "evil")), flow.EUNAUTHORIZED},
		{"future nbf", sign(t, jwt.SigningMethodHS256, key, with("nbf", now.Add(time.Hour).Unix())), flow.EUNAUTHORIZED},
		{"nbf within leeway", sign(t, jwt.SigningMethodHS256, key, with("nbf", now.Add(10*time.Second).Unix())), ""},
		{"no sid", sign(t, jwt.SigningMethodHS256, key, without("sid")), flow.EUNAUTHORIZED},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := a.Verify(tc.token)
			if got := flow.ErrorCode(err); got != tc.code {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.code)
			}
			if tc.code == "" && (p.Subject != "local" || p.SessionID == "") {
				t.Fatalf("principal = %+v", p)
			}
		})
	}
}

func TestLoginCodeWorksOnce(t *testing.T) {
	now := time.Now()
	a, _ := newAuthority(t, func() time.Time { return now })
	code := a.NewLoginCode()
	tok, exp, err := a.Login(code, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(tok); err != nil || !exp.After(now) {
		t.Fatalf("token from login: %v exp %v", err, exp)
	}
	if _, _, err := a.Login(code, time.Hour); flow.ErrorCode(err) != flow.EUNAUTHORIZED {
		t.Fatalf("second use: %v", err)
	}
}

func TestLoginCodeExpires(t *testing.T) {
	now := time.Now()
	a, _ := newAuthority(t, func() time.Time { return now })
	code := a.NewLoginCode()
	now = now.Add(11 * time.Minute)
	if _, _, err := a.Login(code, time.Hour); flow.ErrorCode(err) != flow.EUNAUTHORIZED {
		t.Fatalf("expired code: %v", err)
	}
}

func TestLoginRateLimited(t *testing.T) {
	now := time.Now()
	a, _ := newAuthority(t, func() time.Time { return now })
	code := a.NewLoginCode()
	for i := 0; i < 10; i++ {
		if _, _, err := a.Login("guess", time.Hour); flow.ErrorCode(err) != flow.EUNAUTHORIZED {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, _, err := a.Login(code, time.Hour); flow.ErrorCode(err) != flow.ETOOMANY {
		t.Fatalf("after 10 failures: %v", err)
	}
	now = now.Add(61 * time.Second)
	if _, _, err := a.Login(code, time.Hour); err != nil {
		t.Fatalf("after a minute the right code works: %v", err)
	}
}

func TestRefreshKeepsSession(t *testing.T) {
	now := time.Now()
	a, _ := newAuthority(t, func() time.Time { return now })
	tok, _, _ := a.Issue(time.Hour)
	p1, _ := a.Verify(tok)
	now = now.Add(time.Minute)
	tok2, _, err := a.Refresh(tok, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := a.Verify(tok2)
	if err != nil || p2.SessionID != p1.SessionID || !p2.ExpiresAt.After(p1.ExpiresAt) {
		t.Fatalf("refresh: %v %+v %+v", err, p1, p2)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "jwt.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode: %v %v", st.Mode(), err)
	}
	k2, err := LoadKey(dir)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("reload: %v", err)
	}
	os.Chmod(filepath.Join(dir, "jwt.key"), 0o644)
	if _, err := LoadKey(dir); err == nil {
		t.Fatal("world-readable key accepted")
	}
	os.Chmod(filepath.Join(dir, "jwt.key"), 0o600)
	os.WriteFile(filepath.Join(dir, "jwt.key"), []byte("short"), 0o600)
	if _, err := LoadKey(dir); err == nil || !strings.Contains(err.Error(), "5 bytes") {
		t.Fatal("short key accepted")
	}
}
