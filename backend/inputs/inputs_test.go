package inputs

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

const release = `{
  "type": "object",
  "properties": {
    "version": {"type": "string", "description": "the version to tag", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+$"},
    "count": {"type": "integer", "default": 2, "minimum": 1},
    "dryRun": {"type": "boolean", "default": true},
    "ratio": {"type": "number"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "env": {"type": "object"}
  },
  "required": ["version"]
}`

func mustParse(t *testing.T, raw string) *Schema {
	t.Helper()
	s, probs := Parse(json.RawMessage(raw))
	if len(probs) > 0 || s == nil {
		t.Fatalf("Parse: %v", probs)
	}
	return s
}

func TestParseKeepsDeclarationOrderAndFacts(t *testing.T) {
	s := mustParse(t, release)
	if got, want := s.Names(), []string{"version", "count", "dryRun", "ratio", "tags", "env"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("names %v, want %v (declaration order)", got, want)
	}
	v := s.Properties[0]
	if v.Type != "string" || !v.Required || v.Description != "the version to tag" || v.HasDefault {
		t.Fatalf("version = %+v", v)
	}
	if c := s.Properties[1]; !c.HasDefault || c.Default != int64(2) || c.Required {
		t.Fatalf("count = %+v", c)
	}
	if s.Open {
		t.Fatal("a declaration without additionalProperties must be closed")
	}
}

func TestEmptyDeclarationIsNoSchema(t *testing.T) {
	for _, raw := range []string{"", "null", "  "} {
		s, probs := Parse(json.RawMessage(raw))
		if s != nil || probs != nil {
			t.Fatalf("Parse(%q) = %v, %v; want nothing", raw, s, probs)
		}
		got, err := s.Apply(map[string]any{"x": 1})
		if err != nil || got["x"] != 1 {
			t.Fatalf("nil schema Apply = %v, %v", got, err)
		}
	}
}

func TestApplyFillsDefaultsAndConvertsText(t *testing.T) {
	s := mustParse(t, release)
	got, err := s.Apply(map[string]any{"version": "1.4.0", "ratio": "0.5", "trigger": map[string]any{"type": "manual"}}, "trigger")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"version": "1.4.0", "count": int64(2), "dryRun": true, "ratio": 0.5, "trigger": map[string]any{"type": "manual"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Apply = %#v\nwant %#v", got, want)
	}
	// A CLI --input count=5 is the text "5": it becomes the integer 5.
	got, err = s.Apply(map[string]any{"version": "1.4.0", "count": "5", "dryRun": "false"})
	if err != nil {
		t.Fatal(err)
	}
	if got["count"] != int64(5) || got["dryRun"] != false {
		t.Fatalf("converted = %#v", got)
	}
	// A given value wins over the default, and JSON numbers stay numbers.
	got, err = s.Apply(map[string]any{"version": "1.4.0", "count": float64(7)})
	if err != nil || got["count"] != float64(7) {
		t.Fatalf("given count = %#v, %v", got["count"], err)
	}
}

func problemsOf(t *testing.T, err error) []flow.Problem {
	t.Helper()
	fe, ok := err.(*flow.Error)
	if !ok || fe.Code != flow.EINVALID {
		t.Fatalf("err = %#v, want a bad_request *flow.Error", err)
	}
	probs, _ := fe.Details.([]flow.Problem)
	if len(probs) == 0 {
		t.Fatalf("no problems in %v", err)
	}
	return probs
}

func TestApplyRefusesNamingTheField(t *testing.T) {
	s := mustParse(t, release)
	cases := []struct {
		name  string
		given map[string]any
		field string
		msg   string
	}{
		{"missing required", map[string]any{}, "inputs.version", "is required"},
		{"wrong type", map[string]any{"version": "1.0.0", "count": "many"}, "inputs.count", "must be an integer, not string"},
		{"not an integer", map[string]any{"version": "1.0.0", "count": 1.5}, "inputs.count", "must be an integer, not number"},
		{"below minimum", map[string]any{"version": "1.0.0", "count": float64(0)}, "inputs.count", "must be >= 1"},
		{"pattern", map[string]any{"version": "one"}, "inputs.version", "does not match pattern"},
		{"boolean text", map[string]any{"version": "1.0.0", "dryRun": "perhaps"}, "inputs.dryRun", "must be a boolean, not string"},
		{"array items", map[string]any{"version": "1.0.0", "tags": []any{"a", float64(3)}}, "inputs.tags.1", "must be a string, not number"},
		{"unknown input", map[string]any{"version": "1.0.0", "release": "2"}, "inputs.release", "is not a declared input"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Apply(c.given)
			probs := problemsOf(t, err)
			if probs[0].Field != c.field || !strings.Contains(probs[0].Message, c.msg) {
				t.Fatalf("problems %+v, want %s %q", probs, c.field, c.msg)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Fatalf("message %q does not name %s", err.Error(), c.field)
			}
		})
	}
}

func TestApplyListsEveryProblem(t *testing.T) {
	s := mustParse(t, release)
	_, err := s.Apply(map[string]any{"count": "x", "extra": 1})
	probs := problemsOf(t, err)
	fields := make([]string, len(probs))
	for i, p := range probs {
		fields[i] = p.Field
	}
	if want := []string{"inputs.count", "inputs.extra", "inputs.version"}; !reflect.DeepEqual(fields, want) {
		t.Fatalf("fields %v, want %v", fields, want)
	}
	if !strings.Contains(err.Error(), "(and 2 more)") {
		t.Fatalf("message %q", err.Error())
	}
}

