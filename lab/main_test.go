package lab

import (
	"os"
	"testing"
)

// TestMain lets the test binary serve as the lab's namespace init: Run
// re-executes /proc/self/exe with InitArg.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == InitArg {
		os.Exit(InitMain(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}
