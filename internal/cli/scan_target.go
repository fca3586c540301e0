package cli

import (
	"context"

	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/scan"
)

// scanInput reads what scan needs from an opened target (see
// scan.FromTarget).
func scanInput(ctx context.Context, t *target.Target, spec string) (scan.Input, error) {
	return scan.FromTarget(ctx, t, spec)
}
