package spec

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/flowweaver/flowweaver/backend/flow"
)

// Limits of a workflow's triggers.
const (
	MaxTriggers       = 50
	MaxCronLen        = 200
	MaxGlobLen        = 500
	MaxDebounceMs     = 10 * 60 * 1000
	DefaultDebounceMs = 300
)

var idRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate checks a workflow's triggers and returns every problem, with
// fields such as "triggers[1].cron". It is part of workflow validation, so
// a bad cron or glob is refused at save time with the other problems.
func Validate(triggers []flow.Trigger) []flow.Problem {
	var out []flow.Problem
	add := func(i int, field, format string, args ...any) {
		f := fmt.Sprintf("triggers[%d]", i)
		if field != "" {
			f += "." + field
		}
		out = append(out, flow.Problem{Field: f, Message: fmt.Sprintf(format, args...)})
	}
	if len(triggers) > MaxTriggers {
		out = append(out, flow.Problem{Field: "triggers", Message: fmt.Sprintf("has %d triggers, at most %d are allowed", len(triggers), MaxTriggers)})
		return out
	}
	seen := map[string]int{}
	for i, t := range triggers {
		switch {
		case !idRe.MatchString(t.ID):
			add(i, "id", "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'")
		default:
			if j, dup := seen[t.ID]; dup {
				add(i, "id", "duplicate trigger id %q (also triggers[%d])", t.ID, j)
			} else {
				seen[t.ID] = i
			}
		}
		if len(t.Label) > 200 || strings.ContainsAny(t.Label, "\n\r\t") {
			add(i, "label", "must be one line of at most 200 characters")
		}
		notFor := func(field string, set bool) {
			if set {
				add(i, field, "applies only to %s triggers", map[string]string{"cron": "schedule", "timezone": "schedule", "respond": "webhook", "glob": "files", "debounceMs": "files"}[field])
			}
		}
		switch t.Type {
		case flow.TriggerSchedule:
			notFor("respond", t.Respond != "")
			notFor("glob", t.Glob != "")
			notFor("debounceMs", t.DebounceMs != 0)
			if _, err := LoadZone(t.Timezone); err != nil {
				add(i, "timezone", "%s", err)
			}
			switch {
			case strings.TrimSpace(t.Cron) == "":
				add(i, "cron", "is missing (for example \"0 3 * * *\" or \"@every 5m\")")
			case len(t.Cron) > MaxCronLen:
				add(i, "cron", "must be at most %d characters", MaxCronLen)
			default:
				if _, err := ParseSchedule(t.Cron, ""); err != nil {
					add(i, "cron", "%s", err)
				}
			}
		case flow.TriggerWebhook:
			notFor("cron", t.Cron != "")
			notFor("timezone", t.Timezone != "")
			notFor("glob", t.Glob != "")
			notFor("debounceMs", t.DebounceMs != 0)
			switch t.Respond {
			case "", flow.RespondImmediately, flow.RespondOnCompleted:
			default:
				add(i, "respond", "must be %q or %q", flow.RespondImmediately, flow.RespondOnCompleted)
			}
		case flow.TriggerFiles:
			notFor("cron", t.Cron != "")
			notFor("timezone", t.Timezone != "")
			notFor("respond", t.Respond != "")
			if err := CheckGlob(t.Glob); err != nil {
				add(i, "glob", "%s", err)
			}
			if t.DebounceMs < 0 || t.DebounceMs > MaxDebounceMs {
				add(i, "debounceMs", "must be between 0 and %d", MaxDebounceMs)
			}
		case "":
			add(i, "type", "is missing (schedule, webhook or files)")
		default:
			add(i, "type", "unknown trigger type %q (schedule, webhook or files)", printable(t.Type))
		}
	}
	return out
}

// CheckGlob validates a files trigger's glob: a doublestar pattern ("**"
// spans directories) relative to the project folder.
func CheckGlob(g string) error {
	switch {
	case strings.TrimSpace(g) == "":
		return fmt.Errorf("is missing (for example \"src/**/*.go\")")
	case len(g) > MaxGlobLen:
		return fmt.Errorf("must be at most %d characters", MaxGlobLen)
	case strings.HasPrefix(g, "/") || strings.Contains(g, `\`) || (len(g) > 1 && g[1] == ':'):
		return fmt.Errorf("must be relative to the project folder and use '/' (got %q)", printable(g))
	}
	for _, part := range strings.Split(g, "/") {
		if part == ".." {
			return fmt.Errorf("must stay inside the project folder (no \"..\")")
		}
	}
	if !doublestar.ValidatePattern(g) {
		return fmt.Errorf("%q is not a valid glob (check brackets and braces)", printable(g))
	}
	return nil
}

// Match reports whether the slash-separated path rel (relative to the
// project folder) matches glob. Paths inside .git/ and .flowweaver/ never
// match.
func Match(glob, rel string) bool {
	if Ignored(rel) {
		return false
	}
	ok, err := doublestar.Match(glob, path.Clean(rel))
	return err == nil && ok
}

// Ignored reports whether rel lies in a folder no files trigger watches.
func Ignored(rel string) bool {
	first, _, _ := strings.Cut(rel, "/")
	return first == ".git" || first == ".flowweaver"
}

func printable(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
