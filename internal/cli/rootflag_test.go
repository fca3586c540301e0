package cli

import (
	"strings"
	"testing"
)

// Every --root that takes a root file system describes it in the same
// words (rootKinds); what a verb adds or refuses follows them.
func TestRootFlagUsageShared(t *testing.T) {
	root := newRoot(&app{})
	for _, verb := range []string{"explain", "lab", "inspect", "trace"} {
		c, _, err := root.Find([]string{verb})
		if err != nil {
			t.Fatal(err)
		}
		f := c.Flags().Lookup("root")
		if f == nil {
			t.Errorf("%s: no --root", verb)
			continue
		}
		if !strings.Contains(f.Usage, ": "+rootKinds) {
			t.Errorf("%s --root: %q does not give the shared description", verb, f.Usage)
		}
	}
}
