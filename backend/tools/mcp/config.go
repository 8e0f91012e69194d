package mcp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// configFile is one place a project can declare MCP servers. The order of
// configFiles is the precedence order: when two files declare a server with
// the same name, the earlier file wins and the later entry is reported as
// "ignored". .mcp.json comes first because it is the tool-neutral project
// file (Claude Code's); editor-specific files follow.
type configFile struct {
	Path    string  // relative to the project folder, slash separated
	Key     string  // the object holding the servers
	AltKey  string  // accepted as well, because people copy snippets between tools
	Dialect dialect // which ${...} forms the owning tool expands
}

var configFiles = []configFile{
	{Path: ".mcp.json", Key: "mcpServers", AltKey: "servers", Dialect: dialectClaude},
	{Path: ".cursor/mcp.json", Key: "mcpServers", AltKey: "servers", Dialect: dialectEditor},
	{Path: ".vscode/mcp.json", Key: "servers", AltKey: "mcpServers", Dialect: dialectEditor},
}

// Transport types of a server.
const (
	typeStdio = "stdio"
	typeHTTP  = "http"
	typeSSE   = "sse"
)

// serverConfig is one server after parsing and ${...} expansion. It is
// comparable with reflect.DeepEqual, which is how a reload decides whether a
// running server must be restarted.
type serverConfig struct {
	Name string
	File string // the config file it came from
	Type string // typeStdio, typeHTTP or typeSSE

	Command string
	Args    []string
	Env     map[string]string // overrides on top of the daemon's environment; "" value with Unset
	Unset   []string          // variables removed from the environment (VS Code's null)
	Cwd     string            // absolute

	URL     string
	Headers map[string]string

	TimeoutMs int64 // per-call timeout override, 0 = the source's default

	// Gate is set (to StatusUntrusted or StatusPending) when the trust
	// policy forbids starting the entry. Such a config was not expanded:
	// it holds only Name, File and Type.
	Gate string
}

// fileState is what was read from one config file.
type fileState struct {
	exists bool
	data   []byte
	err    string // read error, if any
}

// parsed is the merged result of all config files of a project.
type parsed struct {
	servers  map[string]*serverConfig // winners by name
	errs     map[string]error         // servers whose entry is unusable, by name
	fps      map[string]string        // fingerprint of each winner's entry, by name
	problems []ServerStatus           // file errors and ignored (shadowed) entries
}

// readConfigFiles reads every config file of the project folder.
func readConfigFiles(dir string) []fileState {
	out := make([]fileState, len(configFiles))
	for i, cf := range configFiles {
		b, err := readProjectFile(filepath.Join(dir, filepath.FromSlash(cf.Path)))
		switch {
		case err == nil:
			out[i] = fileState{exists: true, data: b}
		case errors.Is(err, os.ErrNotExist):
			out[i] = fileState{}
		default:
			out[i] = fileState{exists: true, err: err.Error()}
		}
	}
	return out
}

func sameFiles(a, b []fileState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].exists != b[i].exists || a[i].err != b[i].err || !bytes.Equal(a[i].data, b[i].data) {
			return false
		}
	}
	return true
}

// parseConfigs merges the files read by readConfigFiles. It never fails: a
// broken file or entry becomes a problem or a per-server error so the rest
// of the project's servers keep working.
func parseConfigs(dir string, files []fileState, env expandEnv, secret secretLookup) parsed {
	return parseGated(dir, files, env, secret, nil)
}

// gateFunc decides whether an entry may be expanded and started; "" allows
// it, otherwise it is the status the server gets (StatusUntrusted or
// StatusPending). A nil gateFunc allows everything.
type gateFunc func(file, server, fingerprint string) string

// parseGated is parseConfigs with the trust gate: an entry the gate holds
// back is not expanded at all (no ${VAR} or ${secret:NAME} of it is looked
// up), so a config of an untrusted folder cannot make the daemon read its
// environment or secrets.
func parseGated(dir string, files []fileState, env expandEnv, secret secretLookup, gate gateFunc) parsed {
	p := parsed{servers: map[string]*serverConfig{}, errs: map[string]error{}, fps: map[string]string{}}
	owner := map[string]string{} // server name -> file that won it
	for i, cf := range configFiles {
		fs := files[i]
		if !fs.exists {
			continue
		}
		if fs.err != "" {
			p.problems = append(p.problems, fileProblem(cf.Path, "cannot read: "+fs.err))
			continue
		}
		entries, err := decodeFile(cf, fs.data)
		if err != nil {
			p.problems = append(p.problems, fileProblem(cf.Path, err.Error()))
			continue
		}
		names := make([]string, 0, len(entries))
		for n := range entries {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			if prev, ok := owner[name]; ok {
				p.problems = append(p.problems, ServerStatus{
					Server: name, File: cf.Path, Status: StatusIgnored,
					Error: fmt.Sprintf("server %q is also defined in %s, which takes precedence", name, prev),
				})
				continue
			}
			owner[name] = cf.Path
			fp := entryFingerprint(dir, cf, name, entries[name])
			p.fps[name] = fp
			if gate != nil {
				if g := gate(cf.Path, name, fp); g != "" {
					p.servers[name] = &serverConfig{Name: name, File: cf.Path, Type: rawType(entries[name]), Gate: g}
					continue
				}
			}
			sc, err := buildServer(dir, cf, name, entries[name], env, secret)
			if err != nil {
				p.errs[name] = fmt.Errorf("%s: server %q: %w", cf.Path, name, err)
				p.servers[name] = &serverConfig{Name: name, File: cf.Path}
				continue
			}
			p.servers[name] = sc
		}
	}
	return p
}

