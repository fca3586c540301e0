package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/inspect/imagestore"
	"github.com/nsscope/nsscope/inspect/target"
	"golang.org/x/sys/unix"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/sysenv"
)

// Flag groups shared by verbs. Each is a struct with a register method
// (the flags, their defaults and help) and a check method (values refused
// with a usage error that names the flag); verbs add them with addGroup.

// reportFlags: --format, --output and, where the verb grades, --fail-on.
type reportFlags struct {
	format, output, failOn string
	formats                []string
	grades                 bool
}

// register adds the group; formats lists the accepted --format values, the
// first being the default; grades adds --fail-on.
func (r *reportFlags) register(fs *pflag.FlagSet, formats []string, grades bool) {
	r.formats, r.grades = formats, grades
	fs.StringVar(&r.format, "format", formats[0], "output `FORMAT`: "+strings.Join(formats, ", "))
	fs.StringVar(&r.output, "output", "", "write the output to `FILE` (atomically: a temporary file renamed into place) instead of stdout")
	if grades {
		fs.StringVar(&r.failOn, "fail-on", report.Critical.String(), "exit 1 when a finding is at or above `SEVERITY`: critical, warning or info")
	}
}

func (r *reportFlags) check() error {
	if !slices.Contains(r.formats, r.format) {
		return usageErrorf("--format %q: want %s", r.format, orList(r.formats))
	}
	if r.grades {
		if _, err := report.ParseSeverity(r.failOn); err != nil {
			return usageErrorf("--fail-on %q: want critical, warning or info", r.failOn)
		}
	}
	if r.output != "" && r.output != "-" {
		if st, err := os.Stat(filepath.Dir(r.output)); err != nil || !st.IsDir() {
			return usageErrorf("--output %s: no directory %s to write into", r.output, filepath.Dir(r.output))
		}
		if st, err := os.Stat(r.output); err == nil && !st.Mode().IsRegular() {
			return usageErrorf("--output %s: not a regular file", r.output)
		}
	}
	return nil
}

func (r *reportFlags) threshold() report.Severity {
	s, _ := report.ParseSeverity(r.failOn)
	return s
}

func orList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// output is where a verb writes its report: stdout, or (--output FILE) a
// buffer written to FILE atomically by Close.
type output struct {
	w    io.Writer
	path string
	buf  bytes.Buffer
	// tmp is the temporary file a streamed output writes (streamOutput),
	// renamed to path by Close.
	tmp *os.File
}

func (a *app) output(path string) *output {
	if path == "" || path == "-" {
		return &output{w: a.stdio.Out}
	}
	o := &output{path: path}
	o.w = &o.buf
	return o
}

func (o *output) Write(p []byte) (int, error) { return o.w.Write(p) }

// Close writes the file (nothing for stdout). Call it once the report is
// complete; a report never written leaves FILE as it was.
func (o *output) Close() error {
	if o.path == "" {
		return nil
	}
	if o.tmp != nil {
		return o.closeStream()
	}
	if err := writeFileAtomic(o.path, o.buf.Bytes(), 0o644); err != nil {
		return inputError(fmt.Errorf("--output: %w", err))
	}
	o.path = ""
	return nil
}

// streamOutput is output for a verb that writes as it goes, without end
// (sniff): with --output FILE the report streams into a temporary file
// beside FILE, renamed into place by Close; Discard removes it, leaving
// FILE as it was.
func (a *app) streamOutput(path string) (*output, error) {
	if path == "" || path == "-" {
		return &output{w: a.stdio.Out}, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".nsscope-*")
	if err != nil {
		return nil, inputError(fmt.Errorf("--output: %w", err))
	}
	return &output{w: tmp, path: path, tmp: tmp}, nil
}

// Discard drops a report not completed: a streamed temporary file is
// removed. It does nothing after Close.
func (o *output) Discard() {
	if o.tmp != nil {
		o.tmp.Close()
		os.Remove(o.tmp.Name())
		o.tmp = nil
	}
	o.path = ""
}

func (o *output) closeStream() error {
	tmp, path := o.tmp, o.path
	o.tmp, o.path = nil, ""
	if err := replaceWith(tmp, path, 0o644, nil); err != nil {
		return inputError(fmt.Errorf("--output: %w", err))
	}
	return nil
}

// replaceWith closes tmp, a temporary file beside path written with what
// path is to hold (err: the writing's own error), and renames it over
// path, which keeps its mode (a new file gets perm); on any failure tmp is
// removed and path left as it was.
func replaceWith(tmp *os.File, path string, perm os.FileMode, err error) error {
	if st, serr := os.Stat(path); serr == nil {
		perm = st.Mode().Perm()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), perm)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// writeFileAtomic replaces path with data through a temporary file in the
