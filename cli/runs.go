package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"
)

func runsCommand() *Command {
	return &Command{
		Name:    "runs",
		Summary: "list the recent runs of the project in the current directory",
		Flags: func(fs *flag.FlagSet) func(context.Context, *Env, []string) error {
			dataDir := dataDirFlag(fs)
			project := fs.String("project", "", "project `directory` (default: the current directory)")
			limit := fs.Int("limit", 20, "how many runs, newest first (at most 200)")
			jsonOut := fs.Bool("json", false, "print the list as JSON")
			return func(ctx context.Context, env *Env, args []string) error {
				if len(args) > 0 {
					return UsageError(fmt.Errorf("runs takes no arguments, got %q", args))
				}
				if *limit <= 0 || *limit > 200 {
					return UsageError(errors.New("--limit must be between 1 and 200"))
				}
				dir, err := projectDir(*project)
				if err != nil {
					return err
				}
				dd, err := resolveDataDir(*dataDir)
				if err != nil {
					return err
				}
				return withTarget(ctx, env, dd, func(t target) error {
					return listRuns(ctx, env, t.api(), dir, *limit, *jsonOut)
				})
			}
		},
	}
}

// withTarget opens a passive target (no workers in-process: listing runs
// must not execute the queue) for fn and closes it.
func withTarget(ctx context.Context, env *Env, dataDir string, fn func(target) error) error {
	t, err := openTarget(ctx, env, dataDir, targetOptions{Passive: true})
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = t.close(cctx)
	}()
	return fn(t)
}

func listRuns(ctx context.Context, env *Env, a *api, dir string, limit int, jsonOut bool) error {
	p, err := findProject(ctx, a, dir)
	if err != nil {
		return err
	}
	if p == nil {
		if jsonOut {
			fmt.Fprintln(env.Stdout, `{"runs":[]}`)
			return nil
		}
		fmt.Fprintf(env.Stderr, "flowweaver: %s is not a project yet (it becomes one with its first `flowweaver run` or when opened in the app)\n", dir)
		return nil
	}
	raw, runs, err := a.listRuns(ctx, p.ID, limit)
	if err != nil {
		return err
	}
	if jsonOut {
		_, _ = env.Stdout.Write(append(raw, '\n'))
		return nil
	}
	if len(runs) == 0 {
		fmt.Fprintln(env.Stderr, "flowweaver: no runs yet")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tWORKFLOW\tSTATUS\tSTARTED\tDURATION")
	for _, r := range runs {
		started, dur := "-", "-"
		if r.StartedAt != nil {
			started = r.StartedAt.Local().Format("2006-01-02 15:04:05")
			end := time.Now()
			if r.FinishedAt != nil {
				end = *r.FinishedAt
			}
			dur = formatDuration(end.Sub(*r.StartedAt))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.WorkflowID, r.Status, started, dur)
	}
	return tw.Flush()
}

func logsCommand() *Command {
	return &Command{
		Name:    "logs",
		Args:    "[runId]",
		Summary: "print a run's logs (default: the project's latest run; --follow: then live until it ends)",
		Flags: func(fs *flag.FlagSet) func(context.Context, *Env, []string) error {
			dataDir := dataDirFlag(fs)
			project := fs.String("project", "", "project `directory` whose latest run to show when no run id is given (default: the current directory)")
			follow := fs.Bool("follow", false, "keep printing until the run ends")
			fs.BoolVar(follow, "f", false, "short for --follow")
			return func(ctx context.Context, env *Env, args []string) error {
				if len(args) > 1 {
					return UsageError(errors.New("logs takes at most one run id (see `flowweaver runs`)"))
				}
				dd, err := resolveDataDir(*dataDir)
				if err != nil {
					return err
				}
				runID := ""
				if len(args) == 1 {
					runID = args[0]
				}
				var dir string
				if runID == "" {
					if dir, err = projectDir(*project); err != nil {
						return err
					}
				}
				return withTarget(ctx, env, dd, func(t target) error {
					if runID == "" {
						if runID, err = latestRun(ctx, t.api(), dir); err != nil {
							return err
						}
					}
					return printLogs(ctx, env, t, runID, *follow)
				})
			}
		},
	}
}

// findProject returns the registered project of folder dir, or nil.
func findProject(ctx context.Context, a *api, dir string) (*project, error) {
	ps, err := a.projects(ctx)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		if canonicalPath(ps[i].Path) == dir {
			return &ps[i], nil
		}
	}
	return nil, nil
}

// latestRun is the newest run of the project in dir.
func latestRun(ctx context.Context, a *api, dir string) (string, error) {
	p, err := findProject(ctx, a, dir)
	if err != nil {
		return "", err
	}
	if p == nil {
		return "", fmt.Errorf("%s is not a project yet, so it has no runs", dir)
	}
	_, runs, err := a.listRuns(ctx, p.ID, 1)
	if err != nil {
		return "", err
	}
	if len(runs) == 0 {
		return "", fmt.Errorf("%s has no runs yet", dir)
	}
	return runs[0].ID, nil
}

// replayRun prints the events of run runID from the event log; since is
// the last one's seq, and ended tells whether the run's end was among them.
func replayRun(ctx context.Context, a *api, projectID, runID string, out handler) (since int64, ended bool, err error) {
	for {
		evs, err := a.events(ctx, projectID, "run:"+runID, since)
		if err != nil {
			return since, ended, err
		}
		for _, ev := range evs {
			since = max(since, ev.Seq)
			out.event(ev)
			ended = ended || endStatus(ev, runID) != ""
		}
		if len(evs) < 1000 {
			return since, ended, nil
		}
	}
}

// printLogs replays the run's events from the event log and, with follow,
// continues live over the project's socket from the last one replayed.
func printLogs(ctx context.Context, env *Env, t target, runID string, follow bool) error {
	a := t.api()
	run, _, err := a.run(ctx, runID)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return fmt.Errorf("run %s not found (see `flowweaver runs`)", runID)
	}
	if err != nil {
		return err
	}
	out := newPrinter(env, outputOptions{})
	since, ended, err := replayRun(ctx, a, run.ProjectID, runID, out)
	if err != nil {
		return err
	}
	// The run may have ended between the read of its status and the
	// replay: then the replay had its end, and nothing more will come.
	if follow && !terminal(run.Status) && !ended {
		if _, inproc := t.(*inProcess); inproc {
			out.notice(fmt.Sprintf("run %s is %s, but no flow weaver process runs this data dir; it continues when the app or `flowweaver serve` starts", runID, run.Status))
			return nil
		}
		out.start()
		f := &follower{t: t, projectID: run.ProjectID, runID: runID, h: out, since: since}
		err := f.run(ctx)
		out.stop()
		if ctx.Err() != nil {
			return &ExitError{Code: ExitInterrupted}
		}
		if err != nil {
			return err
		}
	}
	if run, _, err = t.api().run(context.WithoutCancel(ctx), runID); err == nil && terminal(run.Status) {
		out.summary(run)
	}
	return nil
}
