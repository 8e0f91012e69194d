package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/flowweaver/flowweaver/backend/datadir"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/secrets"
	"github.com/flowweaver/flowweaver/backend/store"
)

func secretsCommand() *Command {
	return &Command{
		Name:    "secrets",
		Args:    "set|list|rm [NAME]",
		Summary: "manage a project's secrets (set reads the value from stdin)",
		Flags: func(fs *flag.FlagSet) func(context.Context, *Env, []string) error {
			dataDir := dataDirFlag(fs)
			project := fs.String("project", "", "project `folder` (default: the current directory)")
			asJSON := fs.Bool("json", false, "list: print the listing as JSON")
			return func(ctx context.Context, env *Env, args []string) error {
				if len(args) == 0 {
					return UsageError(errors.New("secrets needs an action: set NAME, list or rm NAME"))
				}
				action, rest := args[0], args[1:]
				switch action {
				case "set", "rm":
					if len(rest) == 0 {
						return UsageError(fmt.Errorf("secrets %s needs a NAME", action))
					}
					if len(rest) > 1 {
						if action == "set" {
							return UsageError(errors.New("secrets set takes only NAME: the value is read from stdin, never from the command line (where shell history and ps would keep it)"))
						}
						return UsageError(fmt.Errorf("secrets rm takes one NAME, got %q", rest))
					}
					if err := secrets.CheckName(rest[0]); err != nil {
						return UsageError(errors.New(flow.ErrorMessage(err)))
					}
				case "list":
					if len(rest) > 0 {
						return UsageError(fmt.Errorf("secrets list takes no NAME, got %q", rest))
					}
				default:
					return UsageError(fmt.Errorf("unknown secrets action %q (use set, list or rm)", action))
				}
				dir, err := resolveDataDir(*dataDir)
				if err != nil {
					return err
				}
				folder, err := projectFolder(*project)
				if err != nil {
					return UsageError(err)
				}
				var value string
				if action == "set" {
					// Read before touching the data dir: a prompt must not hold a lock.
					if value, err = readSecretValue(env, rest[0]); err != nil {
						return err
					}
				}
				b, err := openSecretsBackend(ctx, dir)
				if err != nil {
					return err
				}
				defer b.close()
				pid, err := b.project(ctx, folder)
				if err != nil {
					return err
				}
				switch action {
				case "set":
					if err := b.set(ctx, pid, rest[0], value); err != nil {
						return err
					}
					fmt.Fprintf(env.Stderr, "secret %s set for %s\n", rest[0], folder)
				case "rm":
					if err := b.rm(ctx, pid, rest[0]); err != nil {
						return err
					}
					fmt.Fprintf(env.Stderr, "secret %s removed from %s\n", rest[0], folder)
				case "list":
					names, err := b.list(ctx, pid)
					if err != nil {
						return err
					}
					return printSecrets(env.Stdout, names, *asJSON)
				}
				return nil
			}
		},
	}
}

// projectFolder resolves --project (default the working directory) the way
// the server stores project paths: absolute, symlinks followed.
func projectFolder(p string) (string, error) {
	if p == "" {
		p = "."
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("--project %s: %w", p, err)
	}
	if st, err := os.Stat(real); err != nil || !st.IsDir() {
		return "", fmt.Errorf("--project %s is not a directory", p)
	}
	return real, nil
}

// readSecretValue reads the value from stdin: with a hidden prompt on a
// terminal, else all of it with one trailing newline removed (so
// `printf %s "$TOKEN" |` and `echo "$TOKEN" |` give the same value).
func readSecretValue(env *Env, name string) (string, error) {
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(env.Stderr, "value for %s (input hidden): ", name)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", fmt.Errorf("read the value: %w", err)
		}
		return string(b), secretValueError(string(b))
	}
	if env.Stdin == nil {
		return "", UsageError(errors.New("secrets set reads the value from stdin, and there is none"))
	}
	b, err := io.ReadAll(io.LimitReader(env.Stdin, secrets.MaxValueBytes+3))
	if err != nil {
		return "", fmt.Errorf("read the value from stdin: %w", err)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	return v, secretValueError(v)
}

func secretValueError(v string) error {
	if err := secrets.CheckValue(v); err != nil {
		return UsageError(fmt.Errorf("%s (the value is read from stdin)", flow.ErrorMessage(err)))
	}
	return nil
}

func printSecrets(w io.Writer, rep *secretsReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tUPDATED\tUSED BY")
	for _, s := range rep.Secrets {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.UpdatedAt.Local().Format("2006-01-02 15:04"), describeUses(s.UsedBy))
	}
	for _, m := range rep.Missing {
		fmt.Fprintf(tw, "%s\t(not set)\t%s\n", m.Name, describeUses(m.UsedBy))
	}
	return tw.Flush()
}

func describeUses(us []secrets.Use) string {
	if len(us) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(us))
	for _, u := range us {
		if u.Kind == "mcp" {
			parts = append(parts, "mcp "+u.Server+" ("+u.File+")")
		} else {
			parts = append(parts, u.WorkflowID+"/"+u.NodeID)
		}
	}
	return strings.Join(parts, ", ")
}

// secretsReport is the listing, as GET /api/projects/{id}/secrets returns it.
type secretsReport struct {
	Secrets []secrets.Status  `json:"secrets"`
	Missing []secrets.Missing `json:"missing"`
}

