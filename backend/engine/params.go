package engine

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/flowweaver/flowweaver/backend/flow"
)

// A param string may hold references {{ expr }}: expr is an
// expr-lang expression evaluated against the run env
// {"inputs": <run inputs>, "nodes": {"<nodeId>": {"output": <output>}}}.
// A string that is exactly one reference (spaces around allowed) takes the
// value with its type (number, object, ...); otherwise each reference is
// replaced by its text (strings as they are, other values as JSON).
var refPattern = regexp.MustCompile(`\{\{(.*?)\}\}`)

// resolveParams returns params with every reference resolved. Maps and
// lists are walked; params without "{{" are returned as they are.
func resolveParams(params map[string]any, env map[string]any) (map[string]any, error) {
	if !needsResolve(params) {
		return params, nil
	}
	out, err := resolveValue(params, env, "")
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

func needsResolve(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.Contains(v, "{{")
	case map[string]any:
		for _, x := range v {
			if needsResolve(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if needsResolve(x) {
				return true
			}
		}
	}
	return false
}

func resolveValue(v any, env map[string]any, path string) (any, error) {
	switch v := v.(type) {
	case string:
		return resolveString(v, env, path)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			r, err := resolveValue(x, env, joinPath(path, k))
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			r, err := resolveValue(x, env, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func resolveString(s string, env map[string]any, path string) (any, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	locs := refPattern.FindAllStringSubmatchIndex(s, -1)
	if len(locs) == 1 && locs[0][0] == 0 && locs[0][1] == len(s) {
		return evalRef(s[locs[0][2]:locs[0][3]], env, path)
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		b.WriteString(s[last:l[0]])
		v, err := evalRef(s[l[2]:l[3]], env, path)
		if err != nil {
			return nil, err
		}
		switch v := v.(type) {
		case string:
			b.WriteString(v)
		case nil:
		default:
			j, err := json.Marshal(v)
			if err != nil {
				return nil, flow.Errorf(flow.EINVALID, "param %s: {{%s}} is not printable: %v", path, s[l[2]:l[3]], err)
			}
			b.Write(j)
		}
		last = l[1]
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

func evalRef(code string, env map[string]any, path string) (any, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, flow.Errorf(flow.EINVALID, "param %s: empty reference {{ }}", path)
	}
	prog, err := expr.Compile(code, expr.Env(env))
	if err != nil {
		return nil, flow.Errorf(flow.EINVALID, "param %s: reference {{ %s }}: %v", path, code, err)
	}
	v, err := expr.Run(prog, env)
	if err != nil {
		return nil, flow.Errorf(flow.EINVALID, "param %s: reference {{ %s }}: %v", path, code, err)
	}
	return v, nil
}
