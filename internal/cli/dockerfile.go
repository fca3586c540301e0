package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nsscope/nsscope/dockerfile"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/scan"
)

const dockerfileUsage = `Usage: nsscope dockerfile [flags] FILE

Check a Dockerfile before the image exists: follow the stage the image is
built from (its base image, every change to /etc/nsswitch.conf, the Go
programs copied in from stages that run go build, with their Go version,
cgo and netgo facts), predict how each program looks up the names to
check (default: localhost) with every nameserver silent, and grade it like
nsscope scan: critical (a name /etc/hosts answers goes to DNS first and
reaches the deadline), warning (DNS first but within the deadline, or the
outcome depends on something unknown), info (safe).

Base images are looked up in a built-in, versioned table; a digest-pinned
or unknown base is graded both ways and reported with the advice to run
nsscope scan on the built image. FILE - reads standard input.

Flags:
  --runtime kubernetes|docker
                     what injects /etc/resolv.conf and /etc/hosts (default
                     kubernetes: ClusterFirst, kubelet-managed /etc/hosts)
  --namespace NS     the pod's namespace (default default)
  --cluster-domain D the cluster domain (default cluster.local)
  --cluster-dns IP   the cluster DNS service address (default 10.96.0.10)
  --resolv-conf FILE the /etc/resolv.conf the programs see (replaces the
                     runtime's)
  --hosts FILE       the /etc/hosts the programs see (replaces the runtime's)
  --name NAME        a host name to check (repeatable; default localhost)
  --deadline D       the caller's deadline for one dial (default 30s)
  --build-arg K=V    an ARG value, as for docker build (repeatable)
  --target STAGE     check this stage instead of the last, as docker build
                     --target
  --context DIR      the build context, read for COPY sources that land on
                     /etc/nsswitch.conf (default: FILE's directory)
  --diff             print the fix as a unified diff instead of the report
  --fix              apply the fix to FILE in place (FILE.bak keeps the
                     original), print the diff, and grade the fixed file
  --format F         text, json, sarif or html (default text)
  -v                 text: show the reasons and every fix
  --fail-on S        exit 1 when a finding is at or above S: critical,
                     warning or info (default critical)

Exit codes: 0 nothing at or above --fail-on, 1 findings, 2 usage error or
bad input (not a Dockerfile, unknown instruction, unterminated heredoc),
3 internal error.

Examples:
  nsscope dockerfile Dockerfile
  nsscope dockerfile --diff Dockerfile | git apply
  nsscope dockerfile --format sarif --fail-on warning build/Dockerfile > nsscope.sarif
`

// dockerfileFlags are the parsed flags of the dockerfile verb.
type dockerfileFlags struct {
	scanFlags
	buildArgs  buildArgList
	target     string
	contextDir string
	diff       bool
	fix        bool
}

// buildArgList collects a repeatable --build-arg K=V.
type buildArgList map[string]string

func (b buildArgList) String() string { return "" }
func (b buildArgList) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" || strings.ContainsAny(k, " \t$") {
		return fmt.Errorf("%q: want KEY=VALUE", v)
	}
	b[k] = val
	return nil
}

func parseDockerfileFlags(args []string, stderr io.Writer) (*dockerfileFlags, string, error) {
	f := dockerfileFlags{buildArgs: buildArgList{}}
	fs := flag.NewFlagSet("dockerfile", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.runtime, "runtime", string(scan.Kubernetes), "")
	fs.StringVar(&f.namespace, "namespace", kube.DefaultNamespace, "")
	fs.StringVar(&f.clusterDomain, "cluster-domain", kube.DefaultClusterDomain, "")
	fs.StringVar(&f.clusterDNS, "cluster-dns", kube.DefaultClusterDNS, "")
	fs.StringVar(&f.resolvConf, "resolv-conf", "", "")
	fs.StringVar(&f.hosts, "hosts", "", "")
	fs.Var(&f.names, "name", "")
	fs.DurationVar(&f.deadline, "deadline", scan.DefaultDeadline, "")
	fs.StringVar(&f.format, "format", string(report.FormatText), "")
	fs.BoolVar(&f.verbose, "v", false, "")
	fs.StringVar(&f.failOn, "fail-on", report.Critical.String(), "")
	fs.Var(f.buildArgs, "build-arg", "")
	fs.StringVar(&f.target, "target", "", "")
	fs.StringVar(&f.contextDir, "context", "", "")
	fs.BoolVar(&f.diff, "diff", false, "")
	fs.BoolVar(&f.fix, "fix", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, dockerfileUsage)
			return nil, "", errHelp
		}
		return nil, "", usageErrorf("%v (run 'nsscope dockerfile -h')", err)
	}
	if fs.NArg() != 1 {
		return nil, "", usageErrorf("want exactly one FILE, got %d (run 'nsscope dockerfile -h')", fs.NArg())
	}
	if f.deadline <= 0 {
		return nil, "", usageErrorf("--deadline %s: want a positive duration", f.deadline)
	}
	switch kind, err := scan.ParseRuntimeKind(f.runtime); {
	case err != nil:
		return nil, "", usageErrorf("--runtime: %v", err)
	case kind == scan.None:
		return nil, "", usageErrorf("--runtime none: an image has no /etc/resolv.conf or /etc/hosts of its own; want kubernetes or docker (or give --resolv-conf and --hosts)")
	}
	if _, err := report.ParseFormat(f.format); err != nil {
		return nil, "", usageErrorf("--format: %v", err)
	}
	if _, err := report.ParseSeverity(f.failOn); err != nil {
		return nil, "", usageErrorf("--fail-on: %v", err)
	}
	file := fs.Arg(0)
	if f.fix && file == "-" {
		return nil, "", usageErrorf("--fix needs a FILE to write, not standard input")
	}
	return &f, file, nil
}

