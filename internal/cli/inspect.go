package cli

import (
	"context"
	"errors"
)

// runInspect is being written; until then it says so.
func runInspect(ctx context.Context, args []string, stdio Stdio, env []string) error {
	return errors.New("not implemented yet")
}