// secretsBackend is where the command writes: the running Flow Weaver that
// holds the data dir (through its API, so its MCP servers pick up the
// change), or the data dir itself when no process holds it.
type secretsBackend interface {
	project(ctx context.Context, folder string) (string, error)
	set(ctx context.Context, projectID, name, value string) error
	rm(ctx context.Context, projectID, name string) error
	list(ctx context.Context, projectID string) (*secretsReport, error)
	close()
}

func openSecretsBackend(ctx context.Context, dataDir string) (secretsBackend, error) {
	lock, err := datadir.Acquire(dataDir, "secrets")
	if err == nil {
		return openLocalSecrets(ctx, lock)
	}
	var held *datadir.LockedError
	if !errors.As(err, &held) {
		return nil, err
	}
	rt, rerr := datadir.ReadRuntime(dataDir)
	if rerr != nil || !datadir.Live(dataDir, rt) {
		return nil, held // an in-process run or a starting server: exit 4, naming it
	}
	tok, err := mintToken(dataDir, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	return &remoteSecrets{base: rt.URL, token: tok, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// localSecrets works on the data dir directly, under its lock.
type localSecrets struct {
	lock *datadir.Lock
	db   *store.DB
	svc  *secrets.Service
}

func openLocalSecrets(ctx context.Context, lock *datadir.Lock) (*localSecrets, error) {
	db, err := store.Open(ctx, filepath.Join(lock.Dir(), "flowweaver.db"), store.Options{})
	if err != nil {
		_ = lock.Release()
		return nil, fmt.Errorf("open database: %w", err)
	}
	svc, err := secrets.New(db, func(create bool) ([]byte, error) {
		find := secrets.FindKey
		if create {
			find = secrets.LoadKey
		}
		k, _, err := find(lock.Dir(), secrets.StoreAuto, nil)
		return k, err
	}, secrets.Options{
		// The command line only stores and lists: nothing is resolved.
		Trust: secrets.TrustFunc(func(context.Context, string) (bool, error) { return false, nil }),
	})
	if err != nil {
		_ = db.Close()
		_ = lock.Release()
		return nil, err
	}
	return &localSecrets{lock: lock, db: db, svc: svc}, nil
}

func (l *localSecrets) close() {
	_ = l.db.Close()
	_ = l.lock.Release()
}

// project returns the project opened on folder, registering it (untrusted,
// as opening a folder does) when it is not one yet.
func (l *localSecrets) project(ctx context.Context, folder string) (string, error) {
	p, err := l.db.ProjectByPath(ctx, folder)
	if err == nil {
		return p.ID, nil
	}
	if flow.ErrorCode(err) != flow.ENOTFOUND {
		return "", err
	}
	np := &flow.Project{ID: newProjectID(), Name: filepath.Base(folder), Path: folder}
	if err := l.db.CreateProject(ctx, np); err != nil {
		return "", err
	}
	return np.ID, nil
}

func (l *localSecrets) set(ctx context.Context, pid, name, value string) error {
	return l.svc.Set(ctx, pid, name, value)
}

func (l *localSecrets) rm(ctx context.Context, pid, name string) error {
	return l.svc.Delete(ctx, pid, name)
}

// list has no workflow service here, so uses are not computed.
func (l *localSecrets) list(ctx context.Context, pid string) (*secretsReport, error) {
	infos, err := l.svc.List(ctx, pid)
	if err != nil {
		return nil, err
	}
	st, missing := secrets.Report(infos, secrets.Uses{})
	return &secretsReport{Secrets: st, Missing: missing}, nil
}

// newProjectID makes an id in the server's format (p_ + 12 base32 letters).
func newProjectID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "p_" + string(b)
}

// remoteSecrets talks to the process holding the data dir.
type remoteSecrets struct {
	base, token string
	http        *http.Client
}

func (r *remoteSecrets) close() {}

func (r *remoteSecrets) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("flowweaver at %s: %w", r.base, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode >= 300 {
		var e struct{ Error, Message string }
		_ = json.Unmarshal(b, &e)
		if e.Message == "" {
			e.Message = strings.TrimSpace(string(b))
		}
		return &flow.Error{Code: e.Error, Message: e.Message}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (r *remoteSecrets) project(ctx context.Context, folder string) (string, error) {
	var p flow.Project
	if err := r.call(ctx, "POST", "/api/projects", map[string]any{"name": filepath.Base(folder), "path": folder}, &p); err != nil {
		return "", err
	}
	return p.ID, nil
}

func (r *remoteSecrets) set(ctx context.Context, pid, name, value string) error {
	return r.call(ctx, "PUT", "/api/projects/"+url.PathEscape(pid)+"/secrets/"+url.PathEscape(name), map[string]string{"value": value}, nil)
}

func (r *remoteSecrets) rm(ctx context.Context, pid, name string) error {
	return r.call(ctx, "DELETE", "/api/projects/"+url.PathEscape(pid)+"/secrets/"+url.PathEscape(name), nil, nil)
}

func (r *remoteSecrets) list(ctx context.Context, pid string) (*secretsReport, error) {
	var rep secretsReport
	err := r.call(ctx, "GET", "/api/projects/"+url.PathEscape(pid)+"/secrets", nil, &rep)
	return &rep, err
}
