package imagestore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/grade"
	"github.com/nsscope/nsscope/inspect/imagestore"
	"github.com/nsscope/nsscope/inspect/target"
	tc "github.com/nsscope/nsscope/internal/testcontainerd"
	ti "github.com/nsscope/nsscope/internal/testimage"
	"github.com/nsscope/nsscope/report"
)

// testImages builds two images as docker save archives: Alpine with a Go
// program on top, and a busybox (musl) image under a Docker Hub short name.
func testImages(t testing.TB) (app, short string) {
	t.Helper()
	alpine := ti.RootfsLayer(t, ti.Rootfs(t, ti.Alpine313))
	prog := ti.FileLayer(t, map[string]ti.File{"usr/local/bin/esbuild": {FromFile: ti.Binary(t, ti.Esbuild115), Mode: 0o755}})
	img := ti.Image(t, ti.Config{Entrypoint: []string{"/usr/local/bin/esbuild"}}, alpine, prog)
	app = ti.DockerSave(t, img, t.TempDir(), "nsscope.test/app:1")
	bb := ti.Image(t, ti.Config{Cmd: []string{"sh"}}, ti.RootfsLayer(t, ti.Rootfs(t, ti.BusyboxMusl)))
	short = ti.DockerSave(t, bb, t.TempDir(), "busybox-test:2")
	return app, short
}

// findings scans a spec and returns its findings as JSON, with the
// target's own name taken out (it differs by design).
func findings(t *testing.T, spec string, opts target.Options) (string, *target.Tree) {
	t.Helper()
	tg, err := target.Open(context.Background(), spec, opts)
	if err != nil {
		t.Fatalf("open %s: %v", spec, err)
	}
	t.Cleanup(func() { tg.Close() })
	in, err := grade.FromTarget(context.Background(), tg, spec)
	if err != nil {
		t.Fatal(err)
	}
	in.Runtime = grade.Runtime{Kind: grade.Kubernetes}
	rep, err := grade.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) == 0 {
		t.Fatalf("%s: no findings; the comparison would prove nothing", spec)
	}
	data, err := json.MarshalIndent(struct {
		F []report.Finding
		N []string
	}{rep.Findings, rep.Notes}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(data), spec, "TARGET"), tg
}

// The same image gives the same findings read from its docker save
// archive, from containerd through its socket, and from containerd's
// files without the daemon (while it runs, and after it stopped).
func TestContainerdSameFindings(t *testing.T) {
	app, short := testImages(t)
	c := tc.Start(t)
	c.Import(t, app)
	c.Import(t, short)
	if out, err := c.Ctr("images", "ls", "-q"); err != nil || !strings.Contains(string(out), "nsscope.test/app:1") {
		t.Fatalf("ctr images ls: %v\n%s", err, out)
	}

	socket := target.Options{Images: imagestore.Options{ContainerdAddress: c.Sock}}
	files := target.Options{Images: imagestore.Options{NodeRoot: c.NodeRoot}}
	for _, tc := range []struct{ archive, ref string }{
		{app, "nsscope.test/app:1"},
		{short, "busybox-test:2"}, // stored as docker.io/library/busybox-test:2
	} {
		want, _ := findings(t, tc.archive, target.Options{})
		got, tg := findings(t, "containerd://"+tc.ref, socket)
		if got != want {
			t.Errorf("%s via the socket:\n%s\nwant (archive):\n%s", tc.ref, got, want)
		}
		if d := tg.Description(); d.Kind != target.KindContainerd || !strings.Contains(d.Ref, strings.TrimSuffix(tc.ref, ":2")) {
			t.Errorf("description %+v", d)
		}
		// --source containerd with a bare reference.
		bare := socket
		bare.Images.Source = imagestore.Containerd
		if got, _ := findings(t, tc.ref, bare); got != strings.ReplaceAll(want, "containerd://", "") {
			t.Errorf("%s with --source containerd differs", tc.ref)
		}
		// Daemonless, while containerd runs and holds its database lock.
		if got, _ := findings(t, "containerd://"+tc.ref, files); got != want {
			t.Errorf("%s from the files (daemon running):\n%s", tc.ref, got)
		}
	}

	recs, where, err := imagestore.List(context.Background(), socket.Images)
	if err != nil || len(recs) != 2 || !strings.Contains(where, c.Sock) {
		t.Fatalf("list via socket: %v %q %+v", err, where, recs)
	}
	c.Stop(t)
	frecs, _, err := imagestore.List(context.Background(), files.Images)
	if err != nil || fmt.Sprint(frecs) != fmt.Sprint(recs) {
		t.Fatalf("list from files after stop: %v\n%+v\nwant %+v", err, frecs, recs)
	}
	want, _ := findings(t, app, target.Options{})
	if got, _ := findings(t, "containerd://nsscope.test/app:1", files); got != want {
		t.Errorf("from the files (daemon stopped):\n%s", got)
	}
	// With the daemon gone, the socket path says so in one line.
	_, err = target.Open(context.Background(), "containerd://nsscope.test/app:1", socket)
	if !errors.Is(err, imagestore.ErrNoDaemon) || strings.Contains(err.Error(), "\n") {
		t.Errorf("stopped daemon: %v", err)
	}
}

// BenchmarkContainerdSource times opening and scanning one image (Alpine
// 3.13 plus a 9 MB Go program) from its docker save archive, from a real
// containerd through its socket, and from containerd's files without the
// daemon:
//
//	go test ./inspect/imagestore -run '^$' -bench Source -benchtime 10x
func BenchmarkContainerdSource(b *testing.B) {
	app, _ := testImages(b)
	c := tc.Start(b)
	c.Import(b, app)
	for _, bc := range []struct {
		name, spec string
		opts       target.Options
	}{
		{"archive", app, target.Options{}},
		{"socket", "containerd://nsscope.test/app:1", target.Options{Images: imagestore.Options{ContainerdAddress: c.Sock}}},
		{"files", "containerd://nsscope.test/app:1", target.Options{Images: imagestore.Options{NodeRoot: c.NodeRoot}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				tg, err := target.Open(context.Background(), bc.spec, bc.opts)
				if err != nil {
					b.Fatal(err)
				}
				in, err := grade.FromTarget(context.Background(), tg, bc.spec)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := grade.Run(in); err != nil {
					b.Fatal(err)
				}
				tg.Close()
			}
		})
	}
}
