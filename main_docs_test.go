package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README and docs stand alone: no mention of files that live outside
// the repository (the shared wire contract, sibling folders), and every
// relative link points to a file that exists.
func TestDocsPointOnlyInsideTheRepo(t *testing.T) {
	files, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "README.md")
	outside := regexp.MustCompile(`PROTOCOL(\.md| section)|\.\./shared|/work/`)
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := outside.FindString(line); m != "" {
				t.Errorf("%s:%d points outside the repository (%q): %s", f, i+1, m, line)
			}
			for _, m := range link.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				p := filepath.Join(filepath.Dir(f), target)
				if rel, err := filepath.Rel(".", p); err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("%s:%d links outside the repository: %s", f, i+1, target)
					continue
				}
				if _, err := os.Stat(p); err != nil {
					t.Errorf("%s:%d links to a missing file: %s", f, i+1, target)
				}
			}
		}
	}
}