// same directory, so a reader sees the old file or the new one, never a
// part. An existing file keeps its mode.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".nsscope-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	return replaceWith(tmp, path, perm, err)
}

// maxConfFile caps the configuration files read from flags: the one limit
// of every configuration file, wherever it comes from.
const maxConfFile = sysenv.MaxFileSize

// readArg reads the file an argument names, "-" being standard input
// (which one argument only may take). flag names the argument in errors.
func (a *app) readArg(flag, path string, limit int64) ([]byte, error) {
	if path == "-" {
		if err := a.claimStdin(flag); err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(a.stdio.In, limit+1))
		if err != nil {
			return nil, inputError(fmt.Errorf("%s -: reading standard input: %w", flag, err))
		}
		if int64(len(data)) > limit {
			return nil, inputError(fmt.Errorf("%s -: standard input is larger than %d bytes", flag, limit))
		}
		return data, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, inputError(fmt.Errorf("%s: %w", flag, err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, inputError(fmt.Errorf("%s: %w", flag, err))
	}
	if st.IsDir() {
		return nil, inputError(fmt.Errorf("%s %s: a directory, not a file", flag, path))
	}
	if !st.Mode().IsRegular() && st.Mode()&os.ModeNamedPipe == 0 && st.Mode()&os.ModeCharDevice == 0 {
		return nil, inputError(fmt.Errorf("%s %s: not a regular file", flag, path))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, inputError(fmt.Errorf("%s: %w", flag, err))
	}
	if int64(len(data)) > limit {
		return nil, inputError(fmt.Errorf("%s %s: larger than %d bytes", flag, path, limit))
	}
	return data, nil
}

// claimStdin gives standard input to the argument flag names: one
// argument only may read it.
func (a *app) claimStdin(flag string) error {
	if a.stdinBy != "" {
		return usageErrorf("%s -: standard input is already read by %s", flag, a.stdinBy)
	}
	a.stdinBy = flag
	if a.stdio.In == nil {
		return inputError(fmt.Errorf("%s -: no standard input", flag))
	}
	return nil
}

// maxStdinTarball caps a tarball read from standard input: the size a
// root file system tarball may have (inspect/target's default
// MaxLayerSize).
const maxStdinTarball = 64 << 30

// stdinTarball spools standard input (a root tarball, docker save archive
// or OCI layout tar, "FLAG -") into a file of nsscope's own temporary
// directory ($TMPDIR, see target.TempDir) and returns its path. The file,
// named "stdin" (how reports cite it), is removed when the run ends.
func (a *app) stdinTarball(flag string, limit int64) (string, error) {
	if err := a.claimStdin(flag); err != nil {
		return "", err
	}
	// Locked as inspect/target's own directories are: a run killed before
	// its clean-up leaves it to the next run's sweep.
	dir, remove, err := target.TempDir(envValue(a.env, "TMPDIR"))
	if err != nil {
		return "", fmt.Errorf("%s -: temporary directory: %w", flag, err)
	}
	a.cleanups = append(a.cleanups, remove)
	path := filepath.Join(dir, "stdin")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("%s -: %w", flag, err)
	}
	n, err := io.Copy(f, io.LimitReader(a.stdio.In, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return "", inputError(fmt.Errorf("%s -: reading standard input: %w", flag, err))
	case n > limit:
		return "", inputError(fmt.Errorf("%s -: standard input is larger than %d bytes", flag, limit))
	case n == 0:
		return "", inputError(fmt.Errorf("%s -: standard input is empty (want a tarball)", flag))
	}
	return path, nil
}

// checkTargetRef refuses a target that can be neither a path nor an
// image reference: one beginning with "-" (a flag given after "--", or a
// typo) that names no file, before any registry is asked.
func checkTargetRef(what, spec string) error {
	if !strings.HasPrefix(spec, "-") || spec == "-" {
		return nil
	}
	if _, err := os.Lstat(spec); err == nil {
		return nil
	}
	return usageErrorf("%s %q: no such file or directory, and an image reference never begins with '-'", what, spec)
}

// confFile reads a configuration file named by a flag as the file at as
// (/etc/hosts): FILE, "-" for standard input, or "missing" where allowed
// (the file is absent).
func (a *app) confFile(flag, path, as string, missingOK bool) (*model.File, error) {
	if path == "missing" {
		if !missingOK {
			return nil, usageErrorf("%s missing: this verb needs the file (give FILE)", flag)
		}
		return &model.File{Path: as, Origin: flag + " missing", Missing: true}, nil
	}
	data, err := a.readArg(flag, path, maxConfFile)
	if err != nil {
		return nil, err
	}
	origin := path
	if path == "-" {
		origin = "standard input (" + flag + " -)"
	}
	return &model.File{Path: as, Origin: origin, Data: data}, nil
}

// imageFlags: which image to read and how (inspect, scan, pod, cluster).
type imageFlags struct {
	platform string
	insecure bool
	stores   imagestore.Options
}

func (i *imageFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&i.platform, "platform", "linux/amd64", "the image to pick from a multi-platform index, `OS/ARCH[/VARIANT]`")
	fs.BoolVar(&i.insecure, "insecure", false, "allow plain-HTTP registries")
	// Images where they are stored (containerd://REF, docker-daemon:REF).
	fs.StringVar((*string)(&i.stores.Source), "source", "", "read a bare image REF from `containerd` or docker (default: a path, else a registry)")
	fs.StringVar(&i.stores.ContainerdAddress, "containerd-address", imagestore.DefaultContainerdAddress, "containerd's `SOCKET` (containerd://REF)")
	fs.StringVar(&i.stores.Namespace, "containerd-namespace", imagestore.DefaultNamespace, "containerd's `NAMESPACE` (containerd://REF)")
	fs.StringVar(&i.stores.NodeRoot, "containerd-root", "", "read containerd's store without its daemon from a node's root file system `DIR` (DIR/var/lib/containerd)")
}

