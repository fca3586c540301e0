// Package testimage builds container images for tests, in memory and on
// disk, with go-containerregistry: layers from root filesystem tarballs or
// from a map of files, images with a configuration (Entrypoint, Cmd, Env),
// written as a docker save archive, an OCI layout directory or tar, or
// pushed to an in-process registry on loopback. It also builds Go test
// binaries with the machine's Go and finds the shared test data.
//
// Nothing here touches the network beyond 127.0.0.1.
package testimage

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
)

// ModuleRoot returns the root of the nsscope module (the directory with
// go.mod), found from the test's working directory upwards.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// DataDir returns ../shared/data beside the module root, and skips the
// test when it is absent.
func DataDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(ModuleRoot(t), "..", "shared", "data")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("shared test data not found at %s", d)
	}
	return d
}

// Rootfs returns the path of a rootfs tarball in the shared data by file
// name ("alpine-minirootfs-3.13.12-x86_64.tar.gz").
func Rootfs(t testing.TB, file string) string {
	t.Helper()
	p := filepath.Join(DataDir(t), "rootfs", file)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not found", p)
	}
	return p
}

// Binary returns the path of a binary in the shared data by file name
// ("esbuild-0.8.40-linux-amd64").
func Binary(t testing.TB, file string) string {
	t.Helper()
	p := filepath.Join(DataDir(t), "binaries", file)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not found", p)
	}
	return p
}

// Shared test data names.
const (
	Alpine313   = "alpine-minirootfs-3.13.12-x86_64.tar.gz" // musl, no /etc/nsswitch.conf
	Alpine316   = "alpine-minirootfs-3.16.9-x86_64.tar.gz"  // musl, nsswitch.conf "hosts: files dns"
	BusyboxMusl = "busybox-musl-amd64-rootfs.tar.gz"        // static musl busybox, no nsswitch.conf
	BusyboxGlib = "busybox-glibc-amd64-rootfs.tar.gz"       // glibc 2.41 (Debian), nsswitch.conf
	Esbuild115  = "esbuild-0.8.40-linux-amd64"              // Go 1.15.7, static, stripped
	Esbuild116  = "esbuild-0.11.23-linux-amd64"             // Go 1.16.3, static, stripped
)

// File is one entry of a layer built by FileLayer.
type File struct {
	Data []byte
	// Mode is the permission bits (default 0644, or 0755 when Data starts
	// with the ELF magic).
	Mode int64
	// Link makes the entry a symbolic link to Link.
	Link string
	// HardLink makes the entry a hard link to that path.
	HardLink string
	// Dir makes the entry a directory.
	Dir bool
	// FromFile fills Data from a host file.
	FromFile string
}

