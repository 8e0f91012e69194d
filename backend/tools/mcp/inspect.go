package mcp

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sort"
	"strings"
)

// Preview is one configured MCP server as the trust review shows it: what
// would run, exactly as the config file says it, with nothing expanded and
// nothing started. It is what the user consents to.
type Preview struct {
	Server string `json:"server"`
	File   string `json:"file"`
	Type   string `json:"type,omitempty"` // stdio, http or sse ("" when the entry is unusable)
	// Command and Args are the stdio command line as written (${...} kept).
	Command string   `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	Cwd     string   `json:"cwd,omitempty"`
	// URL is the http/sse endpoint as written.
	URL string `json:"url,omitempty"`
	// Env lists the names of the environment variables the entry sets for
	// the server (its "env" object and the keys of its envFile).
	Env     []string `json:"env,omitempty"`
	EnvFile string   `json:"envFile,omitempty"`
	// Headers lists the names of the HTTP headers the entry sends.
	Headers []string `json:"headers,omitempty"`
	// Variables lists the environment variables of the user that the entry
	// reads through ${...} (for example GITHUB_TOKEN of ${env:GITHUB_TOKEN}):
	// their values would go into the command line, the URL or the headers.
	Variables []string `json:"variables,omitempty"`
	// Secrets lists the project secrets the entry receives through
	// ${secret:NAME} (names only).
	Secrets []string `json:"secrets,omitempty"`
	// InheritsEnvironment: a stdio server is started with the whole
	// environment of Flow Weaver (plus Env).
	InheritsEnvironment bool `json:"inheritsEnvironment,omitempty"`
	// Fingerprint identifies the entry's content; approving an entry
	// approves this fingerprint.
	Fingerprint string `json:"fingerprint"`
	// Error says why the entry cannot be read (it would not start either).
	Error string `json:"error,omitempty"`
}

// Inspect reads the MCP config files of a project folder and describes
// every server entry that would be used (shadowed entries are left out),
// in precedence order. It expands nothing, starts nothing and reads no
// environment variable, so it is safe on a folder nobody trusts yet.
// Broken files are returned as problems (Server "").
func Inspect(dir string) (servers []Preview, problems []ServerStatus) {
	files := readConfigFiles(dir)
	owner := map[string]bool{}
	for i, cf := range configFiles {
		fs := files[i]
		if !fs.exists {
			continue
		}
		if fs.err != "" {
			problems = append(problems, fileProblem(cf.Path, "cannot read: "+fs.err))
			continue
		}
		entries, err := decodeFile(cf, fs.data)
		if err != nil {
			problems = append(problems, fileProblem(cf.Path, err.Error()))
			continue
		}
		names := make([]string, 0, len(entries))
		for n := range entries {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			if owner[name] {
				continue
			}
			owner[name] = true
			servers = append(servers, preview(dir, cf, name, entries[name]))
		}
	}
	return servers, problems
}

func preview(dir string, cf configFile, name string, raw json.RawMessage) Preview {
	pv := Preview{Server: name, File: cf.Path, Fingerprint: entryFingerprint(dir, cf, name, raw)}
	var rs rawServer
	if err := json.Unmarshal(raw, &rs); err != nil {
		pv.Error = "the entry is not a valid server object: " + err.Error()
		return pv
	}
	pv.Type = rawType(raw)
	vars := map[string]bool{}
	scan := func(s string) { referencedVars(cf.Dialect, s, vars) }
	if pv.Type == typeStdio {
		pv.Command, pv.Cwd, pv.EnvFile = rs.Command, rs.Cwd, rs.EnvFile
		pv.InheritsEnvironment = true
		scan(rs.Command)
		scan(rs.Cwd)
		scan(rs.EnvFile)
		for _, a := range rs.Args {
			s, _ := scalarString(a)
			pv.Args = append(pv.Args, s)
			scan(s)
		}
		env := map[string]bool{}
		for k, v := range rs.Env {
			env[k] = true
			var s string
			if json.Unmarshal(v, &s) == nil {
				scan(s)
			}
		}
		if path, ok := literalPath(dir, cf, rs.EnvFile); ok && rs.EnvFile != "" {
			for _, k := range envFileKeys(path) {
				env[k] = true
			}
		}
		pv.Env = sortedKeys(env)
	} else {
		pv.URL = rs.URL
		scan(rs.URL)
		hs := map[string]bool{}
		for k, v := range rs.Headers {
			hs[k] = true
			scan(v)
		}
		pv.Headers = sortedKeys(hs)
	}
	pv.Variables = sortedKeys(vars)
	for _, m := range secretRefPattern.FindAllStringSubmatch(string(raw), -1) {
		if !slices.Contains(pv.Secrets, m[1]) {
			pv.Secrets = append(pv.Secrets, m[1])
		}
	}
	slices.Sort(pv.Secrets)
	return pv
}

// rawType is the transport of an entry, decided without expanding it
// ("" when the entry says nothing usable).
func rawType(raw json.RawMessage) string {
	var rs rawServer
	if json.Unmarshal(raw, &rs) != nil {
		return ""
	}
	switch strings.ToLower(rs.Type) {
	case "":
		switch {
		case rs.Command != "":
			return typeStdio
		case rs.URL != "":
			return typeHTTP
		}
	case "stdio":
		return typeStdio
	case "http", "streamable-http", "streamablehttp", "streamable_http":
		return typeHTTP
	case "sse":
		return typeSSE
	}
	return ""
}

// entryFingerprint identifies what an entry would run: its file, its name,
// its content with formatting and comments normalised away (JSON re-encoded
// with sorted keys), and the content of its envFile when the path names a
// file without consulting the environment. Anything that changes what the
// server runs or receives changes the fingerprint, so an edited entry needs
// a new approval; re-indenting the file does not.
func entryFingerprint(dir string, cf configFile, name string, raw json.RawMessage) string {
	h := sha256.New()
	canon := []byte(raw)
	var v any
	if json.Unmarshal(raw, &v) == nil {
		if b, err := json.Marshal(v); err == nil {
			canon = b
		}
	}
	writeField := func(b []byte) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	writeField([]byte(cf.Path))
	writeField([]byte(name))
	writeField(canon)
	var rs rawServer
	if json.Unmarshal(raw, &rs) == nil && rs.EnvFile != "" {
		if path, ok := literalPath(dir, cf, rs.EnvFile); ok {
			b, err := readProjectFile(path)
			if err != nil {
				b = []byte("unreadable: " + err.Error())
			}
			writeField(b)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// literalPath resolves a path field using only the variables that depend
// on the project folder (${workspaceFolder} and friends), never the
// environment; ok is false when the path needs anything else.
func literalPath(dir string, cf configFile, p string) (string, bool) {
	x := expander{dialect: cf.Dialect, dir: dir, env: func(string) (string, bool) { return "", false }}
	if strings.Contains(p, "${") {
		vars := map[string]bool{}
		referencedVars(cf.Dialect, p, vars)
		if len(vars) > 0 {
			return "", false
		}
	}
	out, err := x.expand("envFile", p)
	if err != nil {
		return "", false
	}
	return absPath(dir, out), true
}

// referencedVars adds the environment variables that s reads through
// ${...} to vars. Folder variables (${workspaceFolder}, ${/}, ...) read no
// environment and are left out; ${userHome} reads HOME.
func referencedVars(d dialect, s string, vars map[string]bool) {
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			return
		}
		start := i + j + 2
		end := matchBrace(s, start)
		if end < 0 {
			return
		}
		body := s[start:end]
		i = end + 1
		if d == dialectEditor {
			switch body {
			case "workspaceFolder", "workspaceRoot", "workspaceFolderBasename", "pathSeparator", "/":
				continue
			case "userHome":
				vars["HOME"] = true
				continue
			}
			if name, ok := strings.CutPrefix(body, "env:"); ok {
				if name != "" {
					vars[name] = true
				}
				continue
			}
		}
		name, def, hasDef := strings.Cut(body, ":-")
		if validVarName(name) {
			vars[name] = true
		}
		if hasDef {
			referencedVars(d, def, vars)
		}
	}
}

// envFileKeys returns the variable names an env file sets (values unread).
func envFileKeys(path string) []string {
	b, err := readProjectFile(path)
	if err != nil {
		return nil
	}
	var keys []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		if k, _, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) != "" {
			keys = append(keys, strings.TrimSpace(k))
		}
	}
	return keys
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