func fileProblem(file, msg string) ServerStatus {
	return ServerStatus{File: file, Status: StatusFailed, Error: file + ": " + msg}
}

// decodeFile returns the raw server entries of one file. Comments and
// trailing commas are accepted (VS Code and Cursor write JSONC).
func decodeFile(cf configFile, data []byte) (map[string]json.RawMessage, error) {
	clean := stripJSONC(data)
	if len(bytes.TrimSpace(clean)) == 0 {
		return nil, nil // an empty file declares nothing
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(clean, &top); err != nil {
		return nil, jsonError(data, err)
	}
	raw, ok := top[cf.Key]
	if !ok {
		raw, ok = top[cf.AltKey]
	}
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("%q must be an object mapping server names to their settings", cf.Key)
	}
	return entries, nil
}

// jsonError turns a decoding error into "line L, column C: ..." so the user
// can find the mistake in the editor.
func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		l, c := lineCol(data, se.Offset-1) // Offset is just past the bad byte
		return fmt.Errorf("invalid JSON at line %d, column %d: %s", l, c, se.Error())
	case errors.As(err, &te):
		l, c := lineCol(data, te.Offset)
		return fmt.Errorf("line %d, column %d: expected a JSON object, got %s", l, c, te.Value)
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

func lineCol(data []byte, off int64) (line, col int) {
	off = max(0, min(off, int64(len(data))))
	line, col = 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// rawServer is the union of the fields the three tools use.
type rawServer struct {
	Type      string                     `json:"type"`
	Command   string                     `json:"command"`
	Args      []any                      `json:"args"`
	Env       map[string]json.RawMessage `json:"env"`
	EnvFile   string                     `json:"envFile"`
	Cwd       string                     `json:"cwd"`
	URL       string                     `json:"url"`
	Headers   map[string]string          `json:"headers"`
	TimeoutMs *float64                   `json:"timeout"`
}

func buildServer(dir string, cf configFile, name string, raw json.RawMessage, env expandEnv, secret secretLookup) (*serverConfig, error) {
	if name == "" || strings.ContainsAny(name, "/\n\r\t") {
		return nil, errors.New(`a server name must be non-empty and must not contain "/" or control characters`)
	}
	var rs rawServer
	if err := json.Unmarshal(raw, &rs); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, fmt.Errorf("field %q: expected %s, got %s", te.Field, jsonKind(te.Type), te.Value)
		}
		return nil, fmt.Errorf("expected an object: %v", err)
	}
	x := expander{dialect: cf.Dialect, dir: dir, env: env, secret: secret}
	sc := &serverConfig{Name: name, File: cf.Path}
	switch strings.ToLower(rs.Type) {
	case "":
		switch {
		case rs.Command != "":
			sc.Type = typeStdio
		case rs.URL != "":
			sc.Type = typeHTTP
		default:
			return nil, errors.New(`needs either "command" (stdio) or "url" (HTTP)`)
		}
	case "stdio":
		sc.Type = typeStdio
	case "http", "streamable-http", "streamablehttp", "streamable_http":
		sc.Type = typeHTTP
	case "sse":
		sc.Type = typeSSE
	default:
		return nil, fmt.Errorf("unknown type %q (use \"stdio\", \"http\" or \"sse\")", rs.Type)
	}
	if rs.TimeoutMs != nil {
		if *rs.TimeoutMs <= 0 {
			return nil, errors.New(`"timeout" must be a positive number of milliseconds`)
		}
		sc.TimeoutMs = int64(*rs.TimeoutMs)
	}
	var err error
	if sc.Type == typeStdio {
		if rs.Command == "" {
			return nil, errors.New(`a stdio server needs "command"`)
		}
		if sc.Command, err = x.expand("command", rs.Command); err != nil {
			return nil, err
		}
		for i, a := range rs.Args {
			s, ok := scalarString(a)
			if !ok {
				return nil, fmt.Errorf("args[%d] must be a string", i)
			}
			if s, err = x.expand(fmt.Sprintf("args[%d]", i), s); err != nil {
				return nil, err
			}
			sc.Args = append(sc.Args, s)
		}
		sc.Env = map[string]string{}
		if rs.EnvFile != "" {
			p, err := x.expand("envFile", rs.EnvFile)
			if err != nil {
				return nil, err
			}
			if err := readEnvFile(absPath(dir, p), sc.Env); err != nil {
				return nil, err
			}
		}
		keys := make([]string, 0, len(rs.Env))
		for k := range rs.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var v any
			if err := json.Unmarshal(rs.Env[k], &v); err != nil {
				return nil, fmt.Errorf("env %q: %v", k, err)
			}
			if v == nil {
				sc.Unset = append(sc.Unset, k)
				delete(sc.Env, k)
				continue
			}
			s, ok := scalarString(v)
			if !ok {
				return nil, fmt.Errorf("env %q must be a string", k)
			}
			if sc.Env[k], err = x.expand("env "+k, s); err != nil {
				return nil, err
			}
		}
		cwd := rs.Cwd
		if cwd != "" {
			if cwd, err = x.expand("cwd", cwd); err != nil {
				return nil, err
			}
		}
		sc.Cwd = absPath(dir, cwd)
		return sc, nil
	}
	if rs.URL == "" {
		return nil, fmt.Errorf("a %s server needs \"url\"", sc.Type)
	}
	if sc.URL, err = x.expand("url", rs.URL); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(sc.URL, "http://") && !strings.HasPrefix(sc.URL, "https://") {
		return nil, fmt.Errorf("url %q must start with http:// or https://", sc.URL)
	}
	sc.Headers = map[string]string{}
	for k, v := range rs.Headers {
		if sc.Headers[k], err = x.expand("headers "+k, v); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// jsonKind names a Go type the way a JSON author thinks of it.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Interface:
		return "a value"
	}
	return "a number"
}

