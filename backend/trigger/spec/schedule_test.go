package spec

import (
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

func mustParse(t *testing.T, expr, tz string) *Schedule {
	t.Helper()
	s, err := ParseSchedule(expr, tz)
	if err != nil {
		t.Fatalf("parse %q %q: %v", expr, tz, err)
	}
	return s
}

// nexts lists n slots after from, as RFC 3339 in the schedule's zone.
func nexts(s *Schedule, from time.Time, n int) []string {
	var out []string
	t := from
	for range n {
		t = s.Next(t)
		out = append(out, t.In(s.Location()).Format(time.RFC3339))
	}
	return out
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFiveAndSixFields(t *testing.T) {
	s := mustParse(t, "0 3 * * *", "UTC")
	got := nexts(s, at(t, "2026-01-01T02:59:59Z"), 2)
	want := []string{"2026-01-01T03:00:00Z", "2026-01-02T03:00:00Z"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("5 fields: got %v, want %v", got, want)
	}
	s = mustParse(t, "*/15 * * * * *", "UTC") // seconds first
	got = nexts(s, at(t, "2026-01-01T00:00:01Z"), 3)
	want = []string{"2026-01-01T00:00:15Z", "2026-01-01T00:00:30Z", "2026-01-01T00:00:45Z"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("6 fields: got %v, want %v", got, want)
	}
	s = mustParse(t, "@daily", "Europe/Berlin")
	if got := nexts(s, at(t, "2026-06-01T12:00:00Z"), 1)[0]; got != "2026-06-02T00:00:00+02:00" {
		t.Fatalf("@daily in Berlin: %s", got)
	}
	s = mustParse(t, "@every 90s", "")
	if d := s.Next(at(t, "2026-01-01T00:00:00Z")).Sub(at(t, "2026-01-01T00:00:00Z")); d != 90*time.Second {
		t.Fatalf("@every 90s: %v", d)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ expr, tz, want string }{
		{"0 3 * *", "", "4 fields"},
		{"61 * * * *", "", "invalid cron"},
		{"@every 10ms", "", "shorter than"},
		{"@every soon", "", "duration"},
		{"@fortnightly", "", "invalid cron"},
		{"0 3 * * *", "Mars/Olympus", "unknown time zone"},
		{"TZ=UTC 0 3 * * *", "", "timezone"},
		{"", "", "empty"},
	} {
		_, err := ParseSchedule(c.expr, c.tz)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSchedule(%q, %q) = %v, want an error with %q", c.expr, c.tz, err, c.want)
		}
	}
}

// DST in Europe/Berlin 2026: clocks spring forward on 29 March at 02:00
// (to 03:00) and fall back on 25 October at 03:00 (to 02:00).
func TestDSTSpringForward(t *testing.T) {
	// A job at 02:30 (a time that does not exist that night) runs once, at
	// the moment of the change, and at 02:30 again the next night.
	s := mustParse(t, "30 2 * * *", "Europe/Berlin")
	got := nexts(s, at(t, "2026-03-28T12:00:00+01:00"), 3)
	want := []string{"2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}
	_ = want
	want[0] = "2026-03-29T03:00:00+02:00"
	want[1] = "2026-03-30T02:30:00+02:00"
	want[2] = "2026-03-31T02:30:00+02:00"
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("fixed job in the gap: got %v, want %v", got, want)
	}
	// A wildcard job skips the slots that do not exist.
	s = mustParse(t, "*/30 * * * *", "Europe/Berlin")
	got = nexts(s, at(t, "2026-03-29T01:15:00+01:00"), 3)
	want = []string{"2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("wildcard job across the gap: got %v, want %v", got, want)
	}
}

func TestDSTFallBack(t *testing.T) {
	// A job at 02:30 runs once in the night when 02:00-03:00 happens twice.
	s := mustParse(t, "30 2 * * *", "Europe/Berlin")
	got := nexts(s, at(t, "2026-10-25T00:00:00+02:00"), 2)
	want := []string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("fixed job in the repeated hour: got %v, want %v", got, want)
	}
	// An hourly job runs in both passes of the repeated hour.
	s = mustParse(t, "0 * * * *", "Europe/Berlin")
	got = nexts(s, at(t, "2026-10-25T01:30:00+02:00"), 3)
	want = []string{"2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("hourly job in the repeated hour: got %v, want %v", got, want)
	}
	// @every is elapsed time: DST changes nothing.
	s = mustParse(t, "@every 1h", "Europe/Berlin")
	from := at(t, "2026-10-25T01:30:00+02:00")
	if d := s.Next(from).Sub(from); d != time.Hour {
		t.Fatalf("@every across DST: %v", d)
	}
}

func TestDue(t *testing.T) {
	s := mustParse(t, "0 * * * *", "UTC")
	n, last := s.Due(at(t, "2026-01-01T00:00:00Z"), at(t, "2026-01-01T03:30:00Z"), 1000)
	if n != 3 || !last.Equal(at(t, "2026-01-01T03:00:00Z")) {
		t.Fatalf("Due = %d, %v; want 3 slots, the last at 03:00", n, last)
	}
	s = mustParse(t, "@every 10s", "UTC")
	n, last = s.Due(at(t, "2026-01-01T00:00:00Z"), at(t, "2026-01-01T00:01:05Z"), 1000)
	if n != 6 || !last.Equal(at(t, "2026-01-01T00:01:00Z")) {
		t.Fatalf("@every Due = %d, %v", n, last)
	}
}

func TestValidateTriggers(t *testing.T) {
	no := false
	problems := Validate([]flow.Trigger{
		{ID: "nightly", Type: "schedule", Cron: "0 3 * * *", Timezone: "Europe/Berlin"},
		{ID: "nightly", Type: "schedule", Cron: "0 3 * *"},
		{ID: "tz", Type: "schedule", Cron: "0 3 * * *", Timezone: "Nowhere/City"},
		{ID: "hook", Type: "webhook", Respond: "later"},
		{ID: "src", Type: "files", Glob: "src/[a-"},
		{ID: "up", Type: "files", Glob: "../x/*"},
		{ID: "off", Type: "webhook", Enabled: &no},
		{ID: "bad id", Type: "files", Glob: "*.go", Cron: "* * * * *"},
		{ID: "t", Type: "email"},
	})
	want := []string{
		"triggers[1].id: duplicate trigger id \"nightly\"",
		"triggers[1].cron: cron expression has 4 fields",
		"triggers[2].timezone: unknown time zone",
		"triggers[3].respond: must be",
		"triggers[4].glob: \"src/[a-\" is not a valid glob",
		"triggers[5].glob: must stay inside",
		"triggers[7].id: must be 1 to 64",
		"triggers[7].cron: applies only to schedule",
		"triggers[8].type: unknown trigger type \"email\"",
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.Field+": "+p.Message)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		glob, path string
		want       bool
	}{
		{"src/**/*.go", "src/a/b/c.go", true},
		{"src/**/*.go", "src/c.go", true},
		{"src/**/*.go", "src/c.ts", false},
		{"**/*.md", "docs/x.md", true},
		{"**/*", ".git/config", false},
		{"**", ".flowweaver/workflows/a.json", false},
		{"*.txt", "a/b.txt", false},
	} {
		if got := Match(c.glob, c.path); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.glob, c.path, got, c.want)
		}
	}
}
