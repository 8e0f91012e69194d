package auth

import (
	"fmt"
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
		// Strict claims: times are JSON numbers, iat is required and not in
		// the future, and no token lives longer than MaxLifetime.
		{"exp as string", sign(t, jwt.SigningMethodHS256, key, with("exp", fmt.Sprint(now.Add(time.Hour).Unix()))), flow.EUNAUTHORIZED},
		{"exp as bool", sign(t, jwt.SigningMethodHS256, key, with("exp", true)), flow.EUNAUTHORIZED},
		{"exp null", sign(t, jwt.SigningMethodHS256, key, with("exp", nil)), flow.EUNAUTHORIZED},
		{"iat as string", sign(t, jwt.SigningMethodHS256, key, with("iat", fmt.Sprint(now.Unix()))), flow.EUNAUTHORIZED},
		{"nbf as string", sign(t, jwt.SigningMethodHS256, key, with("nbf", fmt.Sprint(now.Unix()))), flow.EUNAUTHORIZED},
		{"no iat", sign(t, jwt.SigningMethodHS256, key, without("iat")), flow.EUNAUTHORIZED},
		{"iat in the future", sign(t, jwt.SigningMethodHS256, key, with("iat", now.Add(time.Minute).Unix())), flow.EUNAUTHORIZED},
		{"iat within leeway", sign(t, jwt.SigningMethodHS256, key, with("iat", now.Add(10*time.Second).Unix())), ""},
		{"fractional times", sign(t, jwt.SigningMethodHS256, key, with("exp", float64(now.Add(time.Hour).Unix())+0.5)), ""},
		{"lifetime over the maximum", sign(t, jwt.SigningMethodHS256, key, with("exp", now.Add(MaxLifetime+time.Hour).Unix())), flow.EUNAUTHORIZED},
		{"lifetime at the maximum", sign(t, jwt.SigningMethodHS256, key, with("exp", now.Add(MaxLifetime).Unix())), ""},
		{"old iat, far exp", sign(t, jwt.SigningMethodHS256, key, with("iat", now.Add(-MaxLifetime).Unix())), flow.EUNAUTHORIZED},
		{"sid as number", sign(t, jwt.SigningMethodHS256, key, with("sid", 7)), flow.EUNAUTHORIZED},
		{"sub as object", sign(t, jwt.SigningMethodHS256, key, with("sub", map[string]any{"a": 1})), flow.EUNAUTHORIZED},
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

// Ten (here fifty) wrong codes do not lock out the real one: it works at
// once afterwards. Wrong guesses are slowed down instead: each waits its
// turn, FailDelay after the previous wrong one, and a guess that would wait
// longer than MaxFailWait is refused at once.
func TestWrongLoginCodesSlowDownButNeverLockOut(t *testing.T) {
	now := time.Now()
	var slept []time.Duration
	key, err := LoadKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(key, Options{Now: func() time.Time { return now }, FailDelay: 100 * time.Millisecond,
		MaxFailWait: time.Second, Sleep: func(d time.Duration) { slept = append(slept, d) }})
	if err != nil {
		t.Fatal(err)
	}
	code := a.NewLoginCode()
	refused := 0
	for i := 0; i < 50; i++ {
		_, _, err := a.Login("guess", time.Hour)
		switch flow.ErrorCode(err) {
		case flow.EUNAUTHORIZED:
		case flow.ETOOMANY:
			refused++
		default:
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	// All guesses arrived at the same instant: the first waits one delay,
	// the k-th k delays, until the queue is a second long.
	if len(slept) != 11 || slept[0] != 100*time.Millisecond || slept[10] != 1100*time.Millisecond {
		t.Fatalf("waits of wrong guesses = %v, want 100ms, 200ms, ... 1.1s", slept)
	}
	if refused != 39 {
		t.Fatalf("%d guesses refused at once, want 39", refused)
	}
	n := len(slept)
	tok, _, err := a.Login(code, time.Hour)
	if err != nil {
		t.Fatalf("the real code after 50 wrong ones: %v", err)
	}
	if len(slept) != n {
		t.Fatal("the real code had to wait")
	}
	if _, err := a.Verify(tok); err != nil {
		t.Fatal(err)
	}
	// Once the queue has drained, a wrong guess waits one delay again.
	now = now.Add(2 * time.Second)
	if _, _, err := a.Login("guess", time.Hour); flow.ErrorCode(err) != flow.EUNAUTHORIZED || slept[len(slept)-1] != 100*time.Millisecond {
		t.Fatalf("guess after the queue drained: %v, waited %v", err, slept[len(slept)-1])
	}
}

func TestIssueRefusesLifetimeOverMaximum(t *testing.T) {
	a, _ := newAuthority(t, time.Now)
	if _, _, err := a.Issue(MaxLifetime + time.Hour); err == nil {
		t.Fatal("a token longer than MaxLifetime was issued")
	}
	tok, _, err := a.Issue(MaxLifetime)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(tok); err != nil {
		t.Fatalf("token of the maximum lifetime: %v", err)
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
	if err := os.Chmod(filepath.Join(dir, "jwt.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(dir); err == nil {
		t.Fatal("world-readable key accepted")
	}
	if err := os.Chmod(filepath.Join(dir, "jwt.key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "jwt.key"), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(dir); err == nil || !strings.Contains(err.Error(), "5 bytes") {
		t.Fatal("short key accepted")
	}
}