func scalarString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}

func absPath(dir, p string) string {
	if p == "" {
		return dir
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// readEnvFile reads KEY=VALUE lines (dotenv: # comments, optional "export ",
// optional matching quotes) into env.
func readEnvFile(path string, env map[string]string) error {
	b, err := readProjectFile(path)
	if err != nil {
		return fmt.Errorf("envFile: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("envFile %s: line %d: expected KEY=VALUE", path, n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[strings.TrimSpace(k)] = v
	}
	return nil
}

// stripJSONC blanks out // and /* */ comments and trailing commas outside
// strings. It replaces them with spaces (keeping newlines) so offsets in
// decoding errors still point at the right line and column of the file.
func stripJSONC(in []byte) []byte {
	out := bytes.Clone(in)
	inStr, esc := false, false
	lastSig := -1 // index of the last significant byte outside comments
	for i := 0; i < len(out); i++ {
		c := out[i]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			lastSig = i
			continue
		}
		switch {
		case c == '"':
			inStr = true
			lastSig = i
		case c == '/' && i+1 < len(out) && out[i+1] == '/':
			for ; i < len(out) && out[i] != '\n'; i++ {
				out[i] = ' '
			}
		case c == '/' && i+1 < len(out) && out[i+1] == '*':
			j := i
			for ; j < len(out) && !(out[j] == '*' && j+1 < len(out) && out[j+1] == '/'); j++ {
				if out[j] != '\n' {
					out[j] = ' '
				}
			}
			if j < len(out) {
				out[j] = ' '
				if j+1 < len(out) {
					out[j+1] = ' '
				}
			}
			i = j + 1
		case c == '}' || c == ']':
			if lastSig >= 0 && out[lastSig] == ',' {
				out[lastSig] = ' '
			}
			lastSig = i
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			lastSig = i
		}
	}
	return out
}

func equalConfig(a, b *serverConfig) bool { return reflect.DeepEqual(a, b) }

// secretRefPattern finds ${secret:NAME} in config text.
var secretRefPattern = regexp.MustCompile(`\$\{secret:([^}]*)\}`)

// SecretRef is one ${secret:NAME} reference of a configured server.
type SecretRef struct {
	Name   string
	Server string
	File   string // config file, relative to the project folder
}

// SecretRefs lists the ${secret:NAME} references of every server entry in
// the project folder's config files, without expanding anything (so it is
// safe for untrusted projects).
func SecretRefs(dir string) []SecretRef {
	var out []SecretRef
	files := readConfigFiles(dir)
	for i, cf := range configFiles {
		fs := files[i]
		if !fs.exists || fs.err != "" {
			continue
		}
		entries, err := decodeFile(cf, fs.data)
		if err != nil {
			continue
		}
		names := make([]string, 0, len(entries))
		for n := range entries {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			seen := map[string]bool{}
			for _, m := range secretRefPattern.FindAllStringSubmatch(string(entries[n]), -1) {
				if !seen[m[1]] {
					seen[m[1]] = true
					out = append(out, SecretRef{Name: m[1], Server: n, File: cf.Path})
				}
			}
		}
	}
	return out
}
