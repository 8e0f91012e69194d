package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// workflowIDRe is the id rule of workflows and nodes.
var workflowIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// runOptions are the parsed flags of `flowweaver run`.
type runOptions struct {
	dataDir    string
	projectDir string
	workflowID string
	inputs     map[string]any
	json       bool
	trust      bool
	detach     bool
}

func runCommand() *Command {
	return &Command{
		Name:    "run",
		Args:    "<workflowId>",
		Summary: "run a workflow of the project in the current directory (handed to the running app, if any)",
		Flags: func(fs *flag.FlagSet) func(context.Context, *Env, []string) error {
			dataDir := dataDirFlag(fs)
			project := fs.String("project", "", "project `directory` (default: the current directory)")
			var inputs stringList
			fs.Var(&inputs, "input", "input `key=value`, read by {{ inputs.key }} (repeatable; a string, converted to the type the workflow declares)")
			inputsJSON := fs.String("inputs-json", "", "inputs as a JSON `object` (--input values override its keys)")
			jsonOut := fs.Bool("json", false, "print only the final run as JSON on stdout")
			trust := fs.Bool("trust", false, "trust the project (consent to run what its folder brings) before running")
			detach := fs.Bool("detach", false, "print the run id once the run is queued and exit 0")
			return func(ctx context.Context, env *Env, args []string) error {
				opts, err := parseRunArgs(*dataDir, *project, inputs, *inputsJSON, args)
				if err != nil {
					return err
				}
				opts.json, opts.trust, opts.detach = *jsonOut, *trust, *detach
				return runWorkflow(ctx, env, opts)
			}
		},
		Complete: completeWorkflowIDs,
	}
}

func parseRunArgs(dataDir, project string, inputs []string, inputsJSON string, args []string) (*runOptions, error) {
	if len(args) != 1 {
		return nil, UsageError(fmt.Errorf("run needs exactly one workflow id, got %d arguments (see `flowweaver help run`)", len(args)))
	}
	if !workflowIDRe.MatchString(args[0]) {
		return nil, UsageError(fmt.Errorf("%q is not a workflow id (letters, digits, _ and -, at most 64)", args[0]))
	}
	dir, err := projectDir(project)
	if err != nil {
		return nil, err
	}
	in := map[string]any{}
	if inputsJSON != "" {
		if err := json.Unmarshal([]byte(inputsJSON), &in); err != nil || in == nil {
			return nil, UsageError(fmt.Errorf("--inputs-json must be a JSON object: %v", err))
		}
	}
	for _, kv := range inputs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, UsageError(fmt.Errorf("--input %q: want key=value", kv))
		}
		in[k] = v
	}
	dd, err := resolveDataDir(dataDir)
	if err != nil {
		return nil, err
	}
	return &runOptions{dataDir: dd, projectDir: dir, workflowID: args[0], inputs: in}, nil
}

// projectDir is --project (default the working directory), absolute and
// with symlinks resolved, so the same folder is always the same project.
func projectDir(flagValue string) (string, error) {
	dir := flagValue
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		dir = wd
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", UsageError(fmt.Errorf("--project %q: %w", dir, err))
	}
	st, err := os.Stat(abs)
	if err != nil || !st.IsDir() {
		return "", UsageError(fmt.Errorf("--project %s is not a directory", abs))
	}
	return canonicalPath(abs), nil
}

func canonicalPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}

// workflowFile is where a project keeps workflow id.
func workflowFile(projectDir, id string) string {
	return filepath.Join(projectDir, ".flowweaver", "workflows", id+".json")
}

