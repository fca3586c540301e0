package cli

import (
	"context"
	"errors"
)

// runExplain is being written; until then it says so.
func runExplain(ctx context.Context, args []string, stdio Stdio, env []string) error {
	return errors.New("not implemented yet")
}
