package kubeio

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzInRoot: symbolic links never lead outside the root.
func FuzzInRoot(f *testing.F) {
	f.Add("/etc/resolv.conf", "../../../x", "/etc/b")
	f.Add("etc/a/../../..", "/", "a/b/c")
	f.Fuzz(func(t *testing.T, p, link1, link2 string) {
		fsys := fstest.MapFS{
			"etc/resolv.conf": {Data: []byte(link1), Mode: 0o777 | fs.ModeSymlink},
			"etc/b":           {Data: []byte(link2), Mode: 0o777 | fs.ModeSymlink},
			"etc/hosts":       {Data: []byte("127.0.0.1 localhost\n")},
		}
		got, err := inRoot(fsys, p)
		if err != nil {
			return
		}
		if got == ".." || strings.HasPrefix(got, "../") || strings.HasPrefix(got, "/") {
			t.Fatalf("resolved %q to %q, outside the root", p, got)
		}
		_ = readFact(fsys, p)
	})
}
