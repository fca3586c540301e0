package sysenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"
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
	env := src.Env()
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
	env := src.Env()
	if !env.NSSwitch.Missing || env.Hosts.Missing || len(env.Hosts.Data) == 0 {
		t.Errorf("alpine 3.13: nsswitch %+v hosts %+v", env.NSSwitch, env.Hosts)
	}
	if l := src.Libc(); l.Kind != "musl" || l.Version.String() != "1.2.2" {
		t.Errorf("libc %v", l)
	}
}

func TestOverride(t *testing.T) {
	env := Host().Env()
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
