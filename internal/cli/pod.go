package cli

import (
	"context"
	"errors"
)

// runPod is being written; until then it says so.
func runPod(ctx context.Context, args []string, stdio Stdio, env []string) error {
	return errors.New("not implemented yet")
}