// lookupFlags: the names checked and the caller's deadline (scan, pod,
// cluster, dockerfile).
type lookupFlags struct {
	names    []string
	deadline time.Duration
}

func (l *lookupFlags) register(fs *pflag.FlagSet, deadline time.Duration, namesHelp string) {
	fs.StringArrayVar(&l.names, "name", nil, "a host `NAME` to check (repeatable; default "+namesHelp+")")
	fs.DurationVar(&l.deadline, "deadline", deadline, "the caller's deadline for one lookup, e.g. 30s")
}

func (l *lookupFlags) check() error {
	for _, n := range l.names {
		if err := checkHostName(n); err != nil {
			return usageErrorf("--name %q: %v", n, err)
		}
	}
	if l.deadline <= 0 {
		return usageErrorf("--deadline %s: want a positive duration", l.deadline)
	}
	return nil
}

// checkHostName refuses what cannot be a host name to look up.
func checkHostName(n string) error {
	if n == "" || len(n) > 253 || strings.ContainsAny(n, " \t\n/") {
		return errors.New("not a host name")
	}
	return nil
}

// exclusive refuses two flags given together: the second does nothing (or
// contradicts the first).
func exclusive(cmd *cobra.Command, a, b, why string) error {
	if cmd.Flags().Changed(a) && cmd.Flags().Changed(b) {
		return usageErrorf("--%s and --%s exclude each other: %s", a, b, why)
	}
	return nil
}

// changed lists which of names were given.
func changed(cmd *cobra.Command, names ...string) []string {
	var out []string
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			out = append(out, "--"+n)
		}
	}
	return out
}

// completeValues offers fixed values for a flag in shell completion.
func completeValues(cmd *cobra.Command, flag string, values ...string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
}

// width is the terminal width text waterfalls scale to: the terminal's
// columns when stdout is one, else $COLUMNS, else 100.
func (a *app) width() int {
	if f, ok := a.stdio.Out.(*os.File); ok {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col >= 40 {
			return int(ws.Col)
		}
	}
	if n, err := strconv.Atoi(envValue(a.env, "COLUMNS")); err == nil && n >= 40 {
		return n
	}
	return 100
}

// color reports whether text output is painted: only on a terminal, and
// never when NO_COLOR is set (no-color.org) or TERM is dumb.
func (a *app) color(outputPath string) bool {
	if outputPath != "" && outputPath != "-" {
		return false
	}
	if envValue(a.env, "NO_COLOR") != "" || envValue(a.env, "TERM") == "dumb" {
		return false
	}
	return isTerminal(a.stdio.Out)
}

// rootKinds is what every --root takes: the one description of a root
// file system given by a flag (explain, lab, inspect; scan's TARGET takes
// the same and image references).
const rootKinds = "a `DIR`ectory, a root tarball (.tar, .tar.gz, .tar.zst), a docker save archive, an OCI layout (directory or tar), or - (any of the tarballs on stdin)"

// rootUsage is the help of a --root flag: what the root is for, rootKinds,
// then what this verb adds or refuses.
func rootUsage(purpose, more string) string {
	u := purpose + ": " + rootKinds
	if more != "" {
		u += "; " + more
	}
	return u
}

// rootArg resolves a --root value: "-" spools standard input into a file
// (stdinTarball); anything else is checked (checkTargetRef) and kept.
func (a *app) rootArg(root string) (string, error) {
	if err := checkTargetRef("--root", root); err != nil {
		return "", err
	}
	if root != "-" {
		return root, nil
	}
	return a.stdinTarball("--root", maxStdinTarball)
}
