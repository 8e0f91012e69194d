package tools

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Param types of a built-in tool's params. They map one to one onto JSON
// Schema types; typeAny accepts every JSON value.
const (
	typeString  = "string"
	typeInteger = "integer"
	typeBoolean = "boolean"
	typeObject  = "object"
	typeArray   = "array"
	typeAny     = ""
)

// param declares one parameter of a built-in tool. The same declaration
// produces the JSON Schema shown to the user and drives the validation, so
// the two can never disagree.
type param struct {
	Name        string
	Title       string
	Description string
	Type        string
	Required    bool
	Default     any
	Enum        []string
	Min, Max    *int64 // integers only
	Format      string // JSON Schema format hint, e.g. "uri"
	// Values is the JSON Schema type of an object's values ("string").
	Values string
}

// spec is what a built-in tool declares about itself.
type spec struct {
	Name        string
	Title       string
	Description string
	Params      []param
	// selfContained: the tool's only effects are its output and its log
	// lines; it changes nothing outside the run (no process, file, request
	// or message). The engine may run such a node before its upstream
	// nodes' checkpoints are committed (Registry.SelfContained).
	selfContained bool
	// instant: self-contained and returns at once, without waiting for
	// anything (every self-contained tool but delay). The engine may
	// execute a run of only such nodes before its start commits
	// (Registry.Instant).
	instant bool
}

// schemaProperty is one entry of "properties", with a fixed key order so
// the schema bytes are stable.
type schemaProperty struct {
	Type                 string          `json:"type,omitempty"`
	Title                string          `json:"title"`
	Description          string          `json:"description"`
	Default              any             `json:"default,omitempty"`
	Enum                 []string        `json:"enum,omitempty"`
	Minimum              *int64          `json:"minimum,omitempty"`
	Maximum              *int64          `json:"maximum,omitempty"`
	Format               string          `json:"format,omitempty"`
	AdditionalProperties *schemaProperty `json:"additionalProperties,omitempty"`
}

type schemaObject struct {
	Schema               string                    `json:"$schema"`
	Type                 string                    `json:"type"`
	Title                string                    `json:"title"`
	Description          string                    `json:"description"`
	Properties           map[string]schemaProperty `json:"properties"`
	Required             []string                  `json:"required"`
	AdditionalProperties bool                      `json:"additionalProperties"`
}

