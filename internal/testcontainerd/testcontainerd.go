// Package testcontainerd starts a private containerd for tests (root,
// Debian's containerd package): its own root, state and socket under a
// temporary directory, images imported with ctr from docker save archives.
package testcontainerd

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Containerd is a containerd started by a test: its own root, state
// and socket under a temporary directory; nothing of the machine's
// /etc/containerd or /run/containerd is read or written.
type Containerd struct {
	Dir      string // temporary directory: node/, state/, sock
	NodeRoot string // dir/node: containerd's root is node/var/lib/containerd
	Sock     string
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

// Need skips where containerd cannot run (not root, binaries
// missing); with CI=true a root machine with containerd must run it.
func Need(t testing.TB) (containerd, ctr string) {
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

// Start starts a private containerd and stops it (and removes
// its directories) when the test ends, even on failure.
func Start(t testing.TB) *Containerd {
	t.Helper()
	bin, _ := Need(t)
	dir, err := os.MkdirTemp("", "nsscope-containerd-test-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Containerd{Dir: dir, NodeRoot: filepath.Join(dir, "node"), Sock: filepath.Join(dir, "containerd.sock")}
	t.Cleanup(func() {
		c.Stop(t)
		// containerd may leave read-only or mounted nothing here: no
		// snapshot is unpacked (imports use --no-unpack).
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	root := filepath.Join(c.NodeRoot, "var/lib/containerd")
	cfg := filepath.Join(dir, "config.toml")
	body := fmt.Sprintf(containerdConfig, root, filepath.Join(dir, "state"), c.Sock, c.Sock+".ttrpc")
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
func (c *Containerd) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		select {
		case err := <-c.exited:
			c.exited <- err
			log, _ := os.ReadFile(filepath.Join(c.Dir, "containerd.log"))
			t.Fatalf("containerd exited: %v\n%s", err, log)
		default:
		}
		if _, err := os.Stat(c.Sock); err == nil {
			if _, err := c.Ctr("version"); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("containerd did not answer within 3 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Ctr runs ctr against the daemon, in namespace k8s.io.
func (c *Containerd) Ctr(args ...string) ([]byte, error) {
	ctr, err := exec.LookPath("ctr")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(ctr, append([]string{"--address", c.Sock, "--namespace", "k8s.io"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.Bytes(), err
}

// Stop ends the daemon: SIGTERM, then SIGKILL to its process group.
func (c *Containerd) Stop(t testing.TB) {
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

// Import imports a docker save archive (ctr images import --no-unpack).
func (c *Containerd) Import(t testing.TB, archive string) {
	t.Helper()
	if out, err := c.Ctr("images", "import", "--no-unpack", archive); err != nil {
		t.Fatalf("ctr images import: %v\n%s", err, out)
	}
}
