package imagestore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsscope/nsscope/inspect/imagestore"
	"github.com/nsscope/nsscope/inspect/target"
	ti "github.com/nsscope/nsscope/internal/testimage"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/scan"
)

// testContainerd is a containerd started by a test: its own root, state
// and socket under a temporary directory; nothing of the machine's
// /etc/containerd or /run/containerd is read or written.
type testContainerd struct {
	dir      string // temporary directory: node/, state/, sock
	nodeRoot string // dir/node: containerd's root is node/var/lib/containerd
	sock     string
	cmd      *exec.Cmd
	exited   chan error
}

// containerdConfig enables only what the content store and image service
// need: no CRI (it would set up CNI), no /opt/containerd plugin, no
// snapshotters that probe the machine's file systems.
const containerdConfig = `version = 2
root = %q
state = %q
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]
[grpc]
  address = %q
[ttrpc]
  address = %q
`

// needContainerd skips where containerd cannot run (not root, binaries
// missing); with CI=true a root machine with containerd must run it.
func needContainerd(t testing.TB) (containerd, ctr string) {
	t.Helper()
	containerd, err1 := exec.LookPath("containerd")
	ctr, err2 := exec.LookPath("ctr")
	switch {
	case os.Geteuid() != 0:
		t.Skip("containerd tests need root (containerd cannot run unprivileged here)")
	case err1 != nil || err2 != nil:
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and root, but containerd or ctr is missing: %v %v", err1, err2)
		}
		t.Skipf("containerd or ctr not installed (%v %v); apt-get install --no-install-recommends containerd", err1, err2)
	}
	return containerd, ctr
}

// startContainerd starts a private containerd and stops it (and removes
// its directories) when the test ends, even on failure.
func startContainerd(t testing.TB) *testContainerd {
	t.Helper()
	bin, _ := needContainerd(t)
	dir, err := os.MkdirTemp("", "nsscope-containerd-test-")
	if err != nil {
		t.Fatal(err)
	}
	c := &testContainerd{dir: dir, nodeRoot: filepath.Join(dir, "node"), sock: filepath.Join(dir, "containerd.sock")}
	t.Cleanup(func() {
		c.stop(t)
		// containerd may leave read-only or mounted nothing here: no
		// snapshot is unpacked (imports use --no-unpack).
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	root := filepath.Join(c.nodeRoot, "var/lib/containerd")
	cfg := filepath.Join(dir, "config.toml")
	body := fmt.Sprintf(containerdConfig, root, filepath.Join(dir, "state"), c.sock, c.sock+".ttrpc")
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(bin, "--config", cfg, "--log-level", "warn")
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	// Its own process group, and killed with the test binary if that dies.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting containerd: %v", err)
	}
	logf.Close()
	c.exited = make(chan error, 1)
	go func() { c.exited <- c.cmd.Wait() }()
	c.waitReady(t)
	return c
}

// waitReady waits until ctr can talk to the daemon, or the daemon exits.
// There is no time margin to tune: the wait ends on an event, with a
// deadline only as a last resort against a hung daemon.
func (c *testContainerd) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		select {
		case err := <-c.exited:
			c.exited <- err
			log, _ := os.ReadFile(filepath.Join(c.dir, "containerd.log"))
			t.Fatalf("containerd exited: %v\n%s", err, log)
		default:
		}
		if _, err := os.Stat(c.sock); err == nil {
			if _, err := c.ctr("version"); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("containerd did not answer within 3 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *testContainerd) ctr(args ...string) ([]byte, error) {
	ctr, err := exec.LookPath("ctr")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(ctr, append([]string{"--address", c.sock, "--namespace", "k8s.io"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.Bytes(), err
}

// stop ends the daemon: SIGTERM, then SIGKILL to its process group.
func (c *testContainerd) stop(t testing.TB) {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	select {
	case err := <-c.exited:
		c.exited <- err
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.exited:
		c.exited <- err
	case <-time.After(2 * time.Minute):
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		c.exited <- <-c.exited
	}
	// Anything it started in its group goes too.
	syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
}

func (c *testContainerd) importArchive(t testing.TB, archive string) {
	t.Helper()
	if out, err := c.ctr("images", "import", "--no-unpack", archive); err != nil {
		t.Fatalf("ctr images import: %v\n%s", err, out)
	}
}

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
func findings(t *testing.T, spec string, opts target.Options) (string, *target.Target) {
	t.Helper()
	tg, err := target.Open(context.Background(), spec, opts)
	if err != nil {
		t.Fatalf("open %s: %v", spec, err)
	}
	t.Cleanup(func() { tg.Close() })
	in, err := scan.FromTarget(context.Background(), tg, spec)
	if err != nil {
		t.Fatal(err)
	}
	in.Runtime = scan.Runtime{Kind: scan.Kubernetes}
	rep, err := scan.Run(in)
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
	c := startContainerd(t)
	c.importArchive(t, app)
	c.importArchive(t, short)
	if out, err := c.ctr("images", "ls", "-q"); err != nil || !strings.Contains(string(out), "nsscope.test/app:1") {
		t.Fatalf("ctr images ls: %v\n%s", err, out)
	}

	socket := target.Options{Images: imagestore.Options{ContainerdAddress: c.sock}}
	files := target.Options{Images: imagestore.Options{NodeRoot: c.nodeRoot}}
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
	if err != nil || len(recs) != 2 || !strings.Contains(where, c.sock) {
		t.Fatalf("list via socket: %v %q %+v", err, where, recs)
	}
	c.stop(t)
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
	c := startContainerd(b)
	c.importArchive(b, app)
	for _, bc := range []struct {
		name, spec string
		opts       target.Options
	}{
		{"archive", app, target.Options{}},
		{"socket", "containerd://nsscope.test/app:1", target.Options{Images: imagestore.Options{ContainerdAddress: c.sock}}},
		{"files", "containerd://nsscope.test/app:1", target.Options{Images: imagestore.Options{NodeRoot: c.nodeRoot}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				tg, err := target.Open(context.Background(), bc.spec, bc.opts)
				if err != nil {
					b.Fatal(err)
				}
				in, err := scan.FromTarget(context.Background(), tg, bc.spec)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := scan.Run(in); err != nil {
					b.Fatal(err)
				}
				tg.Close()
			}
		})
	}
}
