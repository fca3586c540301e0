// Package selfimage builds the container image of nsscope itself without
// a Docker daemon: a static nsscope binary on an empty base (scratch) with
// the CA certificates it needs to reach registries and API servers, written
// as an OCI layout or a docker-save tarball, or pushed to a registry, with
// go-containerregistry.
//
// The image holds:
//
//	/nsscope                            the binary (CGO_ENABLED=0, -trimpath)
//	/etc/ssl/certs/ca-certificates.crt  the CA bundle
//	/etc/nsswitch.conf                  hosts: files dns
//	/tmp                                mode 1777, for nsscope's temp files
//
// with ENTRYPOINT ["/nsscope"] and USER 65532:65532 (the deploy/ manifests
// set the user they need). Layer and config times are fixed (the Unix
// epoch, or SOURCE_DATE_EPOCH), so the same inputs give the same digest.
package selfimage

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Repository is the image name of nsscope, the one deploy/kustomization.yaml
// rewrites (its images: entry) and the manifests use.
const Repository = "ghcr.io/nsscope/nsscope"

// DefaultRef is the reference a built image is tagged with by default.
const DefaultRef = Repository + ":latest"

// Paths inside the image.
const (
	BinaryPath  = "/nsscope"
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
)

// DefaultCACerts is where Debian and Alpine keep the CA bundle on the
// building machine.
const DefaultCACerts = "/etc/ssl/certs/ca-certificates.crt"

// Options are the inputs of Build.
type Options struct {
	// Binary is a static nsscope binary for Linux (see BuildBinary).
	Binary string
	// CACerts is the CA bundle to include (default DefaultCACerts).
	CACerts string
	// Created is the image and file time (default: the Unix epoch).
	Created time.Time
	// Arch is the binary's architecture (default runtime.GOARCH).
	Arch string
}

// BuildBinary compiles ./cmd/nsscope of the module in moduleDir into out:
// static (CGO_ENABLED=0, Go's own resolver), -trimpath, for linux/arch.
func BuildBinary(ctx context.Context, moduleDir, out, arch string) error {
	if arch == "" {
		arch = runtime.GOARCH
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", abs, "./cmd/nsscope")
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if outp, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/nsscope: %w\n%s", err, outp)
	}
	return nil
}

// Build assembles the image from opt.
func Build(opt Options) (v1.Image, error) {
	if opt.CACerts == "" {
		opt.CACerts = DefaultCACerts
	}
	if opt.Arch == "" {
		opt.Arch = runtime.GOARCH
	}
	bin, err := os.ReadFile(opt.Binary)
	if err != nil {
		return nil, fmt.Errorf("nsscope binary: %w", err)
	}
	if !bytes.HasPrefix(bin, []byte("\x7fELF")) {
		return nil, fmt.Errorf("nsscope binary %s: not an ELF file", opt.Binary)
	}
	certs, err := os.ReadFile(opt.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w (give --ca-certs FILE)", err)
	}
	created := opt.Created.UTC()
	if created.IsZero() {
		created = time.Unix(0, 0).UTC()
	}
	layerTar, err := rootTar(created, bin, certs)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	base, err = mutate.ConfigFile(base, &v1.ConfigFile{
		Architecture: opt.Arch,
		OS:           "linux",
		Config: v1.Config{
			Entrypoint: []string{BinaryPath},
			User:       "65532:65532",
			Labels: map[string]string{
				"org.opencontainers.image.title": "nsscope",
			},
		},
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "nsscope selfimage: static nsscope, CA certificates", Comment: "built without a Docker daemon"},
	})
	if err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: created})
}

// rootTar is the image's one layer.
func rootTar(mtime time.Time, bin, certs []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	err := errors.Join(
		dir("etc/", 0o755),
		dir("etc/ssl/", 0o755),
		dir("etc/ssl/certs/", 0o755),
		file("etc/ssl/certs/ca-certificates.crt", 0o644, certs),
		// Go 1.16+ reads /etc/hosts first without it; the file says so
		// for every reader.
		file("etc/nsswitch.conf", 0o644, []byte("hosts: files dns\n")),
		dir("tmp/", 0o1777),
		file("nsscope", 0o755, bin),
		tw.Close(),
	)
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteTarball writes img as a docker-save tarball tagged ref (`docker
// load -i`, `nsscope scan FILE`).
func WriteTarball(img v1.Image, ref, path string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image name %q: %w", ref, err)
	}
	return tarball.WriteToFile(path, tag, img)
}

// WriteLayout writes img into an OCI image layout directory (created if
// missing), annotated with ref.
func WriteLayout(img v1.Image, ref, dir string) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return err
		}
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref}))
}

// Push writes img to the registry at ref with the credentials of the
// default keychain (docker config, credential helpers).
func Push(ctx context.Context, img v1.Image, ref string) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return fmt.Errorf("image name %q: %w", ref, err)
	}
	return remote.Write(r, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
}

// SourceDateEpoch reads SOURCE_DATE_EPOCH (reproducible builds), or
// returns the zero time.
func SourceDateEpoch(env func(string) string) (time.Time, error) {
	v := env("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", v, err)
	}
	return time.Unix(n, 0).UTC(), nil
}
