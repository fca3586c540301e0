package imagestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestParseSpec(t *testing.T) {
	for _, c := range []struct {
		in     string
		source Source
		want   Spec
		ok     bool
		err    string
	}{
		{in: "containerd://alpine:3.19", want: Spec{Containerd, "alpine:3.19"}, ok: true},
		{in: "docker://alpine", want: Spec{Docker, "alpine"}, ok: true},
		{in: "docker-daemon:registry.k8s.io/pause:3.9", want: Spec{Docker, "registry.k8s.io/pause:3.9"}, ok: true},
		{in: "alpine:3.19", ok: false},
		{in: "/tmp/image.tar", ok: false},
		{in: "alpine", source: Containerd, want: Spec{Containerd, "alpine"}, ok: true},
		{in: "containerd://x", source: Docker, want: Spec{Containerd, "x"}, ok: true},
		{in: "containerd://", ok: true, err: "no image reference"},
		{in: "docker-daemon:a b", ok: true, err: "not an image reference"},
		{in: "alpine", source: "podman", err: `unknown image source "podman"`},
	} {
		got, ok, err := ParseSpec(c.in, c.source)
		if ok != c.ok || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) || (err == nil && got != c.want) {
			t.Errorf("ParseSpec(%q, %q) = %+v %v %v; want %+v %v %q", c.in, c.source, got, ok, err, c.want, c.ok, c.err)
		}
	}
}

func TestNameCandidates(t *testing.T) {
	for in, want := range map[string]string{
		"alpine":                        "alpine docker.io/library/alpine:latest",
		"alpine:3.19":                   "alpine:3.19 docker.io/library/alpine:3.19",
		"bitnami/redis":                 "bitnami/redis docker.io/bitnami/redis:latest",
		"index.docker.io/library/nginx": "index.docker.io/library/nginx docker.io/library/nginx:latest",
		"registry.k8s.io/pause:3.9":     "registry.k8s.io/pause:3.9",
		"localhost:5000/app":            "localhost:5000/app localhost:5000/app:latest",
		"ghcr.io/x/y@sha256:" + strings.Repeat("a", 64): "ghcr.io/x/y@sha256:" + strings.Repeat("a", 64),
		"sha256:" + strings.Repeat("b", 64):             "sha256:" + strings.Repeat("b", 64),
	} {
		if got := strings.Join(nameCandidates(in), " "); got != want {
			t.Errorf("nameCandidates(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPickPlatform(t *testing.T) {
	h := func(c byte) v1.Hash { return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(string(c), 64)} }
	amd := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h('a'), Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}
	arm := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h('b'), Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}
	att := v1.Descriptor{MediaType: "application/vnd.in-toto+json", Digest: h('c'), Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}
	none := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h('d')}
	linuxAMD := v1.Platform{OS: "linux", Architecture: "amd64"}
	for _, c := range []struct {
		name string
		ms   []v1.Descriptor
		want v1.Platform
		pick v1.Hash
		ok   bool
	}{
		{"amd64 chosen", []v1.Descriptor{arm, amd, att}, linuxAMD, h('a'), true},
		{"arm64 asked", []v1.Descriptor{amd, arm}, v1.Platform{OS: "linux", Architecture: "arm64"}, h('b'), true},
		{"no platform as fallback", []v1.Descriptor{none, arm}, linuxAMD, h('d'), true},
		{"platform beats no platform", []v1.Descriptor{none, amd}, linuxAMD, h('a'), true},
		{"attestation never", []v1.Descriptor{att}, v1.Platform{OS: "unknown", Architecture: "unknown"}, v1.Hash{}, false},
		{"none matches", []v1.Descriptor{arm}, linuxAMD, v1.Hash{}, false},
	} {
		got, ok := pickPlatform(c.ms, c.want)
		if ok != c.ok || (ok && got.Digest != c.pick) {
			t.Errorf("%s: %v %v", c.name, got.Digest, ok)
		}
	}
}

// No Docker daemon: one line, ErrNoDaemon, at once.
func TestNoDockerDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	start := time.Now()
	_, err := Open(context.Background(), Spec{Docker, "alpine"}, Options{DockerHost: "unix://" + sock})
	if !errors.Is(err, ErrNoDaemon) || strings.Contains(err.Error(), "\n") ||
		!strings.HasPrefix(err.Error(), "no Docker daemon at unix://"+sock+" (") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > pingTimeout {
		t.Errorf("took %v", d)
	}
}

func TestNoContainerd(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(context.Background(), Spec{Containerd, "alpine"}, Options{ContainerdAddress: filepath.Join(dir, "c.sock")})
	if !errors.Is(err, ErrNoDaemon) || strings.Contains(err.Error(), "\n") {
		t.Errorf("missing socket: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o600)
	_, err = Open(context.Background(), Spec{Containerd, "alpine"}, Options{ContainerdAddress: filepath.Join(dir, "file")})
	if !errors.Is(err, ErrNoDaemon) || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("not a socket: %v", err)
	}
}

// A node root without containerd, and damaged metadata databases, are
// ErrBadStore, never a panic.
func TestBadFiles(t *testing.T) {
	node := t.TempDir()
	if _, err := Open(context.Background(), Spec{Containerd, "alpine"}, Options{NodeRoot: node}); !errors.Is(err, ErrBadStore) {
		t.Errorf("no store: %v", err)
	}
	db := filepath.Join(node, DefaultContainerdRoot, metaDB)
	os.MkdirAll(filepath.Dir(db), 0o755)
	os.MkdirAll(filepath.Join(node, DefaultContainerdRoot, contentDir), 0o755)
	for name, data := range map[string][]byte{
		"empty":   nil,
		"garbage": []byte(strings.Repeat("not bolt ", 2000)),
	} {
		os.WriteFile(db, data, 0o600)
		_, err := Open(context.Background(), Spec{Containerd, "alpine"}, Options{NodeRoot: node, TempDir: t.TempDir()})
		if !errors.Is(err, ErrBadStore) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzMetaDB opens arbitrary bytes as containerd's metadata database and
// lists and resolves in it: errors, never a panic or a hang.
func FuzzMetaDB(f *testing.F) {
	f.Add([]byte{})
	page := make([]byte, 4096*4)
	copy(page[16:], []byte{0xed, 0xda, 0x0c, 0xed, 2, 0, 0, 0, 0, 0x10, 0, 0})
	f.Add(page)
	f.Fuzz(func(t *testing.T, data []byte) {
		node := t.TempDir()
		root := filepath.Join(node, DefaultContainerdRoot)
		os.MkdirAll(filepath.Join(root, filepath.Dir(metaDB)), 0o755)
		os.MkdirAll(filepath.Join(root, contentDir), 0o755)
		os.WriteFile(filepath.Join(root, metaDB), data, 0o600)
		opts := Options{NodeRoot: node, TempDir: t.TempDir()}
		List(context.Background(), opts)
		Open(context.Background(), Spec{Containerd, "alpine"}, opts)
	})
}
