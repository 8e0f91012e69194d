package main

import (
	"net/url"
	"strings"
	"syscall"
	"testing"
)

// Ten wrong login codes do not lock out the real one: wrong guesses are
// only slowed down, the printed code still logs in afterwards.
func TestWrongLoginCodesDoNotLockOut(t *testing.T) {
	s := startServe(t, t.TempDir())
	u, err := url.Parse(s.loginURL)
	if err != nil {
		t.Fatal(err)
	}
	code, ok := strings.CutPrefix(u.Fragment, "code=")
	if !ok || code == "" {
		t.Fatalf("login URL %q has no code", s.loginURL)
	}
	for i := 0; i < 10; i++ {
		if st, body := sendJSON(t, "POST", s.url+"/api/auth/login", "", `{"code":"wrong-guess"}`); st != 401 || body["error"] != "unauthorized" {
			t.Fatalf("wrong code %d: %d %v", i, st, body)
		}
	}
	st, body := sendJSON(t, "POST", s.url+"/api/auth/login", "", `{"code":"`+code+`"}`)
	if st != 200 || body["token"] == nil {
		t.Fatalf("the real code after ten wrong ones: %d %v", st, body)
	}
	if st, _ := getJSON(t, s.url+"/api/projects", body["token"].(string)); st != 200 {
		t.Fatalf("token from login: %d", st)
	}
	if code := s.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