// localWorkflowIDs lists the workflow files of a project folder.
func localWorkflowIDs(projectDir string) []string {
	ents, _ := os.ReadDir(filepath.Join(projectDir, ".flowweaver", "workflows"))
	var ids []string
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() && workflowIDRe.MatchString(id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func runWorkflow(ctx context.Context, env *Env, opts *runOptions) error {
	if _, err := os.Stat(workflowFile(opts.projectDir, opts.workflowID)); err != nil {
		msg := fmt.Sprintf("workflow %q not found: no %s", opts.workflowID, workflowFile(opts.projectDir, opts.workflowID))
		if ids := localWorkflowIDs(opts.projectDir); len(ids) > 0 {
			msg += " (this project has: " + strings.Join(ids, ", ") + ")"
		}
		return &ExitError{Code: ExitUsage, Err: errors.New(msg)}
	}
	t, err := openTarget(ctx, env, opts.dataDir, targetOptions{})
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := t.close(cctx); err != nil {
			fmt.Fprintln(env.Stderr, "flowweaver: stop:", err)
		}
	}()
	return (&runner{env: env, t: t, opts: opts}).run(ctx)
}

// runner carries one `flowweaver run` through its steps against a target.
type runner struct {
	env  *Env
	t    target
	opts *runOptions
	out  *printer
}

func (r *runner) run(ctx context.Context) error {
	a := r.t.api()
	p, err := r.project(ctx, a)
	if err != nil {
		return err
	}
	runID, err := a.startRun(ctx, p.ID, r.opts.workflowID, r.opts.inputs)
	if err != nil {
		return startError(r.opts, err)
	}
	if r.opts.detach {
		return r.detached(ctx, a, runID)
	}
	r.out = newPrinter(r.env, outputOptions{quiet: r.opts.json})
	r.out.start()
	defer r.out.stop()

	f := &follower{t: r.t, projectID: p.ID, runID: runID, h: r.out}
	ferr := f.run(ctx)
	interrupted := ctx.Err() != nil
	if interrupted {
		r.interrupt(f, runID)
	} else if ferr != nil {
		return fmt.Errorf("%w (run %s keeps going in %s; see `flowweaver logs %s --follow`)", ferr, runID, r.t.describe(), runID)
	}
	return r.finish(runID, interrupted)
}

// interrupt handles Ctrl-C: cancel the run through the API, then follow
// it until it has ended (a second Ctrl-C quits at once).
func (r *runner) interrupt(f *follower, runID string) {
	r.env.RestoreSignals()
	r.out.notice(fmt.Sprintf("interrupted: canceling run %s (Ctrl-C again to quit now)", runID))
	cctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.t.api().cancelRun(cctx, runID); err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status != http.StatusConflict {
			r.out.notice("cancel: " + err.Error())
		}
	}
	if err := f.run(cctx); err != nil {
		r.out.notice("waiting for the cancellation: " + err.Error())
	}
}

// finish prints the final run (--json) or the summary and maps its status
// to the exit status.
func (r *runner) finish(runID string, interrupted bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, raw, err := r.t.api().run(ctx, runID)
	if err != nil {
		if interrupted {
			return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("interrupted; the state of run %s is unknown: %w", runID, err)}
		}
		return err
	}
	r.out.stop()
	if r.opts.json {
		_, _ = r.env.Stdout.Write(append(raw, '\n'))
	} else {
		r.out.summary(run)
	}
	switch {
	case interrupted:
		return &ExitError{Code: ExitInterrupted}
	case run.Status == "succeeded":
		return nil
	}
	return &ExitError{Code: ExitFailed}
}

func (r *runner) detached(ctx context.Context, a *api, runID string) error {
	if _, inproc := r.t.(*inProcess); inproc && !r.opts.json {
		fmt.Fprintf(r.env.Stderr, "flowweaver: no flow weaver process runs this data dir, so run %s waits in the queue until the app or `flowweaver serve` starts\n", runID)
	}
	if !r.opts.json {
		fmt.Fprintln(r.env.Stdout, runID)
		return nil
	}
	_, raw, err := a.run(ctx, runID)
	if err != nil {
		return err
	}
	_, _ = r.env.Stdout.Write(append(raw, '\n'))
	return nil
}

