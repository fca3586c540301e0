package cli

import (
	"context"

	"github.com/nsscope/nsscope/grade"
	"github.com/nsscope/nsscope/inspect/target"
)

// scanInput reads what scan needs from an opened target (see
// grade.FromTarget).
func scanInput(ctx context.Context, t *target.Tree, spec string) (grade.Input, error) {
	return grade.FromTarget(ctx, t, spec)
}
