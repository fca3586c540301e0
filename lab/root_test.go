package lab

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/model"
)

// treeDigest hashes every path, mode, link target and content under dir.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v %d", strings.TrimPrefix(p, dir), info.Mode(), info.ModTime().UnixNano())
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			line += " -> " + l
		case info.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			line += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func fileDigest(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	return fmt.Sprintf("%x %v", sha256.Sum256(b), st.ModTime())
}

func sharedData(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(moduleRoot(t), "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not found (../shared/data is absent)", p)
	}
	return p
}

// TestRootDirectoryIsNeverModified runs a program in a directory root with
// every /etc file replaced or removed, as root and rootless, and checks the
// program saw the lab's files while the directory stayed byte-for-byte the
// same.
func TestRootDirectoryIsNeverModified(t *testing.T) {
	requireRoot(t)
	root := filepath.Join(t.TempDir(), "root")
	probe := buildProbe(t, filepath.Join(root, "bin"), "static")
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "nsswitch.conf"), []byte("hosts: dns files\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc", "hosts"), []byte("127.0.0.1 localhost original\n"), 0o644)
	os.Symlink("/run/elsewhere/resolv.conf", filepath.Join(root, "etc", "resolv.conf"))
	before := treeDigest(t, root)
	for _, rootless := range []bool{false, true} {
		t.Run(fmt.Sprintf("rootless=%v", rootless), func(t *testing.T) {
			ns := DefaultNameservers(1)
			spec := Spec{
				Root:        root,
				Nameservers: ns,
				Scenario:    model.Scenario{Servers: []model.Behavior{{Kind: model.NXDomain}}},
				ResolvConf:  &model.File{Data: ResolvConf(ns, "", "")},
				Hosts:       &model.File{Data: []byte("127.0.0.7 myname\n")},
				NSSwitch:    &model.File{Missing: true},
				Argv:        []string{"/bin/" + filepath.Base(probe), "-name", "myname"},
				Rootless:    rootless,
			}
			res, err := Runner{}.Run(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			p := parseProbe(t, res)
			if strings.Join(p.Addrs, " ") != "127.0.0.7" || len(res.Queries) != 0 {
				t.Errorf("program saw addrs %v with %d queries, want 127.0.0.7 from the lab's hosts file and none", p.Addrs, len(res.Queries))
			}
			if !res.NSSwitch.Missing || string(res.Hosts.Data) != "127.0.0.7 myname\n" || !strings.Contains(string(res.ResolvConf.Data), "nameserver 127.0.0.53") {
				t.Errorf("files seen: nsswitch %+v, hosts %+v, resolv.conf %+v", res.NSSwitch, res.Hosts, res.ResolvConf)
			}
		})
	}
	if after := treeDigest(t, root); after != before {
		t.Errorf("the root directory changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestRootTarball runs the incident's esbuild in the Alpine 3.13 tarball
// (no nsswitch.conf) and checks the tarball is untouched and the program
// saw Alpine's own /etc/hosts.
func TestRootTarball(t *testing.T) {
	requireRoot(t)
	tarball := sharedData(t, "rootfs/alpine-minirootfs-3.13.12-x86_64.tar.gz")
	esbuild := sharedData(t, "binaries/esbuild-0.11.23-linux-amd64")
	before := fileDigest(t, tarball)
	ns := DefaultNameservers(1)
	spec := Spec{
		Root:        tarball,
		Add:         []Add{{Src: esbuild, Dst: "/usr/local/bin/esbuild"}},
		Nameservers: ns,
		Scenario:    model.Scenario{Servers: []model.Behavior{{Kind: model.Silent}}},
		ResolvConf:  &model.File{Data: ResolvConf(ns, "", "timeout:1 attempts:1")},
		Argv:        []string{"esbuild", "--serve=localhost:8000"},
		Until:       "http://|error",
	}
	res, err := Runner{}.Run(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ended != "until" || len(res.Queries) != 0 {
		t.Errorf("ended %q with %d queries, want the URL at once (Go 1.16 reads /etc/hosts first)", res.Ended, len(res.Queries))
	}
	var opened []string
	for _, e := range res.FileEvents {
		opened = append(opened, e.Path)
	}
	if !slices.Contains(opened, "/etc/hosts") || slices.Contains(opened, "/etc/nsswitch.conf") {
		t.Errorf("files opened: %v, want /etc/hosts (and no nsswitch.conf: there is none)", opened)
	}
	if !res.NSSwitch.Missing || !strings.Contains(string(res.Hosts.Data), "localhost") || res.Program != "/usr/local/bin/esbuild" {
		t.Errorf("program %s saw nsswitch %+v, hosts %q", res.Program, res.NSSwitch, res.Hosts.Data)
	}
	if after := fileDigest(t, tarball); after != before {
		t.Errorf("the tarball changed")
	}
}

// TestHostileTarball extracts a tarball that tries to write outside its
// root (.. paths, absolute paths, a symlinked /etc pointing outside, a
// hard link to an outside file) and checks nothing lands outside.
func TestHostileTarball(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	os.MkdirAll(outside, 0o755)
	secret := filepath.Join(outside, "secret")
	os.WriteFile(secret, []byte("host secret\n"), 0o600)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body string) {
		h.Size = int64(len(body))
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	add(&tar.Header{Name: "../../outside/dotdot", Typeflag: tar.TypeReg}, "x")
	add(&tar.Header{Name: outside + "/absolute", Typeflag: tar.TypeReg}, "x")
	add(&tar.Header{Name: "etc", Typeflag: tar.TypeSymlink, Linkname: outside}, "")
	add(&tar.Header{Name: "etc/through-link", Typeflag: tar.TypeReg}, "x")
	add(&tar.Header{Name: "lnk", Typeflag: tar.TypeSymlink, Linkname: "../../outside"}, "")
	add(&tar.Header{Name: "lnk/through-relative-link", Typeflag: tar.TypeReg}, "x")
	add(&tar.Header{Name: "stolen", Typeflag: tar.TypeLink, Linkname: secret}, "")
	add(&tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}, "")
	tw.Close()

	root := filepath.Join(base, "root")
	os.Mkdir(root, 0o755)
	r, err := openRootFS(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	err = extractTar(r, &buf, DefaultTmpfsSize)
	ents, _ := os.ReadDir(outside)
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("files written outside the root: %v", names)
	}
	if err == nil {
		// The hard link to a host path resolves inside the root, where
		// there is no such file: extraction must fail, not copy the secret.
		t.Errorf("extraction of a hard link to %s succeeded", secret)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "stolen")); len(b) > 0 {
		t.Errorf("the host file was copied into the root: %q", b)
	}
}

// TestFilesCrossByteForByte puts an /etc/hosts that is not UTF-8 in the
// root and checks the program read exactly those bytes and the result
// reports exactly them: the spec and the result cross to and from the init
// whole (a JSON string would have replaced the 0xff byte).
func TestFilesCrossByteForByte(t *testing.T) {
	requireRoot(t)
	hosts := []byte("127.0.0.1 localhost \xff\xfe caf\xe9\n")
	ns := DefaultNameservers(1)
	res, err := Runner{}.Run(context.Background(), Spec{
		Nameservers: ns,
		Scenario:    model.Scenario{Servers: []model.Behavior{{Kind: model.NXDomain}}},
		ResolvConf:  &model.File{Data: ResolvConf(ns, "", "")},
		Hosts:       &model.File{Data: hosts, Origin: "latin-1 test"},
		NSSwitch:    &model.File{Missing: true},
		Argv:        []string{"/bin/sh", "-c", "od -An -tx1 /etc/hosts | tr -d ' \\n'; echo"},
		Env:         []string{"PATH=" + DefaultPath},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Hosts.Data, hosts) || res.Hosts.Origin != "latin-1 test" || !res.NSSwitch.Missing {
		t.Errorf("the result reports hosts %q (origin %q), nsswitch %+v; want %q", res.Hosts.Data, res.Hosts.Origin, res.NSSwitch, hosts)
	}
	want := fmt.Sprintf("%x", hosts)
	if len(res.Output) == 0 || res.Output[0].Text != want {
		t.Errorf("the program read %+v, want the hex %s", res.Output, want)
	}
}
