package target

import (
	"context"
	"strings"
	"testing"
)

// A spec beginning with "-" that names no file is never taken for an
// image reference: no registry is asked (the keychain and transport are
// never reached, so the test needs no network).
func TestOpenRefusesFlagLikeReference(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, spec := range []string{"--format", "-x", "-alpine:3.16"} {
		_, err := Open(context.Background(), spec, Options{})
		if err == nil || !strings.Contains(err.Error(), "an image reference never begins with '-'") {
			t.Errorf("%s: %v", spec, err)
		}
	}
}
