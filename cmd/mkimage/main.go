// Command mkimage builds the container image of nsscope itself, without a
// Docker daemon (see package internal/selfimage):
//
//	go run ./cmd/mkimage --tarball nsscope.tar            # docker load -i nsscope.tar
//	go run ./cmd/mkimage --oci ./nsscope-oci              # an OCI image layout
//	go run ./cmd/mkimage --push ghcr.io/you/nsscope:v1    # to a registry
//
// It compiles ./cmd/nsscope statically (CGO_ENABLED=0, -trimpath) unless
// --binary names one, and tags the image --tag (default
// ghcr.io/nsscope/nsscope:latest, the name deploy/kustomization.yaml
// rewrites). Exit status: 0 written, 1 build or write failed, 2 usage.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/internal/selfimage"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := pflag.NewFlagSet("mkimage", pflag.ContinueOnError)
	binary := fs.String("binary", "", "a static nsscope binary to use instead of building ./cmd/nsscope")
	oci := fs.String("oci", "", "write an OCI image layout to `DIR`")
	tarPath := fs.String("tarball", "", "write a docker-save tarball to `FILE`")
	push := fs.String("push", "", "push the image to `REF`")
	tag := fs.String("tag", selfimage.DefaultRef, "the image name written into --oci and --tarball")
	certs := fs.String("ca-certs", selfimage.DefaultCACerts, "the CA bundle to include")
	arch := fs.String("arch", "", "GOARCH of the image (default this machine's)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "mkimage: %v (see -h)\n", err)
		return 2
	}
	if fs.NArg() != 0 || *oci == "" && *tarPath == "" && *push == "" {
		fmt.Fprintln(os.Stderr, "mkimage: give at least one of --oci DIR, --tarball FILE, --push REF, and no arguments (see -h)")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := build(ctx, *binary, *certs, *arch, *tag, *oci, *tarPath, *push); err != nil {
		fmt.Fprintf(os.Stderr, "mkimage: %v\n", err)
		return 1
	}
	return 0
}

func build(ctx context.Context, binary, certs, arch, tag, oci, tarPath, push string) error {
	if binary == "" {
		tmp, err := os.MkdirTemp("", "nsscope-mkimage-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		binary = filepath.Join(tmp, "nsscope")
		if err := selfimage.BuildBinary(ctx, ".", binary, arch); err != nil {
			return err
		}
	}
	created, err := selfimage.SourceDateEpoch(os.Getenv)
	if err != nil {
		return err
	}
	img, err := selfimage.Build(selfimage.Options{Binary: binary, CACerts: certs, Created: created, Arch: arch})
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if oci != "" {
		if err := selfimage.WriteLayout(img, tag, oci); err != nil {
			return fmt.Errorf("--oci %s: %w", oci, err)
		}
		fmt.Fprintf(os.Stderr, "mkimage: wrote %s (%s) to the OCI layout %s\n", tag, digest, oci)
	}
	if tarPath != "" {
		if err := selfimage.WriteTarball(img, tag, tarPath); err != nil {
			return fmt.Errorf("--tarball %s: %w", tarPath, err)
		}
		fmt.Fprintf(os.Stderr, "mkimage: wrote %s (%s) to %s\n", tag, digest, tarPath)
	}
	if push != "" {
		if err := selfimage.Push(ctx, img, push); err != nil {
			return fmt.Errorf("--push %s: %w", push, err)
		}
		fmt.Fprintf(os.Stderr, "mkimage: pushed %s (%s)\n", push, digest)
	}
	return nil
}
