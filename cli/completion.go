package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Shell completion works like cobra's: the shell scripts below call the
// hidden `flowweaver __complete <words...>` with the words typed so far
// (the last one possibly empty) and offer the lines it prints. So the
// candidates always come from the same command table as the parser.

func completionCommand() *Command {
	return &Command{
		Name:    "completion",
		Args:    "bash|zsh|fish",
		Summary: "print a shell completion script (commands, flags, workflow ids)",
		Flags: func(fs *flag.FlagSet) func(context.Context, *Env, []string) error {
			return func(ctx context.Context, env *Env, args []string) error {
				if len(args) != 1 {
					return UsageError(fmt.Errorf("completion needs one shell: bash, zsh or fish"))
				}
				script, ok := completionScripts[args[0]]
				if !ok {
					return UsageError(fmt.Errorf("no completion for shell %q (bash, zsh, fish)", args[0]))
				}
				_, err := io.WriteString(env.Stdout, script)
				return err
			}
		},
		Complete: func(*Env, *flag.FlagSet) []string { return []string{"bash", "zsh", "fish"} },
	}
}

func completeCommand() *Command {
	return &Command{
		Name:    "__complete",
		Hidden:  true,
		RawArgs: true,
		Flags: func(fs *flag.FlagSet) func(context.Context, *Env, []string) error {
			return func(ctx context.Context, env *Env, args []string) error {
				for _, c := range complete(env, args) {
					fmt.Fprintln(env.Stdout, c)
				}
				return nil
			}
		},
	}
}

// complete returns the candidates for the last of words (the words after
// "flowweaver").
func complete(env *Env, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	if len(words) == 1 {
		var out []string
		for _, c := range commands() {
			if !c.Hidden && strings.HasPrefix(c.Name, cur) {
				out = append(out, c.Name)
			}
		}
		return append(out, filterPrefix([]string{"help"}, cur)...)
	}
	c := lookup(words[0])
	if c == nil {
		return nil
	}
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Flags(fs)
	if strings.HasPrefix(cur, "-") {
		var out []string
		fs.VisitAll(func(f *flag.Flag) { out = append(out, "--"+f.Name) })
		sort.Strings(out)
		return filterPrefix(out, cur)
	}
	if prev := words[len(words)-2]; strings.HasPrefix(prev, "-") && !strings.Contains(prev, "=") {
		if f := fs.Lookup(strings.TrimLeft(prev, "-")); f != nil && !isBoolFlag(f) {
			return nil // a flag's value: let the shell complete files
		}
	}
	if c.Complete == nil {
		return nil
	}
	// Parse what was typed before, so --project DIR counts.
	_, _ = parseInterspersed(fs, words[1:len(words)-1])
	return filterPrefix(c.Complete(env, fs), cur)
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func filterPrefix(in []string, prefix string) []string {
	var out []string
	for _, s := range in {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// completeWorkflowIDs lists the workflow files of --project (or the
// working directory): no server is needed.
func completeWorkflowIDs(env *Env, fs *flag.FlagSet) []string {
	dir := ""
	if f := fs.Lookup("project"); f != nil {
		dir = f.Value.String()
	}
	d, err := projectDir(dir)
	if err != nil {
		return nil
	}
	return localWorkflowIDs(d)
}

var completionScripts = map[string]string{
	"bash": `# flowweaver bash completion: source <(flowweaver completion bash)
_flowweaver() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local IFS=$'\n'
  COMPREPLY=($(flowweaver __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
  if [ ${#COMPREPLY[@]} -eq 0 ] && [[ $cur != -* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _flowweaver flowweaver
`,
	"zsh": `#compdef flowweaver
# flowweaver zsh completion: source <(flowweaver completion zsh)
_flowweaver() {
  local -a candidates
  candidates=("${(@f)$(flowweaver __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ -n ${candidates[1]} ]]; then
    compadd -a candidates
  else
    _files
  fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _flowweaver "$@"
else
  compdef _flowweaver flowweaver
fi
`,
	"fish": `# flowweaver fish completion: flowweaver completion fish | source
function __flowweaver_complete
    set -l words (commandline -opc) (commandline -ct)
    flowweaver __complete $words[2..-1] 2>/dev/null
end
complete -c flowweaver -f -a '(__flowweaver_complete)'
`,
}
