// Package cli implements the nsscope command line: one cobra command per
// verb, flags in shared groups (flags.go), each verb parsing its flags and
// printing what the library packages compute. Errors carry their exit code,
// decided in one place (exitCode), and are printed in one format by Main.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nsscope/nsscope/internal/jsonstyle"
	"github.com/nsscope/nsscope/lab"
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

// ExitError carries an exit code with an error.
type ExitError struct {
	Code int
	Err  error
	// Usage marks a command-line mistake: Main adds a pointer to the
	// verb's help.
	Usage bool
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// usageErrorf returns a command-line error: exit 2, with a pointer to -h.
func usageErrorf(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...), Usage: true}
}

// inputError wraps err (a bad file, a bad value read from one) to exit
// with ExitUsage.
func inputError(err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	return &ExitError{Code: ExitUsage, Err: err}
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

// writeReport renders rep to out and turns findings at or above threshold
// into errFindings; scan, dockerfile and cluster end this way.
func writeReport(out *output, rep *report.Report, format report.Format, opts report.TextOptions, threshold report.Severity) error {
	if err := report.Write(out, prepareReport(rep), format, opts); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if rep.Fails(threshold) {
		return errFindings
	}
	return nil
}

// prepareReport gives rep the tool and version every document names and
// [] for its empty lists.
func prepareReport(rep *report.Report) *report.Report {
	if rep.Tool == "" {
		rep.Tool = jsonstyle.Tool
	}
	if rep.Version == "" {
		rep.Version = toolVersion()
	}
	jsonstyle.FillLists(rep)
	return rep
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
	// The lab re-executes nsscope as its namespace init; that is no verb.
	if len(args) >= 2 && args[0] == "lab" && args[1] == lab.InitArg {
		return lab.InitMain(stdio.In, stdio.Out)
	}
	a := &app{stdio: stdio, env: env}
	defer a.cleanup()
	root := newRoot(a)
	if len(args) == 0 {
		root.SetOut(stdio.Err)
		root.HelpFunc()(root, nil)
		return ExitUsage
	}
	// Shell completion calls the hidden __complete command.
	if c, _, err := root.Find(args); !strings.HasPrefix(args[0], "__") && (err != nil || (c == root && !strings.HasPrefix(args[0], "-"))) {
		fmt.Fprintf(stdio.Err, "nsscope: unknown command %q (run 'nsscope help')\n", args[0])
		return ExitUsage
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if sc, why, ok := signalExit(ctx, err); ok {
		fmt.Fprintln(stdio.Err, errorLine(cmd, errors.New(why)))
		return sc
	}
	code = exitCode(err)
	if err != nil {
		var ee *ExitError
		if !(errors.As(err, &ee) && ee.Err == nil) {
			fmt.Fprintln(stdio.Err, errorLine(cmd, err))
		}
	}
	return code
}

// errorLine is the one line an error is printed as: "nsscope VERB:
// message", with a pointer to the verb's help for a usage error.
func errorLine(cmd interface{ CommandPath() string }, err error) string {
	path := "nsscope"
	if cmd != nil {
		path = cmd.CommandPath()
	}
	msg := strings.Join(strings.Fields(strings.TrimSpace(err.Error())), " ")
	var ee *ExitError
	if errors.As(err, &ee) && ee.Usage {
		msg += fmt.Sprintf(" (see '%s -h')", path)
	}
	return path + ": " + msg
}
