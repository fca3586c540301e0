package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/dockerfile"
	"github.com/nsscope/nsscope/grade"
	"github.com/nsscope/nsscope/report"
)

// dockerfileFlags are the parsed flags of the dockerfile verb.
type dockerfileFlags struct {
	rt         runtimeFlags
	lookup     lookupFlags
	report     reportFlags
	verbose    bool
	buildArgs  []string
	target     string
	contextDir string
	diff       bool
	fix        bool
}

func newDockerfileCmd(a *app) *cobra.Command {
	var f dockerfileFlags
	cmd := newVerb(verbSpec{
		use:     "dockerfile [flags] FILE",
		summary: "check a Dockerfile before the image exists",
		long: `Check a Dockerfile before the image exists: follow the stage the image is
built from (its base image, every change to /etc/nsswitch.conf, the Go
programs copied in from stages that run go build, with their Go version,
cgo and netgo facts), predict how each program looks up the names to
check (default: localhost) with every nameserver silent, and grade it like
nsscope scan: critical (a name /etc/hosts answers goes to DNS first and
reaches the deadline), warning (DNS first but within the deadline, or the
outcome depends on something unknown), info (safe).

Base images are looked up in a built-in, versioned table; a digest-pinned
or unknown base is graded both ways and reported with the advice to run
nsscope scan on the built image. FILE - reads standard input.`,
		exit: `0  nothing at or above --fail-on
1  a finding at or above --fail-on (with --fix: in the fixed file)
2  usage error or bad input (not a Dockerfile, unknown instruction,
   unterminated heredoc)
3  internal error`,
		examples: `nsscope dockerfile Dockerfile
nsscope dockerfile --diff Dockerfile | git apply
nsscope dockerfile build/Dockerfile --format sarif --fail-on warning --output nsscope.sarif`,
		run: func(cmd *cobra.Command, args []string) error { return runDockerfile(cmd, a, &f, args) },
	})
	fl := cmd.Flags()
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "an ARG value, `KEY=VALUE`, as for docker build (repeatable)")
	fl.StringVar(&f.target, "target", "", "check this `STAGE` instead of the last, as docker build --target")
	fl.StringVar(&f.contextDir, "build-context", "", "the build context `DIR`, read for COPY sources that land on /etc/nsswitch.conf (default: FILE's directory)")
	fl.BoolVar(&f.diff, "diff", false, "print the fix as a unified diff instead of the report")
	fl.BoolVar(&f.fix, "fix", false, "apply the fix to FILE in place (FILE.bak keeps the original), print the diff, and grade the fixed file")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "text: show the reasons and every fix")
	addGroup(cmd, runtimeGroup, func(fs *pflag.FlagSet) {
		f.rt.register(fs, []string{string(grade.Kubernetes), string(grade.Docker)}, false)
	})
	addGroup(cmd, "Lookup", func(fs *pflag.FlagSet) { f.lookup.register(fs, grade.DefaultDeadline, "localhost") })
	addGroup(cmd, "Output", func(fs *pflag.FlagSet) { f.report.register(fs, reportFormats, true) })
	completeReportFlags(cmd, reportFormats)
	completeValues(cmd, "runtime", "kubernetes", "docker")
	_ = cmd.MarkFlagDirname("build-context")
	return cmd
}

// check refuses bad values and the flags that do nothing together.
func (f *dockerfileFlags) check(cmd *cobra.Command, args []string) (map[string]string, error) {
	if len(args) != 1 {
		return nil, usageErrorf("want exactly one FILE, got %d", len(args))
	}
	if f.rt.runtime == string(grade.None) {
		return nil, usageErrorf("--runtime none: an image has no /etc/resolv.conf or /etc/hosts of its own; want kubernetes or docker (or give --resolv-conf and --hosts)")
	}
	for _, check := range []func() error{func() error { return f.rt.check(cmd) }, f.lookup.check, f.report.check} {
		if err := check(); err != nil {
			return nil, err
		}
	}
	if err := exclusive(cmd, "diff", "fix", "--fix prints the diff it applies"); err != nil {
		return nil, err
	}
	if f.diff || f.fix {
		mode := map[bool]string{true: "--diff", false: "--fix"}[f.diff]
		if c := changed(cmd, "format", "verbose"); len(c) > 0 {
			return nil, usageErrorf("%s does nothing with %s, which prints a unified diff", strings.Join(c, ", "), mode)
		}
	}
	if f.fix && args[0] == "-" {
		return nil, usageErrorf("--fix needs a FILE to write, not standard input")
	}
	buildArgs := map[string]string{}
	for _, v := range f.buildArgs {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t$") {
			return nil, usageErrorf("--build-arg %q: want KEY=VALUE", v)
		}
		buildArgs[k] = val
	}
	return buildArgs, nil
}

