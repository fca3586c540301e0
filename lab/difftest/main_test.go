package difftest

import (
	"os"
	"testing"

	"github.com/nsscope/nsscope/lab"
)

// TestMain lets the test binary serve as the lab's namespace init.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == lab.InitArg {
		os.Exit(lab.InitMain(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}
