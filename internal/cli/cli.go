// Package cli implements the nsscope command line: one function per verb,
// each taking its arguments and standard streams, and returning an error
// whose exit code is decided in one place (see exitCode).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nsscope/nsscope/report"
)

// Exit codes of every verb.
const (
	ExitOK       = 0 // ran; nothing at or above the threshold
	ExitFindings = 1 // findings at or above --fail-on, or a lab --check mismatch
	ExitUsage    = 2 // usage error or bad input
	ExitInternal = 3 // internal error
)

// Stdio holds the streams a verb reads and writes.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// verb is one sub-command.
type verb struct {
	run     func(ctx context.Context, args []string, io Stdio, env []string) error
	summary string
}

// verbs lists the sub-commands. Each lives in a file of its own name.
func verbs() map[string]verb {
	return map[string]verb{
		"explain":    {runExplain, "predict how a name resolves here, in a root filesystem, or for a given program"},
		"lab":        {runLab, "run a program in a throwaway network namespace with fake nameservers"},
		"inspect":    {runInspect, "read a binary: Go version, build settings, cgo resolver, libc"},
		"scan":       {runScan, "find programs in a host, root filesystem or image and give a verdict for each"},
		"pod":        {runPod, "a pod's effective resolv.conf and /etc/hosts, and what lookups cost in it"},
		"apiserver":  {runAPIServer, "predict kube-apiserver's loopback host and its start-up"},
		"cluster":    {runCluster, "check every pod of a cluster"},
		"node":       {runNode, "report this node's resolver facts as JSON (for a DaemonSet)"},
		"dockerfile": {runDockerfile, "check a Dockerfile before the image exists"},
	}
}

// ExitError carries an exit code with an error.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// usageErrorf returns an error that exits with ExitUsage.
func usageErrorf(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// inputError wraps err (a bad file, a bad flag value) to exit with ExitUsage.
func inputError(err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: ExitUsage, Err: err}
}

// errHelp is returned by a verb's flag parser after it printed the usage
// for -h: exit 0, nothing more printed (see Main).
var errHelp = &ExitError{Code: ExitOK}

// writeReport renders rep and turns findings at or above threshold into
// errFindings; scan, dockerfile and cluster end this way.
func writeReport(w io.Writer, rep *report.Report, format report.Format, opts report.TextOptions, threshold report.Severity) error {
	if err := report.Write(w, rep, format, opts); err != nil {
		return err
	}
	if rep.Fails(threshold) {
		return errFindings
	}
	return nil
}

// errFindings is returned by verbs whose result crosses --fail-on; it prints
// nothing.
var errFindings = &ExitError{Code: ExitFindings}

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitInternal
}

const usageText = `nsscope — how will this program resolve host names, here?

Usage:
  nsscope <command> [flags] [args]

Commands:
%s
Run 'nsscope <command> -h' for a command's flags.

Exit codes: 0 nothing at or above --fail-on, 1 findings (or a lab --check
mismatch), 2 usage error or bad input, 3 internal error.
`

func usage(w io.Writer) {
	vs := verbs()
	names := []string{"explain", "lab", "inspect", "scan", "pod", "apiserver", "cluster", "node", "dockerfile"}
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "  %-11s %s\n", n, vs[n].summary)
	}
	fmt.Fprintf(w, usageText, b.String())
}

// Main runs the command line and returns the exit code. It never panics on
// bad input: a panic is reported as an internal error.
func Main(ctx context.Context, args []string, stdio Stdio, env []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stdio.Err, "nsscope: internal error: %v\n", r)
			code = ExitInternal
		}
	}()
	if len(args) == 0 {
		usage(stdio.Err)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdio.Out)
		return ExitOK
	}
	v, ok := verbs()[args[0]]
	if !ok {
		fmt.Fprintf(stdio.Err, "nsscope: unknown command %q (run 'nsscope help')\n", args[0])
		return ExitUsage
	}
	err := v.run(ctx, args[1:], stdio, env)
	code = exitCode(err)
	if err != nil {
		var ee *ExitError
		if !(errors.As(err, &ee) && ee.Err == nil) {
			msg := strings.TrimSpace(err.Error())
			fmt.Fprintf(stdio.Err, "nsscope %s: %s\n", args[0], msg)
		}
	}
	return code
}
