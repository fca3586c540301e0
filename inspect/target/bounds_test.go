package target_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nsscope/nsscope/inspect/target"
	ti "github.com/nsscope/nsscope/internal/testimage"
)

// A blob listed several times is read once, and its files are there; an
// image listing more layers than the limit is refused before any is read
// (issue 12: one 3.2 MB layer listed 100,000 times took 23.9 GB).
func TestRepeatedLayer(t *testing.T) {
	t.Parallel()
	layer := ti.FileLayer(t, map[string]ti.File{
		"etc/hosts": {Data: []byte("127.0.0.1 localhost\n")},
		"bin/app":   {FromFile: ti.Binary(t, ti.Esbuild116), Mode: 0o755},
	})
	dir := t.TempDir()
	img := ti.Image(t, ti.Config{Entrypoint: []string{"/bin/app"}}, layer, layer, layer)
	tg := open(t, ti.DockerSave(t, img, dir, "rep:1"), target.Options{})
	if n := len(tg.Description().Layers); n != 3 {
		t.Fatalf("%d layers described, want 3", n)
	}
	if !hasNote(tg, "listed again: read once") {
		t.Errorf("no note of the repeated blob: %v", tg.Notes())
	}
	if e, ok := tg.Lookup("/bin/app"); !ok || e.Binary == nil || e.Binary.Go == nil {
		t.Errorf("/bin/app: %+v", e)
	}

	_, err := target.Open(context.Background(), ti.DockerSave(t, img, t.TempDir(), "rep:1"),
		target.Options{Limits: target.Limits{MaxLayers: 2}})
	if !errors.Is(err, target.ErrLimit) || !strings.Contains(err.Error(), "3 layers, more than the 2 allowed") {
		t.Errorf("3 layers over a limit of 2: %v", err)
	}
	_, err = target.Open(context.Background(), ti.OCILayout(t, t.TempDir(), img),
		target.Options{Limits: target.Limits{MaxLayers: 2}})
	if !errors.Is(err, target.ErrLimit) {
		t.Errorf("OCI layout, 3 layers over a limit of 2: %v", err)
	}
}

// A FIFO, as the target itself or as a file inside a directory target,
// is refused at once: nothing opens it for a blocking read.
func TestFIFORefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	if _, err := target.Open(context.Background(), fifo, target.Options{}); err == nil || !strings.Contains(err.Error(), "a FIFO, not a regular file") {
		t.Errorf("open FIFO: %v", err)
	}
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	if err := syscall.Mkfifo(filepath.Join(dir, "etc", "resolv.conf"), 0o644); err != nil {
		t.Fatal(err)
	}
	tg := open(t, dir, target.Options{})
	if _, err := tg.FS().Open("etc/resolv.conf"); err == nil || !strings.Contains(err.Error(), "FIFO") {
		t.Errorf("open etc/resolv.conf (a FIFO) in a directory target: %v", err)
	}
}

// The temporary directory of a run killed before Close (issue 12: a
// killed scan left /tmp/nsscope-N/elf-* for good) is removed by the next
// run; one whose owner still runs is left alone.
func TestStaleTempSwept(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	tarPath := writeTar(t, ti.TarBytes(t, map[string]ti.File{"etc/hosts": {Data: []byte("x\n")}}))
	live, err := target.Open(context.Background(), tarPath, target.Options{TempDir: base})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close() // holds its lock until the test ends
	liveDirs, _ := filepath.Glob(filepath.Join(base, "nsscope-*"))
	if len(liveDirs) != 1 {
		t.Fatalf("temp dirs of an open target: %v", liveDirs)
	}
	// A killed run: its directory, its spool file, its lock file (free
	// now that its process is gone).
	killed := filepath.Join(base, "nsscope-"+strconv.Itoa(os.Getpid())+"-killed")
	os.Mkdir(killed, 0o700)
	os.WriteFile(filepath.Join(killed, "elf-123"), []byte("\x7fELF"), 0o600)
	os.WriteFile(filepath.Join(killed, ".owner.lock"), nil, 0o600)
	// An older run without a lock file, whose PID is gone.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	old := filepath.Join(base, "nsscope-"+strconv.Itoa(cmd.Process.Pid)+"-old")
	os.Mkdir(old, 0o700)
	// Not ours: the lab's own directories.
	lab := filepath.Join(base, "nsscope-lab-1-x")
	os.Mkdir(lab, 0o700)
	// A live run setting its directory up: the lock file is locked under
	// its pending name before it is renamed into place, so a sweep never
	// finds an unlocked lock file of a live run (it did, and removed the
	// directory of a scan in progress).
	settingUp := filepath.Join(base, "nsscope-"+strconv.Itoa(os.Getpid())+"-setup")
	os.Mkdir(settingUp, 0o700)
	os.WriteFile(filepath.Join(settingUp, ".owner.lock.new"), nil, 0o600)

	tg, err := target.Open(context.Background(), tarPath, target.Options{TempDir: base})
	if err != nil {
		t.Fatal(err)
	}
	tg.Close()
	for _, gone := range []string{killed, old} {
		if _, err := os.Stat(gone); err == nil {
			t.Errorf("%s left behind", gone)
		}
	}
	for _, kept := range []string{liveDirs[0], lab, settingUp} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("%s removed: %v", kept, err)
		}
	}
}

// TempDir (the CLI's spool of a tarball read from standard input) is one
// of these swept, locked directories: another run leaves it alone while it
// is held, remove takes it away, and a killed holder's is swept as above.
func TestTempDir(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dir, remove, err := target.TempDir(base)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(dir), "nsscope-"+strconv.Itoa(os.Getpid())+"-") {
		t.Errorf("TempDir = %s, want the swept nsscope-PID- name", dir)
	}
	_, remove2, err := target.TempDir(base)
	if err != nil {
		t.Fatal(err)
	}
	defer remove2()
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("a held directory was swept: %v", err)
	}
	remove()
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s left after remove", dir)
	}
}

// Reading a file again from its layer stops when Open's context is
// cancelled (issue 15.8: it used context.Background()).
func TestRereadCancelled(t *testing.T) {
	t.Parallel()
	big := make([]byte, 2<<20) // over MaxKeepFile: not kept, read again
	tarPath := writeTar(t, ti.TarBytes(t, map[string]ti.File{"data/big": {Data: big}}))
	ctx, cancel := context.WithCancel(context.Background())
	tg, err := target.Open(ctx, tarPath, target.Options{Keep: func(string, int64) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	cancel()
	if _, err := tg.FS().Open("data/big"); !errors.Is(err, context.Canceled) {
		t.Errorf("open after cancel: %v", err)
	}
}
