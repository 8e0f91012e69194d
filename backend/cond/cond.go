// Package cond compiles and evaluates the expressions of branching nodes
// (if's condition, switch's value). They are written in the language of
// {{ }} references (expr-lang) and read the same env: "inputs" (the run's
// inputs) and "nodes" ({"<id>": {"output": ...}}). One package serves the
// save-time check (workflow validation) and the run-time evaluation
// (engine), so the two can never accept different things.
package cond

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/expr-lang/expr"
)

// wholeRef matches a param that is exactly one reference: "{{ x }}".
var wholeRef = regexp.MustCompile(`^\s*\{\{(.*)\}\}\s*$`)

// Source returns the expression of a param: the inside of "{{ x }}" when
// the whole param is one reference (users write either form), else the
// text as it is.
func Source(param string) string {
	if m := wholeRef.FindStringSubmatch(param); m != nil && !strings.Contains(m[1], "{{") {
		return strings.TrimSpace(m[1])
	}
	return strings.TrimSpace(param)
}

// checkEnv is the shape of the run env with unknown contents: names other
// than these are an error at save time, member access on them is checked
// at run time. secrets is accepted so a condition may compare a secret.
func checkEnv() map[string]any {
	return map[string]any{"inputs": map[string]any{}, "nodes": map[string]any{}, "secrets": map[string]any{}}
}

// Check compiles code against the env shape. asBool asks for a boolean
// result: an expression whose type is known and is not bool (1 + 2,
// "yes") is rejected; one whose type depends on the data is checked when
// it runs.
func Check(code string, asBool bool) error {
	if strings.TrimSpace(code) == "" {
		return fmt.Errorf("expression is empty")
	}
	opts := []expr.Option{expr.Env(checkEnv())}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	if _, err := expr.Compile(code, opts...); err != nil {
		return err
	}
	return nil
}

// Bool evaluates an if condition against env. A value that is not a
// boolean is an error: "truthy" strings are a classic source of
// surprises.
func Bool(code string, env map[string]any) (bool, error) {
	v, err := Eval(code, env)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %q gave %T %v, not true or false", code, v, v)
	}
	return b, nil
}

// Eval evaluates code against env.
func Eval(code string, env map[string]any) (any, error) {
	if strings.TrimSpace(code) == "" {
		return nil, fmt.Errorf("expression is empty")
	}
	prog, err := expr.Compile(code, expr.Env(env))
	if err != nil {
		return nil, err
	}
	return expr.Run(prog, env)
}

// Text is how a switch value is compared with the cases: strings as they
// are, integers without a fraction, booleans as true/false, nil as "".
func Text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		if v == float64(int64(v)) {
			return fmt.Sprintf("%d", int64(v))
		}
	}
	return fmt.Sprint(v)
}
