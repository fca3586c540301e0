package cli

import (
	"context"
	"errors"
)

// runCluster is being written; until then it says so.
func runCluster(ctx context.Context, args []string, stdio Stdio, env []string) error {
	return errors.New("not implemented yet")
}
