// Package inputs is a workflow's declared run inputs: a JSON Schema object
// schema in the workflow file's "inputs" key. It checks the declaration
// when a workflow is saved and, at every run start (REST, WebSocket, CLI,
// triggers, child runs), applies the declared defaults and refuses inputs
// that do not match, naming the field. Validation is the JSON Schema
// library's (santhosh-tekuri/jsonschema); this package only adds the rules
// that make a schema usable as a run form and as {{ inputs.x }} names.
package inputs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Types are the property types an input may declare: what a run form can
// offer and what {{ inputs.x }} can read.
var Types = []string{"string", "number", "integer", "boolean", "object", "array"}

// Reserved names are filled by the engine, never by the caller:
// inputs.trigger is what started the run.
var Reserved = []string{"trigger"}

// MaxInputs bounds a declaration (a form of 100 fields is already absurd).
const MaxInputs = 100

var nameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Property is one declared input, in declaration order.
type Property struct {
	Name        string
	Type        string
	Description string
	Default     any // nil when HasDefault is false
	HasDefault  bool
	Required    bool
}

// Schema is a checked, compiled declaration.
type Schema struct {
	Properties []Property
	// Open says inputs not declared are accepted (the schema sets
	// additionalProperties to something other than false). By default a
	// declaration is closed: an undeclared input is most likely a typo.
	Open     bool
	compiled *jsonschema.Schema
}