// runDockerfile implements `nsscope dockerfile`.
func runDockerfile(cmd *cobra.Command, a *app, f *dockerfileFlags, args []string) error {
	buildArgs, err := f.check(cmd, args)
	if err != nil {
		return err
	}
	file := args[0]
	rt, err := f.rt.assumption(a)
	if err != nil {
		return err
	}
	format, _ := report.ParseFormat(f.report.format)
	name, src, err := a.readDockerfile(file)
	if err != nil {
		return err
	}
	opt := dockerfile.CheckOptions{
		Runtime:  rt,
		Names:    f.lookup.names,
		Deadline: f.lookup.deadline,
		Analyze:  dockerfile.Options{BuildArgs: buildArgs, Target: f.target},
	}
	ctxDir := f.contextDir
	if ctxDir == "" && file != "-" {
		ctxDir = filepath.Dir(file)
	}
	if ctxDir != "" {
		root, err := os.OpenRoot(ctxDir)
		if err != nil {
			return inputError(fmt.Errorf("--build-context: %w", err))
		}
		defer root.Close()
		opt.Analyze.Context = root.FS()
	}
	res, err := checkDockerfile(name, src, opt)
	if err != nil {
		return err
	}
	out := a.output(f.report.output)
	switch {
	case f.fix:
		diff := res.Diff()
		if diff == "" {
			fmt.Fprintf(a.stdio.Err, "nsscope dockerfile: nothing to fix in %s\n", file)
		} else {
			fixed := dockerfile.Apply(src, res.Edits)
			if err := writeWithBackup(file, src, fixed); err != nil {
				return err
			}
			fmt.Fprint(out, diff)
			fmt.Fprintf(a.stdio.Err, "nsscope dockerfile: wrote %s (the original is in %s.bak)\n", file, file)
			// Grade what was written.
			if res, err = checkDockerfile(name, fixed, opt); err != nil {
				return err
			}
		}
	case f.diff:
		fmt.Fprint(out, res.Diff())
	default:
		res.Report.Version = toolVersion()
		if err := report.Write(out, prepareReport(res.Report), format, report.TextOptions{Verbose: f.verbose, Color: a.color(f.report.output)}); err != nil {
			return err
		}
	}
	if err := out.Close(); err != nil {
		return err
	}
	if res.Report.Fails(f.report.threshold()) {
		return errFindings
	}
	return nil
}

// checkDockerfile parses and checks one Dockerfile; bad input exits 2.
func checkDockerfile(name string, src []byte, opt dockerfile.CheckOptions) (*dockerfile.Result, error) {
	df, err := dockerfile.Parse(name, src)
	if err != nil {
		return nil, inputError(err)
	}
	res, err := dockerfile.Check(df, opt)
	if err != nil {
		var de *dockerfile.Error
		if errors.As(err, &de) {
			return nil, inputError(err)
		}
		return nil, fmt.Errorf("checking %s: %w", name, err)
	}
	return res, nil
}

// readDockerfile reads FILE (or standard input for "-"), capped at
// dockerfile.MaxSize.
func (a *app) readDockerfile(file string) (string, []byte, error) {
	name := "Dockerfile"
	if file != "-" {
		st, err := os.Stat(file)
		if err != nil {
			return "", nil, inputError(err)
		}
		if !st.Mode().IsRegular() {
			return "", nil, inputError(fmt.Errorf("%s: not a regular file", file))
		}
		name = reportName(file)
	}
	data, err := a.readArg("Dockerfile", file, dockerfile.MaxSize)
	if err != nil {
		return "", nil, err
	}
	return name, data, nil
}

// writeWithBackup keeps the original in FILE.bak (refusing to overwrite an
// older backup), then replaces FILE with fixed through a temporary file in
// the same directory, keeping its mode.
func writeWithBackup(file string, orig, fixed []byte) error {
	st, err := os.Stat(file)
	if err != nil {
		return inputError(err)
	}
	bak := file + ".bak"
	if _, err := os.Lstat(bak); err == nil {
		return inputError(fmt.Errorf("%s exists: move it away before --fix writes a new backup", bak))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return inputError(err)
	}
	if err := os.WriteFile(bak, orig, st.Mode().Perm()); err != nil {
		return fmt.Errorf("writing the backup: %w", err)
	}
	if err := writeFileAtomic(file, fixed, st.Mode().Perm()); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}

// reportName is how the Dockerfile is cited: relative to the working
// directory when it lies under it (SARIF then points into the repository),
// else as given. An absolute path would read, in SARIF, as a file inside
// the scanned image.
func reportName(file string) string {
	if abs, err := filepath.Abs(file); err == nil {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return filepath.ToSlash(rel)
			}
		}
	}
	return filepath.ToSlash(filepath.Clean(file))
}
