package cli

import (
	"context"
	"errors"
)

// runDockerfile is being written; until then it says so.
func runDockerfile(ctx context.Context, args []string, stdio Stdio, env []string) error {
	return errors.New("not implemented yet")
}
