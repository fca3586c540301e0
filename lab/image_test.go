package lab

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/klauspost/compress/zstd"

	"github.com/nsscope/nsscope/inspect/target"
	ti "github.com/nsscope/nsscope/internal/testimage"
	"github.com/nsscope/nsscope/model"
)

// TestImageRoots runs a program in an image given as --root in each form
// explain --root and scan accept: a docker save archive, an OCI layout
// directory and an OCI layout tarball (and, for comparison, a .tar.zst
// root file system is covered by rootKind). The image is Alpine 3.19 with
// a layer that adds /etc/marker and deletes /etc/motd (a whiteout): the
// program sees the merged root.
func TestImageRoots(t *testing.T) {
	requireRoot(t)
	base := ti.RootfsLayer(t, sharedData(t, "rootfs/alpine-minirootfs-3.19.4-x86_64.tar.gz"))
	top := ti.FileLayer(t, map[string]ti.File{"etc/marker": {Data: []byte("from the top layer\n")}, "etc/.wh.motd": {}})
	img := ti.Image(t, ti.Config{}, base, top)
	for _, tc := range []struct {
		kind target.Kind
		path string
	}{
		{target.KindDockerSave, ti.DockerSave(t, img, t.TempDir(), "example.com/app:1")},
		{target.KindOCILayout, ti.OCILayout(t, t.TempDir(), img)},
		{target.KindOCIArchive, ti.OCIArchive(t, t.TempDir(), img)},
		{target.KindRootfsTar, zstdRoot(t, img)},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			if k, _, err := target.ClassifyPath(tc.path, target.Limits{}); err != nil || k != tc.kind {
				t.Fatalf("ClassifyPath = %q, %v; want %q", k, err, tc.kind)
			}
			addrs := []netip.Addr{netip.MustParseAddr("127.0.0.53")}
			res, err := Runner{}.Run(context.Background(), Spec{
				Root: tc.path, Nameservers: addrs, Scenario: model.Scenario{Servers: []model.Behavior{{Kind: model.NXDomain}}},
				ResolvConf: &model.File{Data: ResolvConf(addrs, "", "")},
				Argv:       []string{"/bin/sh", "-c", "cat /etc/marker; test -e /etc/motd && echo motd present || echo motd gone; cat /etc/alpine-release"},
				Env:        []string{"PATH=" + DefaultPath},
				Timeout:    time.Minute,
			})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, l := range res.Output {
				out = append(out, l.Text)
			}
			if got, want := strings.Join(out, "|"), "from the top layer|motd gone|3.19.4"; got != want {
				t.Errorf("output %q, want %q", got, want)
			}
		})
	}
}

// TestCompressedImageArchiveRoot gives a gzipped OCI layout tarball as the
// root: the lab refuses it as explain and scan do (its blobs are not a
// root file system), instead of running the program in them.
func TestCompressedImageArchiveRoot(t *testing.T) {
	requireRoot(t)
	img := ti.Image(t, ti.Config{}, ti.FileLayer(t, map[string]ti.File{"etc/hosts": {Data: []byte("127.0.0.1 localhost\n")}}))
	plain := ti.OCIArchive(t, t.TempDir(), img)
	gz := filepath.Join(t.TempDir(), "oci.tar.gz")
	in, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(in)
	zw.Close()
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.53")}
	_, err = Runner{}.Run(context.Background(), Spec{
		Root: gz, Nameservers: addrs, Scenario: model.Scenario{Servers: []model.Behavior{{Kind: model.NXDomain}}},
		ResolvConf: &model.File{Data: ResolvConf(addrs, "", "")},
		Argv:       []string{"/bin/true"}, Timeout: time.Minute,
	})
	if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), "gzip-compressed image archive (docker save or OCI layout); decompress it first") {
		t.Fatalf("Run = %v, want the input error explain gives", err)
	}
	_, terr := target.Open(context.Background(), gz, target.Options{TempDir: t.TempDir()})
	if terr == nil || !strings.HasSuffix(err.Error(), terr.Error()) {
		t.Errorf("lab says %q, target.Open %v", err, terr)
	}
}

// zstdRoot writes the image's merged file system as a .tar.zst root.
func zstdRoot(t *testing.T, img v1.Image) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "root.tar.zst")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw, err := zstd.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	if _, err := io.Copy(zw, rc); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}
