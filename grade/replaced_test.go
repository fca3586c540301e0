package grade

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/sysenv"
)

// A file the runtime replaces is not read: a FIFO or a link loop at
// /etc/resolv.conf and /etc/hosts does not matter under the kubelet or
// Docker (issue 12 saw exit 2 with --runtime kubernetes); with runtime
// none the target's own files are read, and a FIFO is an error.
func TestReplacedFilesNotRead(t *testing.T) {
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	os.MkdirAll(etc, 0o755)
	if err := syscall.Mkfifo(filepath.Join(etc, "resolv.conf"), 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	os.Symlink("hosts", filepath.Join(etc, "hosts"))
	tg, err := target.Open(context.Background(), dir, target.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	prog := Program{Path: "/app", Variants: []Variant{{Program: model.Program{Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 15, 0)}}}}}
	for _, k := range []RuntimeKind{Kubernetes, Docker} {
		if _, err := Run(Input{Root: sysenv.FromTarget(tg, ""), Programs: []Program{prog}, Runtime: Runtime{Kind: k}}); err != nil {
			t.Errorf("runtime %s: %v", k, err)
		}
	}
	_, err = Run(Input{Root: sysenv.FromTarget(tg, ""), Programs: []Program{prog}, Runtime: Runtime{Kind: None}})
	if err == nil || !strings.Contains(err.Error(), "/etc/resolv.conf: a FIFO") {
		t.Errorf("runtime none, resolv.conf a FIFO: %v", err)
	}
}
