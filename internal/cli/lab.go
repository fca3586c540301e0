package cli

import (
	"context"
	"errors"
)

// runLab is being written; until then it says so.
func runLab(ctx context.Context, args []string, stdio Stdio, env []string) error {
	return errors.New("not implemented yet")
}