func TestEngineKeysPassAndOpenSchemasAcceptExtras(t *testing.T) {
	s := mustParse(t, `{"type":"object","properties":{"n":{"type":"integer"}}}`)
	if _, err := s.Apply(map[string]any{"item": "a", "index": 0}, "item", "index"); err != nil {
		t.Fatalf("engine keys refused: %v", err)
	}
	if _, err := s.Apply(map[string]any{"item": "a"}); err == nil {
		t.Fatal("an undeclared input passed a closed schema")
	}
	open := mustParse(t, `{"type":"object","properties":{"n":{"type":"integer"}},"additionalProperties":true}`)
	if !open.Open {
		t.Fatal("additionalProperties true is open")
	}
	if got, err := open.Apply(map[string]any{"other": "x"}); err != nil || got["other"] != "x" {
		t.Fatalf("open Apply = %v, %v", got, err)
	}
}

func TestParseRefusesBadDeclarations(t *testing.T) {
	cases := []struct {
		name, raw, field, msg string
	}{
		{"not an object", `["a"]`, "inputs", "must be a JSON Schema object"},
		{"not type object", `{"type":"string"}`, "inputs.type", `must be "object"`},
		{"properties not an object", `{"type":"object","properties":[1]}`, "inputs.properties", "must be an object"},
		{"missing type", `{"properties":{"x":{"description":"d"}}}`, "inputs.properties.x.type", "must be one of string, number, integer, boolean, object, array"},
		{"unsupported type", `{"properties":{"x":{"type":"null"}}}`, "inputs.properties.x.type", "must be one of"},
		{"type list", `{"properties":{"x":{"type":["string","null"]}}}`, "inputs.properties.x.type", "must be one of"},
		{"bad name", `{"properties":{"my-input":{"type":"string"}}}`, "inputs.properties.my-input", "input names must start with a letter"},
		{"reserved name", `{"properties":{"trigger":{"type":"string"}}}`, "inputs.properties.trigger", "reserved"},
		{"required undeclared", `{"properties":{"x":{"type":"string"}},"required":["y"]}`, "inputs.required", `names "y"`},
		{"required not a list", `{"properties":{"x":{"type":"string"}},"required":"x"}`, "inputs.required", "must be a list"},
		{"default of the wrong type", `{"properties":{"n":{"type":"integer","default":"ten"}}}`, "inputs.properties.n.default", "the default must be an integer, not string"},
		{"bad keyword value", `{"properties":{"n":{"type":"integer","minimum":"one"}}}`, "inputs", "is not a valid JSON Schema"},
		{"description not text", `{"properties":{"n":{"type":"integer","description":3}}}`, "inputs.properties.n.description", "must be a string"},
		{"external ref", `{"properties":{"n":{"type":"string","$ref":"file:///etc/passwd"}}}`, "inputs", "only references inside the inputs schema"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, probs := Parse(json.RawMessage(c.raw))
			if s != nil || len(probs) == 0 {
				t.Fatalf("Parse accepted %s", c.raw)
			}
			for _, p := range probs {
				if p.Field == c.field && strings.Contains(p.Message, c.msg) {
					return
				}
			}
			t.Fatalf("problems %+v, want %s %q", probs, c.field, c.msg)
		})
	}
}

func TestParseRefusesTooManyInputs(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"type":"object","properties":{`)
	for i := 0; i <= MaxInputs; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"in` + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + `_` + itoa(i) + `":{"type":"string"}`)
	}
	b.WriteString(`}}`)
	_, probs := Parse(json.RawMessage(b.String()))
	if len(probs) == 0 || probs[0].Field != "inputs.properties" {
		t.Fatalf("problems %+v", probs)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestCacheReturnsTheSameSchema(t *testing.T) {
	var c Cache
	a, _ := c.Parse(json.RawMessage(release))
	b, _ := c.Parse(json.RawMessage(release))
	if a == nil || a != b {
		t.Fatalf("cache returned %p and %p", a, b)
	}
	if s, probs := c.Parse(json.RawMessage(`{"type":"string"}`)); s != nil || len(probs) == 0 {
		t.Fatal("a bad declaration is remembered as bad")
	}
}

// BenchmarkApply is the cost a run start pays for declared inputs (the
// compiled schema cached); BenchmarkParse is a cache miss.
func BenchmarkApply(b *testing.B) {
	var c Cache
	raw := json.RawMessage(release)
	given := map[string]any{"version": "1.4.0", "trigger": map[string]any{"type": "manual"}}
	for b.Loop() {
		s, _ := c.Parse(raw)
		if _, err := s.Apply(given, "trigger"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	raw := json.RawMessage(release)
	for b.Loop() {
		if _, probs := Parse(raw); probs != nil {
			b.Fatal(probs)
		}
	}
}

func TestParseKnownDraftsOfflineAndRefusesOtherMetaschemas(t *testing.T) {
	s := mustParse(t, `{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"n": {"type": "integer", "default": 1}}}`)
	if _, err := s.Apply(map[string]any{"n": "x"}); err == nil {
		t.Fatal("a draft-07 declaration did not validate")
	}
	_, probs := Parse(json.RawMessage(`{"$schema": "https://example.com/my-meta", "type": "object", "properties": {"n": {"type": "integer"}}}`))
	if len(probs) == 0 || !strings.Contains(probs[0].Message, "only references inside the inputs schema are allowed") {
		t.Fatalf("problems %+v", probs)
	}
	// A $ref inside the declaration is fine.
	s = mustParse(t, `{"type": "object", "$defs": {"tag": {"type": "string", "minLength": 2}}, "properties": {"tag": {"type": "string", "$ref": "#/$defs/tag"}}}`)
	if _, err := s.Apply(map[string]any{"tag": "a"}); err == nil || !strings.Contains(err.Error(), "inputs.tag must be at least 2 characters") {
		t.Fatalf("err %v", err)
	}
}
