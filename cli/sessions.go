package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/flowweaver/flowweaver/backend/datadir"
)

// sessionsCommand lists and signs out the browser sessions of the running
// server: `flowweaver sessions list`, `flowweaver sessions revoke ID...`
// and `flowweaver sessions revoke --all`.
func sessionsCommand() *Command {
	return &Command{
		Name:    "sessions",
		Args:    "list | revoke [--all] [ID...]",
		Summary: "list the browser sessions of the running server, or sign them out",
		Flags: func(fs *flag.FlagSet) func(context.Context, *Env, []string) error {
			dataDir := dataDirFlag(fs)
			all := fs.Bool("all", false, "revoke: sign out every browser session")
			jsonOut := fs.Bool("json", false, "list: print the sessions as JSON")
			return func(ctx context.Context, env *Env, args []string) error {
				if len(args) == 0 {
					return UsageError(fmt.Errorf("sessions needs list or revoke"))
				}
				dir, err := resolveDataDir(*dataDir)
				if err != nil {
					return err
				}
				switch args[0] {
				case "list":
					if len(args) > 1 || *all {
						return UsageError(fmt.Errorf("sessions list takes no arguments"))
					}
					a, err := serverAPI(dir)
					if err != nil {
						return err
					}
					return listSessions(ctx, env, a, *jsonOut)
				case "revoke":
					ids := args[1:]
					if *all == (len(ids) > 0) {
						return UsageError(fmt.Errorf("sessions revoke needs session ids or --all (not both)"))
					}
					a, err := serverAPI(dir)
					if err != nil {
						return err
					}
					return revokeSessions(ctx, env, a, ids, *all)
				}
				return UsageError(fmt.Errorf("unknown sessions action %q (want list or revoke)", args[0]))
			}
		},
	}
}

// serverAPI is a client of the process serving dir, with a token signed
// from the data dir's key. The CLI's token is no browser session, so
// "all others" is every browser session.
func serverAPI(dir string) (*api, error) {
	tok, err := existingToken(dir, time.Minute)
	if err != nil {
		return nil, err
	}
	rt, err := datadir.ReadRuntime(dir)
	if err != nil || !datadir.Live(dir, rt) {
		return nil, fmt.Errorf("no Flow Weaver server is running on %s: browser sessions are listed and signed out through it (start `flowweaver serve` or the app)", dir)
	}
	return &api{base: rt.URL, token: func() (string, error) { return tok, nil }, http: &http.Client{Timeout: 15 * time.Second}, who: rt.Kind, pid: rt.PID}, nil
}

type sessionRow struct {
	ID         string    `json:"id"`
	Device     string    `json:"device"`
	UserAgent  string    `json:"userAgent"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
}

func listSessions(ctx context.Context, env *Env, a *api, asJSON bool) error {
	var out struct {
		Sessions []sessionRow `json:"sessions"`
	}
	if err := a.do(ctx, http.MethodGet, "/api/auth/sessions", nil, &out); err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(out.Sessions)
	}
	if len(out.Sessions) == 0 {
		fmt.Fprintln(env.Stdout, "no browser sessions")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDEVICE\tCREATED\tLAST SEEN")
	for _, s := range out.Sessions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ID, s.Device, s.CreatedAt.Local().Format("2006-01-02 15:04"), s.LastSeenAt.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func revokeSessions(ctx context.Context, env *Env, a *api, ids []string, all bool) error {
	var out struct {
		Revoked []string `json:"revoked"`
	}
	if all {
		if err := a.do(ctx, http.MethodPost, "/api/auth/sessions/revoke-others", nil, &out); err != nil {
			return fmt.Errorf("revoke sessions: %w", err)
		}
		fmt.Fprintf(env.Stdout, "signed out %d browser session(s)\n", len(out.Revoked))
		return nil
	}
	for _, id := range ids {
		if err := a.do(ctx, http.MethodDelete, "/api/auth/sessions/"+url.PathEscape(id), nil, &out); err != nil {
			return fmt.Errorf("revoke session %s: %w", id, err)
		}
		fmt.Fprintf(env.Stdout, "signed out %s\n", id)
	}
	return nil
}
