package target_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nsscope/nsscope/inspect/target"
)

// ResolveIn over a real directory: absolute links start again at the
// root, ".." stops there, loops end with ErrLoop.
func TestResolveInDir(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.MkdirAll(filepath.Join(root, "run", "systemd"), 0o755)
	os.Symlink("/run/systemd/resolv.conf", filepath.Join(root, "etc", "resolv.conf"))
	os.Symlink("../../../../../etc/hostname", filepath.Join(root, "etc", "hosts"))
	os.Symlink("loop", filepath.Join(root, "etc", "loop"))
	lstat := target.LstatFS(os.DirFS(root))
	for in, want := range map[string]string{
		"/etc/resolv.conf": "/run/systemd/resolv.conf",
		"/etc/hosts":       "/etc/hostname",
		"/../../etc":       "/etc",
	} {
		if got, err := target.ResolveIn(in, true, lstat); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", in, got, err, want)
		}
	}
	if _, err := target.ResolveIn("/etc/loop", true, lstat); !errors.Is(err, target.ErrLoop) {
		t.Errorf("loop: %v", err)
	}
	if got, err := target.ResolveIn("/etc/loop", false, lstat); err != nil || got != "/etc/loop" {
		t.Errorf("loop, last not followed: %q %v", got, err)
	}
}
