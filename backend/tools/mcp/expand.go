package mcp

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// dialect says which ${...} forms a config file's owning tool expands.
type dialect int

const (
	// dialectClaude is .mcp.json (Claude Code): ${VAR} and ${VAR:-default}.
	dialectClaude dialect = iota
	// dialectEditor is .cursor/mcp.json and .vscode/mcp.json: the editors'
	// ${env:VAR}, ${workspaceFolder}, ${workspaceFolderBasename},
	// ${userHome}, ${pathSeparator} and ${/}, plus ${VAR} and
	// ${VAR:-default} so one snippet works in every file.
	dialectEditor
)

// expandEnv looks a variable up in the daemon's environment.
type expandEnv func(name string) (string, bool)

// secretLookup returns the value of one of the project's secrets
// (${secret:NAME}); nil means the project has none to give.
type secretLookup func(name string) (string, error)

type expander struct {
	dialect dialect
	dir     string // the project folder (${workspaceFolder})
	env     expandEnv
	secret  secretLookup
}

// expand replaces every ${...} in s. A variable that is unset and has no
// default is an error naming the field, rather than an empty string that
// would start a server with a silently broken argument. A lone "$" or
// "$VAR" is literal, as in Claude Code.
func (x expander) expand(field, s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j])
		start := i + j + 2
		end := matchBrace(s, start)
		if end < 0 {
			return "", fmt.Errorf("%s: unterminated \"${\" in %q", field, s)
		}
		v, err := x.variable(field, s[start:end])
		if err != nil {
			return "", err
		}
		b.WriteString(v)
		i = end + 1
	}
	return b.String(), nil
}

// matchBrace returns the index of the "}" closing the "${" whose body starts
// at start, allowing nested ${...} in a default.
func matchBrace(s string, start int) int {
	depth := 1
	for i := start; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func (x expander) variable(field, body string) (string, error) {
	// ${secret:NAME} works in every file: a cloned config names a secret of
	// the project without containing it.
	if name, ok := strings.CutPrefix(body, "secret:"); ok {
		if x.secret == nil {
			return "", fmt.Errorf("%s: ${secret:%s}: secrets are not available", field, name)
		}
		v, err := x.secret(name)
		if err != nil {
			return "", fmt.Errorf("%s: ${secret:%s}: %s", field, name, flow.ErrorMessage(err))
		}
		return v, nil
	}
	if x.dialect == dialectEditor {
		switch body {
		case "workspaceFolder", "workspaceRoot":
			return x.dir, nil
		case "workspaceFolderBasename":
			return filepath.Base(x.dir), nil
		case "userHome":
			if h, ok := x.env("HOME"); ok && h != "" {
				return h, nil
			}
			if h, ok := x.env("USERPROFILE"); ok && h != "" {
				return h, nil
			}
			return "", fmt.Errorf("%s: ${userHome}: HOME is not set", field)
		case "pathSeparator", "/":
			return string(filepath.Separator), nil
		}
		if name, ok := strings.CutPrefix(body, "env:"); ok {
			v, _ := x.env(name) // VS Code and Cursor expand an unset variable to ""
			return v, nil
		}
		if strings.HasPrefix(body, "input:") {
			return "", fmt.Errorf("%s: ${%s}: input variables need an editor prompt; set an environment variable and use ${env:NAME} instead", field, body)
		}
		if strings.Contains(body, ":") && !strings.Contains(body, ":-") {
			return "", fmt.Errorf("%s: ${%s} is not supported here", field, body)
		}
	}
	name, def, hasDef := strings.Cut(body, ":-")
	if !validVarName(name) {
		return "", fmt.Errorf("%s: ${%s} is not a valid variable reference", field, body)
	}
	if v, ok := x.env(name); ok && (v != "" || !hasDef) {
		return v, nil
	}
	if hasDef {
		return x.expand(field, def)
	}
	return "", fmt.Errorf("%s: environment variable %s is not set (write ${%s:-default} to give a default)", field, name, name)
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		ok := c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return false
		}
	}
	return true
}