// TarBytes builds an uncompressed tar from files (paths without a leading
// slash, e.g. "etc/hosts"), in path order. Whiteouts are files named
// ".wh.NAME" (and ".wh..wh..opq").
func TarBytes(t testing.TB, files map[string]File) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	writeFiles(t, tw, files)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// RootfsWith writes dst, a gzipped tar holding every entry of the gzipped
// root filesystem tarball src followed by files (as TarBytes writes them),
// and returns dst's uncompressed size.
func RootfsWith(t testing.TB, src, dst string, files map[string]File) int64 {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	zw := gzip.NewWriter(out)
	cw := &countingWriter{w: zw}
	tw := tar.NewWriter(cw)
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	writeFiles(t, tw, files)
	for _, c := range []io.Closer{tw, zw, out} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return cw.n
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeFiles writes files to tw in path order.
func writeFiles(t testing.TB, tw *tar.Writer, files map[string]File) {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := files[n]
		if f.FromFile != "" {
			d, err := os.ReadFile(f.FromFile)
			if err != nil {
				t.Fatal(err)
			}
			f.Data = d
			if f.Mode == 0 {
				f.Mode = 0o755
			}
		}
		h := &tar.Header{Name: n, Mode: f.Mode, Typeflag: tar.TypeReg, Size: int64(len(f.Data))}
		switch {
		case f.Dir:
			h.Typeflag, h.Size = tar.TypeDir, 0
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		case f.Link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.Link, 0
			if h.Mode == 0 {
				h.Mode = 0o777
			}
		case f.HardLink != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, f.HardLink, 0
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if bytes.HasPrefix(f.Data, []byte("\x7fELF")) {
				h.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// FileLayer builds a gzip-compressed layer from files.
func FileLayer(t testing.TB, files map[string]File) v1.Layer {
	t.Helper()
	data := TarBytes(t, files)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// RootfsLayer makes a layer from a rootfs tarball (compressed or not).
func RootfsLayer(t testing.TB, tarPath string) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromFile(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Config is the image configuration set by Image.
type Config struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	User       string
	WorkingDir string
	// Platform defaults to linux/amd64.
	OS, Arch string
}

// Image stacks layers (bottom first) into an image with the config.
func Image(t testing.TB, cfg Config, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = cfg.OS, cfg.Arch
	if cf.OS == "" {
		cf.OS = "linux"
	}
	if cf.Architecture == "" {
		cf.Architecture = runtime.GOARCH
	}
	cf.Config.Entrypoint = cfg.Entrypoint
	cf.Config.Cmd = cfg.Cmd
	cf.Config.Env = cfg.Env
	cf.Config.User = cfg.User
	cf.Config.WorkingDir = cfg.WorkingDir
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// DockerSave writes img as a docker save archive into dir and returns its
// path.
func DockerSave(t testing.TB, img v1.Image, dir, tag string) string {
	t.Helper()
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "image.tar")
	if err := tarball.WriteToFile(p, ref, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// OCILayout writes img (and any more images, for a multi-platform index
// use Index) as an OCI image layout directory under dir and returns it.
func OCILayout(t testing.TB, dir string, imgs ...v1.Image) string {
	t.Helper()
	p := filepath.Join(dir, "layout")
	lp, err := layout.Write(p, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		plat := v1.Platform{OS: cf.OS, Architecture: cf.Architecture}
		if err := lp.AppendImage(img, layout.WithPlatform(plat)); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// OCIArchive writes img as an OCI layout and packs it into an
// uncompressed tar; it returns the tar's path.
func OCIArchive(t testing.TB, dir string, imgs ...v1.Image) string {
	t.Helper()
	src := OCILayout(t, dir, imgs...)
	p := filepath.Join(dir, "oci.tar")
	out, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	err = filepath.Walk(src, func(fp string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, fp)
		if rel == "." {
			return nil
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(fp)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// Registry starts an in-process registry on 127.0.0.1 for the test and
// returns its host:port. Use it with Push and target.Options{Insecure:
// true}.
func Registry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(discardLogger())))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// Push uploads img to ref ("127.0.0.1:port/repo:tag") and returns the
// reference with its digest.
func Push(t testing.TB, img v1.Image, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return r.Context().Name() + "@" + d.String()
}

// PushIndex uploads a multi-platform index of the images to ref.
func PushIndex(t testing.TB, ref string, imgs ...v1.Image) {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture}},
		})
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
}

// GoProgram is a small program that resolves the name given as its first
// argument; GoBuild builds it by default.
const GoProgram = `package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	addrs, err := net.LookupHost(os.Args[1])
	fmt.Println(addrs, err)
}
`

// GoBuild builds src (a main package's source; GoProgram when empty) with
// the machine's Go and returns the binary's path. env adds environment
// variables ("CGO_ENABLED=0", "CC=musl-gcc"); args are extra go build
// flags ("-tags=netgo", "-ldflags=-s -w"). It skips the test when go (or
// the C compiler a cgo build needs) is missing.
func GoBuild(t testing.TB, src string, env []string, args ...string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not found")
	}
	if src == "" {
		src = GoProgram
	}
	for _, e := range env {
		if cc, ok := strings.CutPrefix(e, "CC="); ok {
			if _, err := exec.LookPath(cc); err != nil {
				t.Skipf("%s not found", cc)
			}
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/probe\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "probe")
	cmdArgs := append([]string{"build", "-trimpath", "-o", out}, args...)
	cmd := exec.Command(goBin, append(cmdArgs, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	cmd.Env = append(cmd.Env, env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		if bytes.Contains(b, []byte("C compiler")) || bytes.Contains(b, []byte("gcc")) {
			t.Skipf("cgo build impossible here: %s", b)
		}
		t.Fatalf("go build %v: %v\n%s", args, err, b)
	}
	return out
}

// Rel turns an absolute image path into a layer path ("/etc/hosts" →
// "etc/hosts").
func Rel(p string) string { return strings.TrimPrefix(path.Clean(p), "/") }

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }
