package cli

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// app is one run of the command line: the streams and environment every
// verb uses, and which flag has taken standard input.
type app struct {
	stdio Stdio
	env   []string
	// stdinBy names the argument that read standard input ("-"), which
	// can be read once.
	stdinBy string
	// cleanups remove what the run made (a tarball spooled from standard
	// input) when it ends.
	cleanups []func()
}

// cleanup undoes what the run made, last first.
func (a *app) cleanup() {
	for i := len(a.cleanups) - 1; i >= 0; i-- {
		a.cleanups[i]()
	}
	a.cleanups = nil
}

// verbSpec is what a verb's command is made of, besides its flags.
type verbSpec struct {
	// use is the usage line after "nsscope ", e.g. "scan [flags] TARGET".
	use     string
	summary string
	// long is the description shown by -h, after the usage line.
	long string
	// exit lists the exit codes, one "N  meaning" per line.
	exit     string
	examples string
	run      func(cmd *cobra.Command, args []string) error
}

// Exit code lists shared by verbs.
const (
	exitReport = `0  nothing at or above --fail-on
1  a finding at or above --fail-on
2  usage error or bad input
3  internal error`
	exitPlain = `0  done
2  usage error or bad input
3  internal error`
)

// newVerb builds a cobra command from spec. Flags are added by the caller,
// own flags directly and shared groups with addGroup.
func newVerb(spec verbSpec) *cobra.Command {
	name, _, _ := strings.Cut(spec.use, " ")
	cmd := &cobra.Command{
		Use:         spec.use,
		Short:       spec.summary,
		Long:        strings.TrimSpace(spec.long),
		Example:     strings.TrimRight(spec.examples, "\n"),
		Annotations: map[string]string{annotExit: spec.exit},
		RunE:        spec.run,
		// Arguments are checked by each verb, with its own message.
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	if name != "" {
		cmd.Flags().SortFlags = false
	}
	return cmd
}

const (
	annotExit  = "nsscope/exit-codes"
	annotGroup = "nsscope/group"
)

// addGroup adds the flags register defines to cmd, listed under title by
// -h. Shared groups (flags.go) are defined once and added this way to every
// verb that takes them.
func addGroup(cmd *cobra.Command, title string, register func(fs *pflag.FlagSet)) {
	fs := pflag.NewFlagSet(title, pflag.ContinueOnError)
	fs.SortFlags = false
	register(fs)
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Annotations == nil {
			f.Annotations = map[string][]string{}
		}
		f.Annotations[annotGroup] = []string{title}
	})
	cmd.Flags().AddFlagSet(fs)
}

// newRoot builds the nsscope command and its verbs for one run.
func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "nsscope",
		Short:         "how will this program resolve host names, here?",
		Version:       buildVersion(readBuildInfo()).Short(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Annotations: map[string]string{annotExit: `0  nothing at or above --fail-on
1  findings (or a lab --check mismatch)
2  usage error or bad input
3  internal error`},
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetIn(a.stdio.In)
	root.SetOut(a.stdio.Out)
	root.SetErr(a.stdio.Err)
	// --version prints what `nsscope version` prints.
	root.SetVersionTemplate(strings.ReplaceAll(buildVersion(readBuildInfo()).Long(), "{{", "{{`{{`}}"))
	root.SetHelpFunc(helpFunc)
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newExplainCmd(a),
		newLabCmd(a),
		newTraceCmd(a),
		newSniffCmd(a),
		newInspectCmd(a),
		newScanCmd(a),
		newPodCmd(a),
		newAPIServerCmd(a),
		newClusterCmd(a),
		newNodeCmd(a),
		newDockerfileCmd(a),
		newVersionCmd(a),
	)
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "show a command's flags and exit codes",
		Args:  cobra.ArbitraryArgs,
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			var names []string
			for _, s := range c.Root().Commands() {
				if s.IsAvailableCommand() && strings.HasPrefix(s.Name(), toComplete) {
					names = append(names, s.Name())
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("no help topic %q: run 'nsscope help' for the commands", strings.Join(args, " "))}
			}
			target.SetOut(c.OutOrStdout())
			target.HelpFunc()(target, nil)
			return nil
		},
	})
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			completionCmd(c)
		}
	}
	return root
}

// completionShells are the shells cobra writes completion scripts for.
var completionShells = []string{"bash", "zsh", "fish", "powershell"}

// completionCmd gives cobra's completion command nsscope's help (the
// shells, the exit codes) and refuses a shell it has no script for.
func completionCmd(c *cobra.Command) {
	c.Use = "completion " + strings.Join(completionShells, "|")
	c.Short = "print a shell completion script: " + orList(completionShells)
	c.Long = `Prints the completion script for SHELL to stdout: ` + orList(completionShells) + `.
Load it in the current shell, e.g.
  source <(nsscope completion bash)
or install it where the shell looks for completions. 'nsscope completion
SHELL -h' says where for each shell.`
	c.Annotations = map[string]string{annotExit: exitPlain}
	c.Example = `nsscope completion bash > /etc/bash_completion.d/nsscope
nsscope completion zsh > "${fpath[1]}/_nsscope"
nsscope completion fish > ~/.config/fish/completions/nsscope.fish`
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(_ *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageErrorf("no shell given: want %s", orList(completionShells))
		}
		return usageErrorf("no completion for shell %q: want %s", args[0], orList(completionShells))
	}
	for _, sub := range c.Commands() {
		sub.Annotations = map[string]string{annotExit: exitPlain}
	}
}

// helpFunc prints a command's help to its output (stdout): usage line,
// description, flags by group, exit codes, examples.
func helpFunc(cmd *cobra.Command, _ []string) {
	w := cmd.OutOrStdout()
	if !cmd.HasParent() {
		rootHelp(w, cmd)
		return
	}
	fmt.Fprintf(w, "Usage: %s\n", cmd.UseLine())
	if cmd.Long != "" {
		fmt.Fprintf(w, "\n%s\n", cmd.Long)
	} else if cmd.Short != "" {
		fmt.Fprintf(w, "\n%s.\n", strings.ToUpper(cmd.Short[:1])+cmd.Short[1:])
	}
	for _, g := range flagGroups(cmd) {
		fmt.Fprintf(w, "\n%s:\n%s", g.title, g.fs.FlagUsagesWrapped(100))
	}
	if ex := cmd.Annotations[annotExit]; ex != "" {
		fmt.Fprintf(w, "\nExit codes:\n%s\n", indent(ex, "  "))
	}
	if cmd.Example != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", indent(cmd.Example, "  "))
	}
}

type flagGroup struct {
	title string
	fs    *pflag.FlagSet
}

// flagGroups sorts a command's flags into their help groups, the verb's
// own flags ("Flags") first, then the shared groups in the order added.
func flagGroups(cmd *cobra.Command) []flagGroup {
	groups := []flagGroup{{title: "Flags", fs: pflag.NewFlagSet("Flags", pflag.ContinueOnError)}}
	index := map[string]int{"Flags": 0}
	add := func(f *pflag.Flag) {
		title := "Flags"
		if g := f.Annotations[annotGroup]; len(g) > 0 {
			title = g[0]
		}
		i, ok := index[title]
		if !ok {
			i = len(groups)
			index[title] = i
			groups = append(groups, flagGroup{title: title, fs: pflag.NewFlagSet(title, pflag.ContinueOnError)})
			groups[i].fs.SortFlags = false
		}
		groups[i].fs.AddFlag(f)
	}
	groups[0].fs.SortFlags = false
	cmd.LocalFlags().VisitAll(add)
	cmd.InheritedFlags().VisitAll(add)
	var out []flagGroup
	for _, g := range groups {
		if g.fs.HasAvailableFlags() {
			out = append(out, g)
		}
	}
	return out
}

func rootHelp(w io.Writer, root *cobra.Command) {
	fmt.Fprintf(w, "nsscope — %s\n\nUsage:\n  nsscope COMMAND [flags] [args]\n\nCommands:\n", root.Short)
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() || c.Name() == "help" {
			fmt.Fprintf(w, "  %-11s %s\n", c.Name(), c.Short)
		}
	}
	fmt.Fprintf(w, "\nFlags:\n  -h, --help      this help\n      --version   print nsscope's version and VCS revision\n")
	fmt.Fprintf(w, "\nRun 'nsscope COMMAND -h' (or 'nsscope help COMMAND') for a command's flags.\n")
	fmt.Fprintf(w, "Flags may come before or after arguments; '--' ends the flags.\n")
	fmt.Fprintf(w, "\nExit codes:\n%s\n", indent(root.Annotations[annotExit], "  "))
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

// flagError turns a pflag parse error into a usage error that names the
// flag as typed. pflag reads "-deadline" as the shorthands -d -e -a ...;
// when --deadline exists the message says so.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "unknown shorthand flag: "); ok {
		if _, word, ok := strings.Cut(rest, " in -"); ok {
			name, _, _ := strings.Cut(word, "=")
			if cmd.Flags().Lookup(name) != nil {
				return usageErrorf("-%s: a long flag takes two dashes: --%s", word, name)
			}
			return usageErrorf("unknown flag -%s", word)
		}
	}
	if rest, ok := strings.CutPrefix(msg, "unknown flag: "); ok {
		return usageErrorf("unknown flag %s", rest)
	}
	if rest, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		if _, as, ok := strings.Cut(rest, " in "); ok {
			rest = as // "'n' in -n"
		}
		return usageErrorf("%s needs a value", rest)
	}
	if m := invalidArg.FindStringSubmatch(msg); m != nil {
		name := m[2]
		if _, long, ok := strings.Cut(name, ", "); ok {
			name = long // "-n, --namespace"
		}
		why := m[3]
		switch {
		case strings.HasPrefix(why, "strconv.ParseBool"):
			why = "want true or false"
		case strings.HasPrefix(why, "time: "):
			why = "not a duration (e.g. 500ms, 30s, 2m)"
		case strings.HasPrefix(why, "strconv.Parse"):
			why = "not a number"
		}
		return usageErrorf("%s %q: %s", name, m[1], why)
	}
	return &ExitError{Code: ExitUsage, Err: err, Usage: true}
}

// invalidArg matches pflag's `invalid argument "V" for "F" flag: WHY`.
var invalidArg = regexp.MustCompile(`^invalid argument "(.*)" for "(.*)" flag: (.*)$`)
