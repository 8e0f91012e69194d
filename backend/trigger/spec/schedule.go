// Package spec parses and checks trigger definitions without running
// anything: cron schedules (with the time zone and daylight-saving rules
// cron users expect), file globs and the validation of a workflow's
// "triggers" list. The workflow package uses it at save time; the trigger
// package uses it to compute slots.
package spec

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones also where the OS has none (Windows, slim containers)

	"github.com/robfig/cron/v3"
)

// parser accepts the standard 5 fields, an optional leading seconds field
// (6 fields), and the descriptors (@every <duration>, @hourly, @daily,
// @midnight, @weekly, @monthly, @yearly, @annually).
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// MinEvery is the shortest @every interval.
const MinEvery = time.Second

// Schedule is a parsed cron expression in its time zone.
type Schedule struct {
	expr  string
	loc   *time.Location
	every time.Duration      // @every; 0 for calendar schedules
	spec  *cron.SpecSchedule // calendar fields, evaluated on wall-clock time
	// fixed is true for jobs at a particular wall-clock time (no '*' in
	// the minute or hour field, not @hourly): across a DST change they run
	// once, as cron does (see Next).
	fixed bool
}

// ParseSchedule parses cron in the IANA zone tz ("" = the machine's zone).
func ParseSchedule(expr, tz string) (*Schedule, error) {
	loc, err := LoadZone(tz)
	if err != nil {
		return nil, err
	}
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, errors.New("cron expression is empty")
	}
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, errors.New(`put the time zone in "timezone", not in the cron expression`)
	}
	s := &Schedule{expr: expr, loc: loc}
	if rest, ok := strings.CutPrefix(expr, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("@every needs a duration such as 30s, 5m or 1h30m: %v", err)
		}
		if d < MinEvery {
			return nil, fmt.Errorf("@every %v is shorter than the minimum of %v", d, MinEvery)
		}
		s.every = d
		return s, nil
	}
	if !strings.HasPrefix(expr, "@") {
		if n := len(strings.Fields(expr)); n != 5 && n != 6 {
			return nil, fmt.Errorf("cron expression has %d fields; use 5 (minute hour day month weekday) or 6 (seconds first)", n)
		}
	}
	sched, err := parser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid cron expression: %v", err)
	}
	sp, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("unsupported cron expression %q", expr)
	}
	c := *sp
	c.Location = time.UTC // Next runs on wall-clock time written as UTC
	s.spec = &c
	s.fixed = isFixed(expr)
	return s, nil
}

// LoadZone loads an IANA time zone; "" is the machine's zone.
func LoadZone(tz string) (*time.Location, error) {
	if tz == "" {
		return time.Local, nil
	}
	if tz == "Local" {
		return nil, errors.New(`unknown time zone "Local": leave timezone empty for the machine's zone`)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name such as Europe/Berlin or UTC)", tz)
	}
	return loc, nil
}

func isFixed(expr string) bool {
	switch expr {
	case "@hourly":
		return false
	case "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually":
		return true
	}
	f := strings.Fields(expr)
	if len(f) == 6 {
		f = f[1:]
	}
	return len(f) == 5 && !strings.Contains(f[0], "*") && !strings.Contains(f[1], "*")
}

// Location is the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Every is the interval of an @every schedule, 0 otherwise.
func (s *Schedule) Every() time.Duration { return s.every }

// Next returns the first slot strictly after t, or the zero time if there
// is none within five years (robfig/cron's search bound).
//
// Calendar schedules are evaluated on the wall clock of their zone, with
// the rules of Vixie/ISC cron for daylight-saving changes:
//   - a job at a particular time (no '*' in minute or hour) whose time is
//     skipped when clocks spring forward runs once, at the moment of the
//     change; when clocks fall back it runs once, at the first of the two
//     occurrences;
//   - a wildcard job (every N minutes, hourly) follows the clock: slots
//     that do not exist are skipped, and the repeated hour runs twice.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		return t.Add(s.every)
	}
	if !s.fixed {
		// Inside the first pass of a repeated hour, the second pass of the
		// wall times already behind us is still ahead.
		if at := instants(wall(t.In(s.loc)), s.loc); len(at) == 2 && t.Before(at[1]) {
			return s.nextInRepeat(t, at[1])
		}
	}
	return s.walk(t)
}

