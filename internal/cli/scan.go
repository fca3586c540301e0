package cli

import (
	"context"
	"errors"
)

// runScan is being written; until then it says so.
func runScan(ctx context.Context, args []string, stdio Stdio, env []string) error {
	return errors.New("not implemented yet")
}
