package lab

import (
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
	for _, tc := range []struct{ kind, path string }{
		{rootKindDockerSave, ti.DockerSave(t, img, t.TempDir(), "example.com/app:1")},
		{rootKindOCIDir, ti.OCILayout(t, t.TempDir(), img)},
		{rootKindOCITar, ti.OCIArchive(t, t.TempDir(), img)},
		{rootKindTar, zstdRoot(t, img)},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			if k, err := rootKind(tc.path); err != nil || k != tc.kind {
				t.Fatalf("rootKind = %q, %v; want %q", k, err, tc.kind)
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