// Empty reports whether raw declares nothing (absent or JSON null).
func Empty(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// Parse checks a declaration and compiles it. Problems name the field
// ("inputs.properties.count.type") and say what is wrong; a nil Schema
// comes with at least one problem. An empty declaration is (nil, nil).
func Parse(raw json.RawMessage) (*Schema, []flow.Problem) {
	if Empty(raw) {
		return nil, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, []flow.Problem{{Field: "inputs", Message: "is not valid JSON: " + err.Error()}}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, []flow.Problem{{Field: "inputs", Message: `must be a JSON Schema object: {"type": "object", "properties": {...}}`}}
	}
	var probs []flow.Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, flow.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if t, has := obj["type"]; has && t != "object" {
		add("inputs.type", `must be "object" (the inputs are named fields)`)
	}
	props, _ := obj["properties"].(map[string]any)
	if _, has := obj["properties"]; has && props == nil {
		add("inputs.properties", "must be an object of named input schemas")
	}
	if len(props) > MaxInputs {
		add("inputs.properties", "declares %d inputs, at most %d are allowed", len(props), MaxInputs)
	}
	required := map[string]bool{}
	if r, has := obj["required"]; has {
		list, ok := r.([]any)
		if !ok {
			add("inputs.required", "must be a list of input names")
		}
		for _, v := range list {
			name, _ := v.(string)
			if _, declared := props[name]; !declared {
				add("inputs.required", "names %s, which is not declared in properties", quoted(v))
				continue
			}
			required[name] = true
		}
	}
	order := propertyOrder(raw)
	s := &Schema{}
	for _, name := range order {
		field := "inputs.properties." + name
		switch {
		case !nameRe.MatchString(name):
			add(field, "input names must start with a letter or '_' and contain only letters, digits and '_' (so {{ inputs.%s }} can read them), at most 64 characters", name)
			continue
		case isReserved(name):
			add(field, "%q is reserved: inputs.%s is filled by Flow Weaver", name, name)
			continue
		}
		ps, ok := props[name].(map[string]any)
		if !ok {
			add(field, "must be a schema object such as {\"type\": \"string\"}")
			continue
		}
		p := Property{Name: name, Required: required[name]}
		p.Type, _ = ps["type"].(string)
		if !validType(p.Type) {
			add(field+".type", "must be one of %s", strings.Join(Types, ", "))
			continue
		}
		if d, has := ps["description"]; has {
			if p.Description, ok = d.(string); !ok {
				add(field+".description", "must be a string")
			}
		}
		if d, has := ps["default"]; has {
			p.Default, p.HasDefault = plain(d), true
		}
		s.Properties = append(s.Properties, p)
	}
	if ap, has := obj["additionalProperties"]; has && ap != false {
		s.Open = true
	}
	if len(probs) > 0 {
		return nil, probs
	}
	closed := obj
	if !s.Open {
		closed = make(map[string]any, len(obj)+1)
		for k, v := range obj {
			closed[k] = v
		}
		closed["additionalProperties"] = false
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("inputs.json", closed); err != nil {
		return nil, []flow.Problem{{Field: "inputs", Message: err.Error()}}
	}
	if s.compiled, err = c.Compile("inputs.json"); err != nil {
		return nil, []flow.Problem{{Field: "inputs", Message: "is not a valid JSON Schema: " + schemaError(err)}}
	}
	for _, p := range s.Properties {
		if p.HasDefault {
			if err := s.compiled.Validate(map[string]any{p.Name: p.Default}); err != nil {
				for _, pr := range problems(err) {
					if pr.Field == "inputs."+p.Name {
						probs = append(probs, flow.Problem{Field: "inputs.properties." + p.Name + ".default", Message: "the default " + pr.Message})
					}
				}
			}
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return s, nil
}

// Apply returns the run inputs: given with string values converted to a
// declared number, integer or boolean when they read as one (a CLI
// --input or a form field is text), the declared defaults filled in, and
// checked against the schema. Keys in engine (inputs.trigger, a forEach
// child's item and index) are the engine's and pass unchecked. An
// invalid input is a bad_request error whose Details lists one problem
// per field ("inputs.count"). A nil Schema returns given unchanged.
func (s *Schema) Apply(given map[string]any, engine ...string) (map[string]any, error) {
	if s == nil {
		return given, nil
	}
	out := make(map[string]any, len(given)+len(s.Properties))
	checked := make(map[string]any, len(given)+len(s.Properties))
	for k, v := range given {
		out[k] = v
		if !contains(engine, k) {
			checked[k] = plain(v)
		}
	}
	for _, p := range s.Properties {
		v, has := checked[p.Name]
		switch {
		case has:
			if str, ok := v.(string); ok {
				if cv, ok := convert(str, p.Type); ok {
					out[p.Name], checked[p.Name] = cv, cv
				}
			}
		case p.HasDefault:
			d := plain(p.Default) // a copy: the cached schema is shared
			out[p.Name], checked[p.Name] = d, d
		}
	}
	err := s.compiled.Validate(checked)
	if err == nil {
		return out, nil
	}
	probs := problems(err)
	msg := "invalid inputs"
	if len(probs) > 0 {
		msg += ": " + probs[0].Field + " " + probs[0].Message
		if len(probs) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(probs)-1)
		}
	}
	return nil, &flow.Error{Code: flow.EINVALID, Message: msg, Details: probs}
}

// Names lists the declared input names in declaration order.
func (s *Schema) Names() []string {
	if s == nil {
		return nil
	}
	names := make([]string, len(s.Properties))
	for i, p := range s.Properties {
		names[i] = p.Name
	}
	return names
}

// convert reads a string as the declared scalar type.
func convert(s, typ string) (any, bool) {
	t := strings.TrimSpace(s)
	switch typ {
	case "integer":
		if i, err := strconv.ParseInt(t, 10, 64); err == nil {
			return i, true
		}
	case "number":
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return f, true
		}
	case "boolean":
		if b, err := strconv.ParseBool(t); err == nil {
			return b, true
		}
	}
	return nil, false
}

// problems turns the library's error tree into one problem per failing
// leaf, with fields "inputs.<name>[.<path>]", deduplicated, in field order.
func problems(err error) []flow.Problem {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []flow.Problem{{Field: "inputs", Message: err.Error()}}
	}
	p := message.NewPrinter(language.English)
	var out []flow.Problem
	seen := map[flow.Problem]bool{}
	addp := func(pr flow.Problem) {
		if !seen[pr] {
			seen[pr] = true
			out = append(out, pr)
		}
	}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		field := "inputs"
		for _, tok := range e.InstanceLocation {
			field += "." + tok
		}
		switch k := e.ErrorKind.(type) {
		case *kind.Required:
			for _, m := range k.Missing {
				addp(flow.Problem{Field: field + "." + m, Message: "is required"})
			}
		case *kind.AdditionalProperties:
			for _, m := range k.Properties {
				addp(flow.Problem{Field: field + "." + m, Message: "is not a declared input"})
			}
		case *kind.Type:
			addp(flow.Problem{Field: field, Message: fmt.Sprintf("must be %s, not %s", article(k.Want), k.Got)})
		case *kind.Minimum:
			addp(flow.Problem{Field: field, Message: "must be >= " + k.Want.RatString()})
		case *kind.Maximum:
			addp(flow.Problem{Field: field, Message: "must be <= " + k.Want.RatString()})
		case *kind.MinLength:
			addp(flow.Problem{Field: field, Message: fmt.Sprintf("must be at least %d characters", k.Want)})
		case *kind.MaxLength:
			addp(flow.Problem{Field: field, Message: fmt.Sprintf("must be at most %d characters", k.Want)})
		case *kind.Pattern:
			addp(flow.Problem{Field: field, Message: fmt.Sprintf("does not match pattern %s", k.Want)})
		default:
			addp(flow.Problem{Field: field, Message: e.ErrorKind.LocalizedString(p)})
		}
	}
	walk(ve)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func article(types []string) string {
	words := make([]string, len(types))
	for i, t := range types {
		switch t {
		case "integer", "object", "array":
			words[i] = "an " + t
		default:
			words[i] = "a " + t
		}
	}
	return strings.Join(words, " or ")
}

