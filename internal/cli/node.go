package cli

import (
	"context"
	"errors"
)

// runNode is being written; until then it says so.
func runNode(ctx context.Context, args []string, stdio Stdio, env []string) error {
	return errors.New("not implemented yet")
}
