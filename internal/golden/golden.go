// Package golden is the one golden-file helper of nsscope's tests, with
// the one -update flag: `go test ./PKG -update` rewrites the golden files
// (and the README's screenshots) instead of comparing with them. It is
// imported only by tests.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update is the -update flag of every test binary that imports golden.
var update = flag.Bool("update", false, "rewrite golden files (and the README's screenshots) instead of comparing with them")

// Update reports whether -update was given.
func Update() bool { return *update }

// Check compares got with the file at path; with -update it writes got
// there instead (creating the directory). A difference is reported with
// both texts and how to accept it.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update accepts the new output):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