// startError maps a refused start to the exit status: a missing or
// invalid workflow is the caller's to fix (2, with every problem listed).
func startError(opts *runOptions, err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	switch {
	case ae.Status == http.StatusNotFound:
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("workflow %q: %s", opts.workflowID, ae.Message)}
	case ae.Status == http.StatusBadRequest && inputProblems(ae.Problems):
		var b strings.Builder
		fmt.Fprintf(&b, "workflow %q: invalid inputs:", opts.workflowID)
		for _, p := range ae.Problems {
			b.WriteString("\n  - " + p.String())
		}
		return &ExitError{Code: ExitUsage, Err: errors.New(b.String())}
	case ae.Status == http.StatusBadRequest:
		var b strings.Builder
		fmt.Fprintf(&b, "workflow %q is invalid: %s", opts.workflowID, ae.Message)
		for _, p := range ae.Problems {
			b.WriteString("\n  - " + p.String())
		}
		return &ExitError{Code: ExitUsage, Err: errors.New(b.String())}
	case ae.Code == "untrusted":
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("project %s is not trusted: %s; run with --trust to trust it", opts.projectDir, ae.Message)}
	}
	return err
}

// inputProblems reports whether a refused start is about the given
// inputs (every problem names an inputs.<name> field), not the workflow.
func inputProblems(probs []problem) bool {
	for _, p := range probs {
		if !strings.HasPrefix(p.Field, "inputs.") || strings.HasPrefix(p.Field, "inputs.properties") {
			return false
		}
	}
	return len(probs) > 0
}

// project finds the project of the folder (registering it if needed) and
// makes sure it is trusted: with --trust, or the user's yes on a terminal.
func (r *runner) project(ctx context.Context, a *api) (*project, error) {
	p, err := findProject(ctx, a, r.opts.projectDir)
	if err != nil {
		return nil, err
	}
	if p != nil && (p.Trusted == nil || *p.Trusted) {
		return p, nil // trusted, or a server without trust
	}
	if !r.opts.trust && !r.interactive() {
		return nil, untrusted(r.opts.projectDir)
	}
	if p == nil {
		// Registered untrusted first (as opening the folder in the app
		// does): the server can then say what trusting it would allow.
		if p, err = a.createProject(ctx, filepath.Base(r.opts.projectDir), r.opts.projectDir, r.opts.trust); err != nil {
			return nil, fmt.Errorf("register project %s: %w", r.opts.projectDir, err)
		}
		if p.Trusted == nil || *p.Trusted {
			return p, nil
		}
	}
	if !r.opts.trust {
		if err := r.ask(ctx, a, p); err != nil {
			return nil, err
		}
	}
	if p, err = a.setTrust(ctx, p.ID, true); err != nil {
		return nil, fmt.Errorf("trust project %s: %w", r.opts.projectDir, err)
	}
	return p, nil
}

// interactive: there is a terminal to ask on.
func (r *runner) interactive() bool { return isTerminal(r.env.Stdin) && isTerminal(r.env.Stderr) }

// ask shows what trusting the project allows (from the server's trust
// review: workflow commands, MCP server command lines, URLs and the
// environment they receive) and asks y/N on the terminal. Anything but
// yes is no.
func (r *runner) ask(ctx context.Context, a *api, p *project) error {
	w := r.env.Stderr
	fmt.Fprintf(w, "flowweaver: %s is not trusted. Trusting it lets Flow Weaver run what the folder brings:\n", r.opts.projectDir)
	if rv, err := a.trustReview(ctx, p.ID); err == nil {
		printReview(w, rv)
	} else {
		fmt.Fprintf(w, "  (its workflows' commands and the MCP servers it configures)\n")
	}
	fmt.Fprintf(w, "Trust this folder and run %q? [y/N] ", r.opts.workflowID)
	answer := make(chan string, 1)
	go func() { // abandoned on Ctrl-C; the process exits right after
		line, _ := bufio.NewReader(r.env.Stdin).ReadString('\n')
		answer <- line
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(w)
		return &ExitError{Code: ExitInterrupted}
	case line := <-answer:
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return nil
		}
	}
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf("not trusted; nothing was run")}
}

func untrusted(dir string) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf("project %s is not trusted, so its workflows do not run; pass --trust to trust it (or trust it in the app)", dir)}
}