// runDockerfile implements `nsscope dockerfile`.
func runDockerfile(ctx context.Context, args []string, stdio Stdio, env []string) error {
	f, file, err := parseDockerfileFlags(args, stdio.Err)
	if err != nil {
		return err
	}
	rt, err := f.runtimeAssumption()
	if err != nil {
		return inputError(err)
	}
	format, _ := report.ParseFormat(f.format)
	threshold, _ := report.ParseSeverity(f.failOn)

	name, src, err := readDockerfile(file, stdio.In)
	if err != nil {
		return inputError(err)
	}
	opt := dockerfile.CheckOptions{
		Runtime:  rt,
		Names:    f.names,
		Deadline: f.deadline,
		Analyze:  dockerfile.Options{BuildArgs: f.buildArgs, Target: f.target},
	}
	ctxDir := f.contextDir
	if ctxDir == "" && file != "-" {
		ctxDir = filepath.Dir(file)
	}
	if ctxDir != "" {
		root, err := os.OpenRoot(ctxDir)
		if err != nil {
			return inputError(fmt.Errorf("build context: %w", err))
		}
		defer root.Close()
		opt.Analyze.Context = root.FS()
	}
	res, err := checkDockerfile(name, src, opt)
	if err != nil {
		return err
	}
	switch {
	case f.fix:
		diff := res.Diff()
		if diff == "" {
			fmt.Fprintf(stdio.Err, "nsscope dockerfile: nothing to fix in %s\n", file)
		} else {
			fixed := dockerfile.Apply(src, res.Edits)
			if err := writeWithBackup(file, src, fixed); err != nil {
				return err
			}
			fmt.Fprint(stdio.Out, diff)
			fmt.Fprintf(stdio.Err, "nsscope dockerfile: wrote %s (the original is in %s.bak)\n", file, file)
			// Grade what was written.
			if res, err = checkDockerfile(name, fixed, opt); err != nil {
				return err
			}
		}
	case f.diff:
		fmt.Fprint(stdio.Out, res.Diff())
	default:
		res.Report.Version = toolVersion()
		if err := report.Write(stdio.Out, res.Report, format, report.TextOptions{Verbose: f.verbose}); err != nil {
			return err
		}
	}
	if res.Report.Fails(threshold) {
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
func readDockerfile(file string, stdin io.Reader) (string, []byte, error) {
	var r io.Reader
	name := file
	if file == "-" {
		if stdin == nil {
			return "", nil, errors.New("no standard input")
		}
		r, name = stdin, "Dockerfile"
	} else {
		st, err := os.Stat(file)
		if err != nil {
			return "", nil, err
		}
		if !st.Mode().IsRegular() {
			return "", nil, fmt.Errorf("%s: not a regular file", file)
		}
		fh, err := os.Open(file)
		if err != nil {
			return "", nil, err
		}
		defer fh.Close()
		r = fh
		name = reportName(file)
	}
	data, err := io.ReadAll(io.LimitReader(r, dockerfile.MaxSize+1))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(data) > dockerfile.MaxSize {
		return "", nil, fmt.Errorf("%s: not a Dockerfile: larger than %d bytes", file, dockerfile.MaxSize)
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
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".nsscope-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	_, werr := tmp.Write(fixed)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), st.Mode().Perm())
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), file)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", file, werr)
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
