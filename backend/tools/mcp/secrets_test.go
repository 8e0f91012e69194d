package mcp

import (
	"errors"
	"strings"
	"testing"
)

func TestSecretExpansionInBothDialects(t *testing.T) {
	lookup := func(name string) (string, error) {
		if name == "TOKEN" {
			return "t0k", nil
		}
		return "", errors.New("secret " + name + " is not set in this project")
	}
	for _, d := range []dialect{dialectClaude, dialectEditor} {
		x := expander{dialect: d, dir: "/p", env: envOf(nil), secret: lookup}
		if got, err := x.expand("env A", "Bearer ${secret:TOKEN}"); err != nil || got != "Bearer t0k" {
			t.Fatalf("dialect %d: %q %v", d, got, err)
		}
		if _, err := x.expand("env A", "${secret:NOPE}"); err == nil || !strings.Contains(err.Error(), "NOPE") || !strings.Contains(err.Error(), "env A") {
			t.Fatalf("dialect %d missing: %v", d, err)
		}
		x.secret = nil
		if _, err := x.expand("env A", "${secret:TOKEN}"); err == nil {
			t.Fatalf("dialect %d: expanded without a secret source", d)
		}
	}
}

func TestSecretRefsAndPreviewNameSecretsWithoutExpanding(t *testing.T) {
	dir := writeConfig(t, t.TempDir(), `{"mcpServers": {
		"gh": {"command": "gh-mcp", "env": {"T": "${secret:GH_TOKEN}", "H": "${HOME}"}},
		"api": {"url": "https://x/?k=${secret:API_KEY}", "headers": {"A": "${secret:API_KEY}"}}}}`)
	refs := SecretRefs(dir)
	got := []string{}
	for _, r := range refs {
		got = append(got, r.Server+":"+r.Name+"@"+r.File)
	}
	if strings.Join(got, ",") != "api:API_KEY@.mcp.json,gh:GH_TOKEN@.mcp.json" {
		t.Fatalf("refs %v", got)
	}
	servers, _ := Inspect(dir)
	for _, s := range servers {
		want := map[string]string{"gh": "GH_TOKEN", "api": "API_KEY"}[s.Server]
		if strings.Join(s.Secrets, ",") != want || strings.Contains(strings.Join(s.Variables, ","), "secret") {
			t.Fatalf("preview %+v", s)
		}
	}
}