// walk finds the next slot by moving forward on the wall clock.
func (s *Schedule) walk(t time.Time) time.Time {
	w := wall(t.In(s.loc))
	for range 10_000 { // each step moves the wall clock forward; a bound for safety
		w = s.spec.Next(w)
		if w.IsZero() {
			return time.Time{}
		}
		at := instants(w, s.loc)
		if len(at) == 0 { // in a spring-forward gap
			if s.fixed {
				if g := gapEnd(w, s.loc); g.After(t) {
					return g
				}
			}
			continue
		}
		for i, c := range at {
			if i > 0 && s.fixed {
				break
			}
			if c.After(t) {
				return c
			}
		}
	}
	return time.Time{}
}

// nextInRepeat finds the next slot of a wildcard schedule when t lies in
// the first pass of a fall-back hour; second is the second instant of t's
// wall time. Every matching wall time of the repeated range has an instant
// after t (its first one if it is ahead of t, else its second), and the
// earliest of those is the answer.
func (s *Schedule) nextInRepeat(t, second time.Time) time.Time {
	second = second.In(s.loc)
	change, _ := second.ZoneBounds()
	_, newOff := second.Zone()
	_, oldOff := change.Add(-time.Second).In(s.loc).Zone()
	shift := time.Duration(oldOff-newOff) * time.Second
	w0 := wall(change.In(s.loc))
	var best time.Time
	for w := s.spec.Next(w0.Add(-time.Second)); !w.IsZero() && w.Before(w0.Add(shift)); w = s.spec.Next(w) {
		for _, c := range instants(w, s.loc) {
			if c.After(t) && (best.IsZero() || c.Before(best)) {
				best = c
			}
		}
	}
	if !best.IsZero() {
		return best
	}
	return s.walk(change.Add(shift - time.Second))
}

// Due counts the slots in (after, now] and returns the latest of them;
// n is 0 when none is due. For @every it is arithmetic; calendar schedules
// are walked up to limit slots (then n is limit, a lower bound).
func (s *Schedule) Due(after, now time.Time, limit int) (n int, last time.Time) {
	if s.every > 0 {
		if !now.After(after) {
			return 0, time.Time{}
		}
		k := int64(now.Sub(after) / s.every)
		if k == 0 {
			return 0, time.Time{}
		}
		if k > int64(limit) {
			k = int64(limit)
		}
		return int(k), after.Add(time.Duration(k) * s.every)
	}
	for t := s.Next(after); !t.IsZero() && !t.After(now); t = s.Next(t) {
		n, last = n+1, t
		if n >= limit {
			break
		}
	}
	return n, last
}

// wall returns t's wall-clock reading as a UTC time.
func wall(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	return time.Date(y, mo, d, h, mi, sec, 0, time.UTC)
}

// instants returns the instants (ascending) at which loc's clock reads the
// wall time w: none in a spring-forward gap, two in a fall-back hour.
func instants(w time.Time, loc *time.Location) []time.Time {
	var out []time.Time
	for _, probe := range []time.Duration{-36 * time.Hour, 36 * time.Hour} {
		_, off := w.Add(probe).In(loc).Zone()
		c := w.Add(-time.Duration(off) * time.Second)
		if wall(c.In(loc)).Equal(w) && (len(out) == 0 || !out[0].Equal(c)) {
			out = append(out, c)
		}
	}
	if len(out) == 2 && out[1].Before(out[0]) {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

// gapEnd is the instant a spring-forward gap containing wall time w ends.
func gapEnd(w time.Time, loc *time.Location) time.Time {
	_, off := w.Add(-36 * time.Hour).In(loc).Zone() // the offset before the change
	start, _ := w.Add(-time.Duration(off) * time.Second).In(loc).ZoneBounds()
	return start
}
