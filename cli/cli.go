// Package cli is Flow Weaver's command line: the table of subcommands,
// their flag parsing, help, exit codes and shell completion. main.go only
// hands it the process's arguments and standard streams.
//
// Adding a subcommand is one Command value in commands() and one file
// with its Flags function; help and completion pick it up from there.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Env is the world a command runs in: its streams, the build's version
// and, in desktop builds, the desktop entry point. Tests fill it with
// buffers.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Version is the build's version string.
	Version string
	// Desktop opens the desktop window (no subcommand). It lives in
	// package main because only desktop builds link Wails.
	Desktop func(ctx context.Context, env *Env, args []string) error
	// Getenv reads the environment; default os.Getenv.
	Getenv func(string) string

	// stopSignals restores the default signal behaviour, so that a second
	// Ctrl-C ends a command that is busy cleaning up after the first.
	stopSignals func()
}

func (e *Env) getenv(k string) string {
	if e.Getenv != nil {
		return e.Getenv(k)
	}
	return os.Getenv(k)
}

// RestoreSignals makes the next SIGINT/SIGTERM terminate the process the
// default way. Commands call it once they have reacted to the first one.
func (e *Env) RestoreSignals() {
	if e.stopSignals != nil {
		e.stopSignals()
	}
}

// Command is one subcommand.
type Command struct {
	// Name is the word after flowweaver.
	Name string
	// Args describes the positional arguments for the help, e.g. "<workflowId>".
	Args string
	// Summary is the one-line description in `flowweaver help`.
	Summary string
	// Flags declares the command's flags on fs and returns the function
	// that runs the command once they are parsed; args are the positional
	// arguments (flags and arguments may be mixed on the command line).
	Flags func(fs *flag.FlagSet) func(ctx context.Context, env *Env, args []string) error
	// Complete lists candidates for the positional argument being typed
	// (optional), e.g. workflow ids; flags are the ones parsed so far.
	Complete func(env *Env, fs *flag.FlagSet) []string
	// Hidden keeps the command out of the help and completion.
	Hidden bool
	// RawArgs hands every argument to the command unparsed.
	RawArgs bool
}

// commands is the table of subcommands, in help order.
func commands() []*Command {
	return []*Command{
		serveCommand(),
		tokenCommand(),
		openCommand(),
		runCommand(),
		runsCommand(),
		logsCommand(),
		completionCommand(),
		secretsCommand(),
		sessionsCommand(),
		versionCommand(),
		completeCommand(),
	}
}

func lookup(name string) *Command {
	for _, c := range commands() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Main runs the command line and returns the process exit status. The
// first SIGINT/SIGTERM cancels the context commands run under.
func Main(args []string, env Env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env.stopSignals = stop
	err := Run(ctx, args, &env)
	return ExitCode(err, env.Stderr)
}

// Run dispatches args to a subcommand (no subcommand, or only flags: the
// desktop app).
func Run(ctx context.Context, args []string, env *Env) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelp(args[0]) && args[0] != "--version" {
		if env.Desktop == nil {
			return UsageError(errors.New("this build of flowweaver has no desktop window"))
		}
		return env.Desktop(ctx, env, args)
	}
	switch name := args[0]; {
	case isHelp(name):
		if len(args) > 1 {
			if c := lookup(args[1]); c != nil {
				printCommandHelp(env.Stdout, c)
				return nil
			}
		}
		printHelp(env.Stdout)
		return nil
	case name == "--version":
		args = []string{"version"}
	}
	c := lookup(args[0])
	if c == nil {
		return UsageError(fmt.Errorf("unknown command %q (see `flowweaver help`)", args[0]))
	}
	fs := newFlagSet(c, env)
	run := c.Flags(fs)
	if c.RawArgs {
		return run(ctx, env, args[1:])
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return UsageError(err)
	}
	return run(ctx, env, pos)
}

func isHelp(s string) bool { return s == "help" || s == "-h" || s == "--help" }

func newFlagSet(c *Command, env *Env) *flag.FlagSet {
	fs := flag.NewFlagSet("flowweaver "+c.Name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() { printCommandHelp(env.Stderr, c) }
	return fs
}

// parseInterspersed parses flags anywhere among the arguments, so
// `flowweaver run build --json` works like `flowweaver run --json build`.
// A "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag.Parse stops at "--" (consumed) or at the first non-flag.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "usage: flowweaver [command] [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  flowweaver                             open the desktop app")
	for _, c := range commands() {
		if c.Hidden {
			continue
		}
		fmt.Fprintf(w, "  %-38s %s\n", strings.TrimSpace("flowweaver "+c.Name+" "+c.Args), c.Summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "`flowweaver help <command>` shows a command's flags.")
}

func printCommandHelp(w io.Writer, c *Command) {
	fmt.Fprintf(w, "usage: flowweaver %s [flags] %s\n\n%s\n", c.Name, c.Args, c.Summary)
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	c.Flags(fs)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if len(names) == 0 {
		return
	}
	sort.Strings(names)
	fmt.Fprintln(w, "\nflags:")
	for _, n := range names {
		f := fs.Lookup(n)
		arg, usage := flag.UnquoteUsage(f)
		left := "--" + n
		if arg != "" {
			left += " " + arg
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  %-24s %s%s\n", left, usage, def)
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// dataDirFlag declares --data-dir; resolve with dataDir().
func dataDirFlag(fs *flag.FlagSet) *string {
	return fs.String("data-dir", "", "data `directory` ($FLOWWEAVER_DATA_DIR, else the OS user data dir)")
}