// schema renders the JSON Schema (draft 2020-12) of the tool's params.
func (s spec) schema() json.RawMessage {
	obj := schemaObject{
		Schema:      "https://json-schema.org/draft/2020-12/schema",
		Type:        "object",
		Title:       s.Title,
		Description: s.Description,
		Properties:  make(map[string]schemaProperty, len(s.Params)),
		Required:    []string{},
	}
	for _, p := range s.Params {
		prop := schemaProperty{
			Type: p.Type, Title: p.Title, Description: p.Description,
			Default: p.Default, Enum: p.Enum, Minimum: p.Min, Maximum: p.Max, Format: p.Format,
		}
		if p.Type == typeObject && p.Values != "" {
			prop.AdditionalProperties = &schemaProperty{Type: p.Values, Title: p.Title + " value", Description: "one value of " + p.Name}
		}
		obj.Properties[p.Name] = prop
		if p.Required {
			obj.Required = append(obj.Required, p.Name)
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		// The schema is built from constants; failing here is a programming error.
		panic(fmt.Sprintf("tools: schema of %s: %v", s.Name, err))
	}
	return b
}

// describe returns the catalog entry of a built-in tool.
func (s spec) describe() flow.Tool {
	return flow.Tool{Name: s.Name, Title: s.Title, Description: s.Description, InputSchema: s.schema(), Source: "builtin"}
}

// problems checks params against the declaration and returns every problem
// at once, in a stable order. Unknown params are problems too: a typo such as
// "comand" should fail loudly rather than run a node without its command.
// When lenient is true, string values containing "{{" are accepted for any
// type, because they are references the engine resolves before the run.
func (s spec) problems(params map[string]any, lenient bool) []string {
	var out []string
	for _, p := range s.Params {
		v, ok := params[p.Name]
		if !ok || v == nil {
			if p.Required {
				out = append(out, fmt.Sprintf("%s is required (%s)", p.Name, p.Description))
			}
			continue
		}
		if str, isStr := v.(string); lenient && isStr && strings.Contains(str, "{{") {
			continue
		}
		if msg := p.check(v); msg != "" {
			out = append(out, p.Name+" "+msg)
		}
	}
	var unknown []string
	for k := range params {
		if !s.hasParam(k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		out = append(out, fmt.Sprintf("%q is not a param of %s (known: %s)", k, s.Name, s.paramNames()))
	}
	return out
}

// hasParam reports whether name is one of the tool's params. A tool has a
// handful, so a scan beats building a set on every call (validation runs
// for every node a run executes).
func (s spec) hasParam(name string) bool {
	for _, p := range s.Params {
		if p.Name == name {
			return true
		}
	}
	return false
}

func (s spec) paramNames() string {
	names := make([]string, len(s.Params))
	for i, p := range s.Params {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// validate returns a bad_request error listing every problem, or nil.
func (s spec) validate(params map[string]any) error {
	probs := s.problems(params, false)
	if len(probs) == 0 {
		return nil
	}
	return &flow.Error{
		Code:    flow.EINVALID,
		Message: fmt.Sprintf("%s: invalid params: %s", s.Name, strings.Join(probs, "; ")),
		Details: probs,
	}
}

// check returns why v does not fit the param, or "".
func (p param) check(v any) string {
	switch p.Type {
	case typeString:
		str, ok := v.(string)
		if !ok {
			return fmt.Sprintf("must be a string, got %s", jsonType(v))
		}
		if len(p.Enum) > 0 && !slices.ContainsFunc(p.Enum, func(e string) bool { return strings.EqualFold(e, str) }) {
			return fmt.Sprintf("must be one of %s, got %q", strings.Join(p.Enum, ", "), str)
		}
	case typeInteger:
		n, ok := asInt(v)
		if !ok {
			return fmt.Sprintf("must be an integer, got %s", describeValue(v))
		}
		if p.Min != nil && n < *p.Min {
			return fmt.Sprintf("must be at least %d, got %d", *p.Min, n)
		}
		if p.Max != nil && n > *p.Max {
			return fmt.Sprintf("must be at most %d, got %d", *p.Max, n)
		}
	case typeBoolean:
		if _, ok := asBool(v); !ok {
			return fmt.Sprintf("must be true or false, got %s", describeValue(v))
		}
	case typeArray:
		if _, ok := v.([]any); !ok {
			return fmt.Sprintf("must be a list, got %s", jsonType(v))
		}
	case typeObject:
		m, ok := asObject(v)
		if !ok {
			return fmt.Sprintf("must be an object, got %s", jsonType(v))
		}
		if p.Values == typeString {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if _, ok := scalarString(m[k]); !ok {
					return fmt.Sprintf("value of %q must be a string, got %s", k, jsonType(m[k]))
				}
			}
		}
	}
	return ""
}

// asInt accepts the forms an integer param takes after JSON decoding and
// reference resolution: JSON numbers without a fraction, Go integers,
// json.Number and decimal strings ("200" from a {{ }} template).
func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint32:
		return int64(n), true
	case float64:
		if n != math.Trunc(n) || math.IsInf(n, 0) || n > math.MaxInt64 || n < math.MinInt64 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		return i, err == nil
	}
	return 0, false
}

func asBool(v any) (bool, bool) {
	switch b := v.(type) {
	case bool:
		return b, true
	case string:
		switch strings.TrimSpace(b) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

func asObject(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[string]string:
		out := make(map[string]any, len(m))
		for k, s := range m {
			out[k] = s
		}
		return out, true
	}
	return nil, false
}

// scalarString turns a string, number or boolean into its text; header and
// environment values are often numbers after reference resolution.
func scalarString(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case bool:
		return strconv.FormatBool(s), true
	case float64:
		return strconv.FormatFloat(s, 'f', -1, 64), true
	case json.Number:
		return s.String(), true
	case int, int32, int64, uint32:
		return fmt.Sprint(s), true
	}
	return "", false
}

// stringMap converts a validated object param with string values.
func stringMap(v any) map[string]string {
	m, _ := asObject(v)
	out := make(map[string]string, len(m))
	for k, val := range m {
		out[k], _ = scalarString(val)
	}
	return out
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, float32, int, int32, int64, uint32, json.Number:
		return "a number"
	case map[string]any, map[string]string:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

func describeValue(v any) string {
	switch v.(type) {
	case string, float64, bool, json.Number:
		b, _ := json.Marshal(v)
		if len(b) > 40 {
			b = append(b[:40], "..."...)
		}
		return jsonType(v) + " " + string(b)
	}
	return jsonType(v)
}

// Typed accessors for params that validate has already checked.

func strParam(params map[string]any, name, def string) string {
	if s, ok := params[name].(string); ok {
		return s
	}
	return def
}

func intParam(params map[string]any, name string, def int64) int64 {
	if n, ok := asInt(params[name]); ok {
		return n
	}
	return def
}

func boolParam(params map[string]any, name string, def bool) bool {
	if b, ok := asBool(params[name]); ok {
		return b
	}
	return def
}

func ptr[T any](v T) *T { return &v }
