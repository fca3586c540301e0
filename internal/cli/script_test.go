package cli

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/nsscope/nsscope/internal/golden"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the nsscope command in scripts
// (testdata/script/*.txtar, run by TestScripts):
//
//	exec nsscope ARGS...            runs nsscope, failing on a non-zero exit
//	exec nsscope-exit N ARGS...     runs nsscope, failing unless it exits N
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"nsscope": func() {
			os.Exit(Main(context.Background(), os.Args[1:], Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Environ()))
		},
		"nsscope-exit": func() {
			want, err := strconv.Atoi(os.Args[1])
			if err != nil {
				fmt.Fprintln(os.Stderr, "nsscope-exit: want the exit code first")
				os.Exit(100)
			}
			got := Main(context.Background(), os.Args[2:], Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Environ())
			if got != want {
				fmt.Fprintf(os.Stderr, "nsscope-exit: exit %d, want %d\n", got, want)
				os.Exit(100)
			}
			os.Exit(0)
		},
	})
}

// TestScripts runs the command-line scripts: flags anywhere, help,
// version, completion, one error format, refused values, --output, stdin.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       golden.Update(),
		// [shared]: ../shared/data is there; [root]: the test runs as
		// root (sniff's packet socket).
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "shared":
				_, err := os.Stat(sharedDataDir())
				return err == nil, nil
			case "root":
				return os.Geteuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(e *testscript.Env) error {
			e.Setenv("SHARED", sharedDataDir())
			// An ELF file to inspect: this test binary.
			e.Setenv("EXE", os.Args[0])
			// The layer cache stays in the script's work directory.
			e.Setenv("XDG_CACHE_HOME", e.WorkDir+"/.cache")
			return nil
		},
	})
}

// sharedDataDir is ../shared/data, which scripts use through $SHARED
// (guarded by the [shared] condition).
func sharedDataDir() string {
	wd, _ := os.Getwd()
	return wd + "/../../../shared/data"
}