// schemaError is the compile error without the resource URL noise.
func schemaError(err error) string {
	var se *jsonschema.SchemaValidationError
	if errors.As(err, &se) {
		var ve *jsonschema.ValidationError
		if errors.As(se.Err, &ve) {
			var parts []string
			for _, pr := range problems(ve) {
				parts = append(parts, strings.TrimPrefix(strings.Replace(pr.Field, "inputs", "", 1), ".")+" "+pr.Message)
			}
			return strings.Join(parts, "; ")
		}
	}
	return strings.ReplaceAll(err.Error(), "file:///inputs.json", "inputs")
}

// propertyOrder lists the keys of raw's "properties" object in the order
// they are written: the order of the run form's fields.
func propertyOrder(raw json.RawMessage) []string {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(top["properties"]))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return keys
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return keys
		}
	}
	return keys
}

// plain turns json.Number (how the schema library decodes) into int64 or
// float64, the types the rest of the engine sees from encoding/json.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = plain(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = plain(e)
		}
		return l
	}
	return v
}

func quoted(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func validType(t string) bool { return contains(Types, t) }

func isReserved(name string) bool { return contains(Reserved, name) }

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// noLoader refuses every external $ref or $schema: a workflow file from
// a folder must not make the server read other files or the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s: only references inside the inputs schema are allowed", url)
}

// Cache remembers compiled declarations by their text, so a run start
// does not compile the schema again (compiling costs about a millisecond;
// a cached Apply, microseconds). Bounded: when full it starts over.
type Cache struct {
	mu sync.Mutex
	m  map[string]cached
}

type cached struct {
	s     *Schema
	probs []flow.Problem
}

// cacheSize bounds the cache: a project rarely has more workflows with
// inputs than this, and a miss only costs a compile.
const cacheSize = 256

// Parse is the package's Parse, remembered by raw's bytes.
func (c *Cache) Parse(raw json.RawMessage) (*Schema, []flow.Problem) {
	if Empty(raw) {
		return nil, nil
	}
	key := string(raw)
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return e.s, e.probs
	}
	s, probs := Parse(raw)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= cacheSize {
		c.m = make(map[string]cached)
	}
	c.m[key] = cached{s, probs}
	c.mu.Unlock()
	return s, probs
}
