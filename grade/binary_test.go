package grade

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/model"
)

// sharedData is ../shared/data beside the module root.
func sharedData(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "data"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared test data not found at %s", dir)
	}
	return dir
}

func TestFromBinaryEsbuild(t *testing.T) {
	data := sharedData(t)
	tests := []struct {
		file    string
		version model.Version
	}{
		{"esbuild-0.8.40-linux-amd64", model.V(1, 15, 7)},
		{"esbuild-0.11.23-linux-amd64", model.V(1, 16, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := inspect.Open(filepath.Join(data, "binaries", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			p, ok := FromBinary("/usr/local/bin/esbuild", true, b, nil)
			if !ok {
				t.Fatalf("esbuild does not resolve names? %+v", b.Go)
			}
			if len(p.Variants) != 1 {
				t.Fatalf("variants %+v (unknown %q)", p.Variants, p.Unknown)
			}
			v := p.Variants[0].Program
			if v.Impl != model.ImplGo || v.Go.Version != tt.version || v.Go.Cgo {
				t.Errorf("program %+v, want Go %s without cgo", v, tt.version)
			}
			facts := strings.Join(p.Facts, "\n")
			for _, want := range []string{"Go program built with go" + tt.version.String(), "statically linked"} {
				if !strings.Contains(facts, want) {
					t.Errorf("facts %q lack %q", p.Facts, want)
				}
			}
		})
	}
}

func TestFromBinaryVariants(t *testing.T) {
	goBin := &inspect.Binary{Go: &inspect.GoInfo{Version: "go1.20.5", Net: inspect.Fact{Value: true, Known: true}}, Interp: "/lib64/ld-linux-x86-64.so.2", Libc: "glibc"}
	p, ok := FromBinary("/app", false, goBin, []inspect.LibcRelease{{Kind: "glibc", Version: "2.31"}})
	if !ok || len(p.Variants) != 2 {
		t.Fatalf("unknown cgo resolver: %+v", p)
	}
	if p.Variants[0].Program.Go.Cgo || !p.Variants[1].Program.Go.Cgo || p.Variants[1].Program.Libc.Version != model.V(2, 31, -1) {
		t.Errorf("variants %+v", p.Variants)
	}
	staticCgo := &inspect.Binary{Static: true, Go: &inspect.GoInfo{Version: "go1.20.5", Net: inspect.Fact{Value: true, Known: true}, CgoResolver: inspect.Fact{Value: true, Known: true}}}
	p, _ = FromBinary("/static-cgo", false, staticCgo, []inspect.LibcRelease{{Kind: "glibc", Version: "2.31"}})
	if len(p.Variants) != 1 || !p.Variants[0].Program.Go.Cgo || p.Variants[0].Program.Libc.Kind != "glibc" {
		t.Errorf("static cgo binary: %+v", p.Variants)
	}
	noNet := &inspect.Binary{Go: &inspect.GoInfo{Version: "go1.20.5", Net: inspect.Fact{Value: false, Known: true}}}
	if _, ok := FromBinary("/tool", false, noNet, nil); ok {
		t.Error("a Go binary without package net was kept")
	}
	badVersion := &inspect.Binary{Go: &inspect.GoInfo{Version: "devel", Net: inspect.Fact{Value: true, Known: true}}}
	if p, ok := FromBinary("/x", false, badVersion, nil); !ok || len(p.Variants) != 0 || p.Unknown == "" {
		t.Errorf("unreadable version: %+v", p)
	}
	cprog := &inspect.Binary{Libc: "glibc", Interp: "/lib64/ld-linux-x86-64.so.2", Resolves: []string{"getaddrinfo"}}
	if p, ok := FromBinary("/usr/bin/curl", false, cprog, nil); !ok || len(p.Variants) != 2 {
		t.Errorf("glibc of unknown version: %+v", p)
	}
	if p, _ := FromBinary("/usr/bin/curl", false, cprog, []inspect.LibcRelease{{Kind: "glibc", Version: "2.36", Vendor: "Debian"}}); len(p.Variants) != 1 || p.Variants[0].Program.Impl != model.ImplGlibc {
		t.Errorf("glibc 2.36: %+v", p)
	}
	if _, ok := FromBinary("/bin/true", false, &inspect.Binary{Libc: "musl"}, nil); ok {
		t.Error("a C program without resolver imports was kept")
	}
}
