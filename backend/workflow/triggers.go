package workflow

import (
	"bytes"
	"fmt"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// writeTriggers writes the "triggers" section: one trigger per line, keys
// in a fixed order (id, type, enabled, label, then the fields of its type),
// so adding, editing or switching off a trigger touches exactly its line.
// Nothing is written when there are no triggers, so files without
// triggers keep their bytes.
func writeTriggers(b *bytes.Buffer, triggers []flow.Trigger) error {
	if len(triggers) == 0 {
		return nil
	}
	b.WriteString(",\n  \"triggers\": [")
	for i, t := range triggers {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    {")
		first := true
		field := func(key string, v any) error {
			if !first {
				b.WriteString(", ")
			}
			first = false
			fmt.Fprintf(b, "%q: ", key)
			return writeJSON(b, v, "")
		}
		fields := []struct {
			key string
			v   any
			set bool
		}{
			{"id", t.ID, true},
			{"type", t.Type, true},
			{"enabled", t.Enabled, t.Enabled != nil},
			{"label", t.Label, t.Label != ""},
			{"cron", t.Cron, t.Cron != ""},
			{"timezone", t.Timezone, t.Timezone != ""},
			{"respond", t.Respond, t.Respond != ""},
			{"glob", t.Glob, t.Glob != ""},
			{"debounceMs", t.DebounceMs, t.DebounceMs != 0},
		}
		for _, f := range fields {
			if f.set {
				if err := field(f.key, f.v); err != nil {
					return fmt.Errorf("trigger %q %s: %w", t.ID, f.key, err)
				}
			}
		}
		b.WriteByte('}')
	}
	b.WriteString("\n  ]")
	return nil
}
