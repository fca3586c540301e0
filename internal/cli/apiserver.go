package cli

import (
	"context"
	"errors"
)

// runAPIServer is being written; until then it says so.
func runAPIServer(ctx context.Context, args []string, stdio Stdio, env []string) error {
	return errors.New("not implemented yet")
}
