package secrets

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// namePattern is what a secret name must match.
var namePattern = regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,63}$`)

// ValidName reports whether name is a valid secret name.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// CheckName returns a bad_request error for an invalid name.
func CheckName(name string) error {
	if !ValidName(name) {
		return flow.Errorf(flow.EINVALID, "secret name %q is invalid: use 1 to 64 of A-Z, 0-9 and _, not starting with a digit", name)
	}
	return nil
}

var (
	// refBlock finds {{ ... }} blocks, as the engine renders them.
	refBlock = regexp.MustCompile(`\{\{(.*?)\}\}`)
	// secretsIdent finds the identifier "secrets" that is not a field of
	// something else (nodes.a.output.secrets is an ordinary output field).
	secretsIdent = regexp.MustCompile(`(^|[^.\w])secrets\b`)
	// staticRef is the allowed way to name a secret after "secrets".
	staticRef = regexp.MustCompile(`^\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:"([^"]*)"|'([^']*)')\s*\])`)
	// configRef finds ${secret:NAME} in MCP config text.
	configRef = regexp.MustCompile(`\$\{secret:([^}]*)\}`)
)

// ParamRefs returns the secret names that params reference with
// {{ secrets.NAME }} (or secrets["NAME"]), sorted and unique. A secret
// picked by a computed name ({{ secrets[inputs.x] }}) is an error: which
// secrets a node can read must be visible in the workflow.
func ParamRefs(params map[string]any) ([]string, error) {
	set := map[string]bool{}
	if err := walkStrings(params, func(s string) error { return stringRefs(s, set) }); err != nil {
		return nil, err
	}
	return sortedKeys(set), nil
}

func stringRefs(s string, set map[string]bool) error {
	if !strings.Contains(s, "{{") || !strings.Contains(s, "secrets") {
		return nil
	}
	for _, blk := range refBlock.FindAllStringSubmatch(s, -1) {
		code := blk[1]
		for _, loc := range secretsIdent.FindAllStringSubmatchIndex(code, -1) {
			m := staticRef.FindStringSubmatch(code[loc[1]:])
			if m == nil {
				return flow.Errorf(flow.EINVALID, "reference {{%s}}: name a secret directly, as {{ secrets.NAME }}", code)
			}
			name := m[1] + m[2] + m[3]
			if err := CheckName(name); err != nil {
				return flow.Errorf(flow.EINVALID, "reference {{%s}}: %s", code, flow.ErrorMessage(err))
			}
			set[name] = true
		}
	}
	return nil
}

func walkStrings(v any, f func(string) error) error {
	switch v := v.(type) {
	case string:
		return f(v)
	case map[string]any:
		for _, x := range v {
			if err := walkStrings(x, f); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range v {
			if err := walkStrings(x, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// ConfigRefs returns the names referenced as ${secret:NAME} in text (an MCP
// config file or one server entry), sorted and unique.
func ConfigRefs(text string) []string {
	set := map[string]bool{}
	for _, m := range configRef.FindAllStringSubmatch(text, -1) {
		set[m[1]] = true
	}
	return sortedKeys(set)
}

func sortedKeys(set map[string]bool) []string {
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// MissingError is the error of a node or MCP server that references a
// secret the project does not have.
func MissingError(name string) error {
	return flow.Errorf(flow.EINVALID, "secret %s is not set in this project (add it in the Secrets panel or with `flowweaver secrets set %s`)", name, name)
}

// ErrUntrusted is returned instead of secret values for an untrusted project.
var ErrUntrusted = flow.Errorf(flow.EFORBIDDEN, "the project is not trusted: its secrets are not resolved")

// describe is used in error texts.
func describe(projectID, name string) string {
	return fmt.Sprintf("secret %s of project %s", name, projectID)
}
