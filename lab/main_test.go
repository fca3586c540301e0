package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"testing"
)

// envRunSpec makes the test binary a lab parent: it runs the JSON Spec in
// the variable and prints the Result (used by the clean-up tests, which
// need a lab process they can kill).
const envRunSpec = "NSSCOPE_LAB_TEST_RUN_SPEC"

// TestMain lets the test binary serve as the lab's namespace init (Run
// re-executes /proc/self/exe with InitArg), as a lab parent, and as
// FuzzExtractTar's extractor in a read-only world.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == InitArg {
		os.Exit(InitMain(os.Stdin, os.Stdout))
	}
	if s := os.Getenv(envRunSpec); s != "" {
		os.Exit(runSpecFromEnv(s))
	}
	if root := os.Getenv(envExtractReadOnly); root != "" {
		os.Exit(extractInReadOnlyWorld(root, os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

func runSpecFromEnv(s string) int {
	var spec Spec
	if err := json.Unmarshal([]byte(s), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := Runner{}.Run(ctx, spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		if IsInputError(err) {
			return 2
		}
		return 3
	}
	json.NewEncoder(os.Stdout).Encode(res) //nolint:errcheck
	return 0
}
