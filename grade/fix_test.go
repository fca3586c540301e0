package grade

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/internal/testimage"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/sysenv"
)

// TestFixAppliesToRealRoots proves scan's nsswitch fix on real root file
// systems: the scan of the extracted root finds the critical lookup, the
// fix's diff applies with `git apply` in the root, and the scan of the
// patched root has nothing at warning or above.
func TestFixAppliesToRealRoots(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed: the fix's diff is not applied")
	}
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("tar not installed")
	}
	prog := Program{Path: "/app", Main: true, Variants: []Variant{{Program: model.Program{Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 15, 7)}}}}}
	cases := []struct {
		name, rootfs string
		nss          *string // written over the image's file; nil keeps it
	}{
		{"alpine-3.13 no file", testimage.Alpine313, nil},
		{"busybox-musl no file", testimage.BusyboxMusl, nil},
		{"alpine-3.16 dns first", testimage.Alpine316, ptr("hosts: dns files\n")},
		{"busybox-glibc two hosts lines", testimage.BusyboxGlib, ptr("passwd: files\nhosts: dns\nhosts: files dns\n")},
		{"alpine-3.16 no hosts line, no final newline", testimage.Alpine316, ptr("passwd: files")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			if out, err := exec.Command("tar", "-xzf", testimage.Rootfs(t, c.rootfs), "-C", root).CombinedOutput(); err != nil {
				t.Fatalf("tar: %v: %s", err, out)
			}
			nss := filepath.Join(root, "etc", "nsswitch.conf")
			if c.nss != nil {
				if err := os.WriteFile(nss, []byte(*c.nss), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			grade := func() *report.Report {
				rep, err := Run(Input{Target: root, Root: sysenv.FS{FS: os.DirFS(root)}, Programs: []Program{prog}, Runtime: Runtime{Kind: Kubernetes}})
				if err != nil {
					t.Fatal(err)
				}
				return rep
			}
			before := grade()
			if len(before.Findings) != 1 || before.Findings[0].Severity != report.Critical {
				t.Fatalf("before the fix: %+v", before.Findings)
			}
			var diff string
			for _, fx := range before.Findings[0].Fixes {
				if fx.Diff != "" {
					diff = fx.Diff
					break
				}
			}
			if diff == "" {
				t.Fatalf("no fix with a diff: %+v", before.Findings[0].Fixes)
			}
			cmd := exec.Command(git, "apply", "-")
			cmd.Dir, cmd.Stdin = root, strings.NewReader(diff)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git apply in the root: %v: %s\n%s", err, out, diff)
			}
			after := grade()
			if after.Fails(report.Warning) {
				data, _ := os.ReadFile(nss)
				t.Errorf("after the fix: %+v\nnsswitch.conf %q", after.Findings, data)
			}
		})
	}
}

func ptr(s string) *string { return &s }
