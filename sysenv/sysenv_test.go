package sysenv

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	ti "github.com/nsscope/nsscope/internal/testimage"
)

func TestRootDirConfinesLinks(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "run", "systemd"), 0o755))
	must(os.WriteFile(filepath.Join(root, "run", "systemd", "resolv.conf"), []byte("nameserver 127.0.0.53\n"), 0o644))
	// An absolute link, as in images: it must resolve inside the root.
	must(os.Symlink("/run/systemd/resolv.conf", filepath.Join(root, "etc", "resolv.conf")))
	// A link that climbs out: it must stay inside (and here find nothing).
	must(os.Symlink("../../../../../../etc/hostname", filepath.Join(root, "etc", "hosts")))
	// A loop.
	must(os.Symlink("nsswitch.conf", filepath.Join(root, "etc", "nsswitch.conf")))
	must(os.Mkdir(filepath.Join(root, "etc", "mdns.allow"), 0o755))

	src, err := Root(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	env, err := src.ReadEnv()
	if err != nil {
		t.Fatal(err)
	}
	if string(env.ResolvConf.Data) != "nameserver 127.0.0.53\n" {
		t.Errorf("resolv.conf through an absolute link: %+v", env.ResolvConf)
	}
	if !env.Hosts.Missing {
		t.Errorf("a link out of the root must not reach the host: %+v", env.Hosts)
	}
	if env.NSSwitch.ReadErr == "" {
		t.Errorf("a link loop must be an error: %+v", env.NSSwitch)
	}
	if env.MDNSAllow.ReadErr != "is a directory" {
		t.Errorf("a directory is not a file: %+v", env.MDNSAllow)
	}
}

func TestRootTarball(t *testing.T) {
	tgz := filepath.Join("..", "..", "shared", "data", "rootfs", "alpine-minirootfs-3.13.12-x86_64.tar.gz")
	if _, err := os.Stat(tgz); err != nil {
		t.Skip("shared data not available")
	}
	src, err := Root(context.Background(), tgz)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	env, err := src.ReadEnv()
	if err != nil {
		t.Fatal(err)
	}
	if !env.NSSwitch.Missing || env.Hosts.Missing || len(env.Hosts.Data) == 0 {
		t.Errorf("alpine 3.13: nsswitch %+v hosts %+v", env.NSSwitch, env.Hosts)
	}
	if l := src.Libc(); l.Kind != "musl" || l.Version.String() != "1.2.2" {
		t.Errorf("libc %v", l)
	}
}

func TestOverride(t *testing.T) {
	env, err := Host().ReadEnv()
	if err != nil {
		t.Fatal(err)
	}
	f := env.Hosts
	if err := Override(&f, "missing"); err != nil || !f.Missing {
		t.Errorf("missing: %+v %v", f, err)
	}
	if err := Override(&f, t.TempDir()); err == nil {
		t.Error("a directory accepted")
	}
	if err := Override(&f, filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("a missing file accepted")
	}
}

// A large /etc/hosts in a root is read whole (issue 12: a 2 MB file was
// read as 24,637 of its 46,006 lines, so localhost at its end was "not in
// /etc/hosts"); one over the limit is an error naming the file and the
// limit, in a directory as in a tarball; a FIFO is refused without
// blocking.
func TestFileBounds(t *testing.T) {
	var big strings.Builder
	for big.Len() < 2<<20 {
		big.WriteString("10.1.2.3 some-host-name-that-fills-the-file.example\n")
	}
	big.WriteString("127.0.0.1 localhost\n")
	huge := strings.Repeat("#", MaxFileSize+1)
	for _, tc := range []struct {
		name, hosts, wantErr string
	}{
		{"2 MB", big.String(), ""},
		{"over the limit", huge, "larger than the 4194304-byte limit"},
	} {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
		os.WriteFile(filepath.Join(dir, "etc", "hosts"), []byte(tc.hosts), 0o644)
		tarPath := filepath.Join(t.TempDir(), "root.tar")
		os.WriteFile(tarPath, ti.TarBytes(t, map[string]ti.File{"etc/hosts": {Data: []byte(tc.hosts)}}), 0o644)
		for _, spec := range []string{dir, tarPath} {
			src, err := Root(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			env, err := src.ReadEnv()
			src.Close()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("%s %s: %v", tc.name, spec, err)
			case tc.wantErr == "" && !bytes.HasSuffix(env.Hosts.Data, []byte("127.0.0.1 localhost\n")):
				t.Errorf("%s %s: read %d of %d bytes", tc.name, spec, len(env.Hosts.Data), len(tc.hosts))
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "/etc/hosts")):
				t.Errorf("%s %s: err %v, want %q naming /etc/hosts", tc.name, spec, err, tc.wantErr)
			}
		}
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	if err := syscall.Mkfifo(filepath.Join(dir, "etc", "resolv.conf"), 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	src, err := Root(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.ReadEnv(); err == nil || !strings.Contains(err.Error(), "a FIFO") {
		t.Errorf("resolv.conf a FIFO: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "etc", "resolv.conf"), "/etc/resolv.conf"); err == nil || !strings.Contains(err.Error(), "a FIFO") {
		t.Errorf("--resolv-conf FIFO: %v", err)
	}
}

// An OCI layout and a docker save archive are images, for --root as for
// scan: their root is the image's, not the layout's own files.
func TestRootImage(t *testing.T) {
	layer := ti.FileLayer(t, map[string]ti.File{
		"etc/hosts":         {Data: []byte("127.0.0.1 localhost\n")},
		"etc/nsswitch.conf": {Data: []byte("hosts: files dns\n")},
	})
	img := ti.Image(t, ti.Config{}, layer)
	for _, spec := range []string{ti.OCILayout(t, t.TempDir(), img), ti.DockerSave(t, img, t.TempDir(), "x:1")} {
		src, err := Root(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		env, err := src.ReadEnv()
		src.Close()
		if err != nil || string(env.NSSwitch.Data) != "hosts: files dns\n" || env.Hosts.Missing {
			t.Errorf("%s: %v nsswitch %+v", spec, err, env.NSSwitch)
		}
	}
}

// TestAlpineMuslRelease: the musl of an Alpine root carries its package
// release from the apk database (issue 11: distribution patches).
func TestAlpineMuslRelease(t *testing.T) {
	for _, c := range []struct{ rootfs, release string }{
		{"alpine-minirootfs-3.13.12-x86_64.tar.gz", "1.2.2-r1"},
		{"alpine-minirootfs-3.16.9-x86_64.tar.gz", "1.2.3-r3"},
		{"alpine-minirootfs-3.10.9-x86_64.tar.gz", "1.1.22-r4"},
		{"alpine-minirootfs-3.19.4-x86_64.tar.gz", "1.2.4_git20230717-r4"},
	} {
		path := filepath.Join("..", "..", "shared", "data", "rootfs", c.rootfs)
		if _, err := os.Stat(path); err != nil {
			t.Skipf("%s not found (../shared/data is absent)", path)
		}
		src, err := Root(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		l := src.Libc()
		src.Close()
		if l.Kind != "musl" || l.Release != c.release || l.Distro != "alpine" {
			t.Errorf("%s: libc %+v, want musl release %s (alpine)", c.rootfs, l, c.release)
		}
	}
}
