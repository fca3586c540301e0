package selfimage

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"sigs.k8s.io/yaml"

	"github.com/nsscope/nsscope/grade"
	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/internal/testimage"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/sysenv"
)

// staticBinary returns a static Go program for the image: the real
// nsscope when NSSCOPE_SELFIMAGE_BINARY names one (CI can pass the binary
// it built), else a small program of this test that resolves names with
// package net, built the way BuildBinary builds nsscope (CGO_ENABLED=0,
// -trimpath).
func staticBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("NSSCOPE_SELFIMAGE_BINARY"); p != "" {
		return p
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not installed: cannot build a static binary")
	}
	dir := t.TempDir()
	src := "package main\n\nimport (\n\t\"fmt\"\n\t\"net\"\n)\n\nfunc main() { fmt.Println(net.LookupHost(\"localhost\")) }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/resolver\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "resolver")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// caBundle returns a CA bundle file: the machine's, or a stand-in.
func caBundle(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(DefaultCACerts); err == nil {
		return DefaultCACerts
	}
	p := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(p, []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// gradeSpec opens a target as nsscope scan does and grades its programs with
// nsscope's own scan library.
func gradeSpec(t *testing.T, spec string, opts target.Options) *report.Report {
	t.Helper()
	ctx := context.Background()
	tg, err := target.Open(ctx, spec, opts)
	if err != nil {
		t.Fatalf("open %s: %v", spec, err)
	}
	defer tg.Close()
	entries, err := tg.Programs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	main, hasMain := tg.Main()
	if !hasMain || main.Path != BinaryPath {
		t.Errorf("main process %+v, want %s", main, BinaryPath)
	}
	in := grade.Input{Target: spec, Root: sysenv.FromTarget(tg, ""), Env: tg.Config().Env}
	for _, e := range entries {
		if e.Binary == nil {
			continue
		}
		if p, ok := grade.FromBinary(e.Path, e.Path == main.Path, e.Binary, tg.Libc()); ok {
			in.Programs = append(in.Programs, p)
		}
	}
	rep, err := grade.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// checkGraded: the image's one program is found, graded info, and nothing
// is at warning or above.
func checkGraded(t *testing.T, rep *report.Report) {
	t.Helper()
	if len(rep.Findings) == 0 {
		t.Fatalf("no finding: the program in the image was not found (notes %q)", rep.Notes)
	}
	for _, f := range rep.Findings {
		if f.Subject != BinaryPath {
			t.Errorf("finding for %s, want only %s", f.Subject, BinaryPath)
		}
	}
	if rep.Fails(report.Warning) {
		t.Errorf("the image of nsscope fails its own scan: %+v", rep.Findings)
	}
}

// TestImage builds the image, writes it as a docker-save tarball and an
// OCI layout, pushes it to a registry on loopback, and scans each with
// nsscope's own scan library.
func TestImage(t *testing.T) {
	bin := staticBinary(t)
	opt := Options{Binary: bin, CACerts: caBundle(t)}
	img, err := Build(opt)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Build(opt)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("two builds of the same inputs: %s and %s", d1, d2)
	}
	checkConfig(t, img)
	checkFiles(t, img, bin, opt.CACerts)

	dir := t.TempDir()
	tarPath := filepath.Join(dir, "nsscope.tar")
	if err := WriteTarball(img, DefaultRef, tarPath); err != nil {
		t.Fatal(err)
	}
	checkGraded(t, gradeSpec(t, tarPath, target.Options{}))

	oci := filepath.Join(dir, "oci")
	if err := WriteLayout(img, DefaultRef, oci); err != nil {
		t.Fatal(err)
	}
	checkGraded(t, gradeSpec(t, oci, target.Options{}))

	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/nsscope:test"
	if err := Push(context.Background(), img, ref); err != nil {
		t.Fatal(err)
	}
	checkGraded(t, gradeSpec(t, ref, target.Options{Insecure: true}))
}

func checkConfig(t *testing.T, img v1.Image) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != BinaryPath || cf.Config.User != "65532:65532" {
		t.Errorf("config %+v", cf)
	}
	if m, _ := img.MediaType(); !strings.Contains(string(m), "oci") {
		t.Errorf("manifest media type %s, want OCI", m)
	}
}

// checkFiles reads the image's file system: exactly the promised entries,
// the binary and the CA bundle byte for byte.
func checkFiles(t *testing.T, img v1.Image, bin, certs string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	got := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		got[strings.TrimSuffix(h.Name, "/")] = data
		if h.Name == "tmp/" && h.Mode&0o1777 != 0o1777 {
			t.Errorf("/tmp mode %o", h.Mode)
		}
	}
	wantBin, _ := os.ReadFile(bin)
	wantCerts, _ := os.ReadFile(certs)
	if string(got["nsscope"]) != string(wantBin) || string(got["etc/ssl/certs/ca-certificates.crt"]) != string(wantCerts) {
		t.Error("the binary or the CA bundle differ from their sources")
	}
	if string(got["etc/nsswitch.conf"]) != "hosts: files dns\n" {
		t.Errorf("nsswitch.conf %q", got["etc/nsswitch.conf"])
	}
	if len(got) != 7 {
		var names []string
		for n := range got {
			names = append(names, n)
		}
		t.Errorf("image files %q, want the 7 promised entries", names)
	}
}

func TestBuildRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	notELF := filepath.Join(dir, "nsscope")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(Options{Binary: notELF, CACerts: caBundle(t)}); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("a shell script as the binary: %v", err)
	}
	if _, err := Build(Options{Binary: filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing binary was accepted")
	}
	if err := WriteTarball(nil, "UPPER CASE", filepath.Join(dir, "x.tar")); err == nil {
		t.Error("a bad image name was accepted")
	}
}

// TestDeployImageName: deploy/ names the image in one place, its
// kustomization's images: entry, and that name is Repository; every
// manifest uses it, so `kustomize edit set image` reaches all of them.
func TestDeployImageName(t *testing.T) {
	deploy := filepath.Join(testimage.ModuleRoot(t), "deploy")
	data, err := os.ReadFile(filepath.Join(deploy, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `json:"resources"`
		Images    []struct {
			Name string `json:"name"`
		} `json:"images"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	if len(k.Images) != 1 || k.Images[0].Name != Repository {
		t.Fatalf("kustomization images %+v, want one entry named %s", k.Images, Repository)
	}
	uses := 0
	for _, r := range k.Resources {
		m, err := os.ReadFile(filepath.Join(deploy, r))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(m), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "image:"); ok {
				uses++
				if img, _, _ := strings.Cut(strings.TrimSpace(v), ":"); img != Repository {
					t.Errorf("%s: image %s, want %s (set by the kustomization)", r, v, Repository)
				}
			}
		}
	}
	if uses == 0 {
		t.Error("no manifest names an image")
	}
}
