package inspect_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/internal/golden"
	ti "github.com/nsscope/nsscope/internal/testimage"
	"github.com/nsscope/nsscope/model"
)

// The shared esbuild binaries (old Go, stripped, no build settings) match
// their golden descriptions.
func TestSharedBinariesGolden(t *testing.T) {
	t.Parallel()
	for _, file := range []string{ti.Esbuild115, ti.Esbuild116} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			b, err := inspect.Open(ti.Binary(t, file))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.MarshalIndent(b, "", "  ")
			got = append(got, '\n')
			goldenPath := filepath.Join("testdata", file+".json")
			if golden.Update() {
				os.MkdirAll("testdata", 0o755)
				if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (run with -update):\n%s", file, goldenPath, got)
			}
		})
	}
}

// builds caches the test binaries: building is the slow part.
type buildKey struct {
	src  string
	env  string
	args string
}

var (
	buildMu    sync.Mutex
	buildCache = map[buildKey]string{}
)

func build(t *testing.T, src string, env []string, args ...string) string {
	t.Helper()
	k := buildKey{src, strings.Join(env, " "), strings.Join(args, " ")}
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildCache[k]; ok {
		return p
	}
	p := ti.GoBuild(t, src, env, args...)
	// t.TempDir vanishes with the first test: keep a copy for the others.
	dst := filepath.Join(sharedDir, fmt.Sprintf("bin-%d", len(buildCache)))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	buildCache[k] = dst
	return dst
}

var sharedDir string

func TestMain(m *testing.M) {
	flag.Parse()
	d, err := os.MkdirTemp("", "nsscope-inspect-test-")
	if err != nil {
		panic(err)
	}
	sharedDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

const noNetProgram = `package main

import "fmt"

func main() { fmt.Println("hello") }
`

// Binaries built here with the machine's Go cover the build settings and
// the cgo resolver evidence.
func TestBuiltBinaries(t *testing.T) {
	t.Parallel()
	goVersion := runtime.Version()
	cases := []struct {
		name      string
		src       string
		env       []string
		args      []string
		cgo       bool
		net       bool
		stripped  bool
		libc      string
		evidence  string // in CgoResolver.Evidence
		settingCE string
	}{
		{name: "cgo-glibc", env: []string{"CGO_ENABLED=1"}, cgo: true, net: true, libc: "glibc",
			evidence: "build setting CGO_ENABLED=1", settingCE: "1"},
		{name: "static", env: []string{"CGO_ENABLED=0"}, net: true,
			evidence: "build setting CGO_ENABLED=0", settingCE: "0"},
		{name: "netgo", env: []string{"CGO_ENABLED=1"}, args: []string{"-tags=netgo"}, net: true,
			evidence: "build tag netgo", settingCE: "1"},
		{name: "stripped-cgo", env: []string{"CGO_ENABLED=1"}, args: []string{"-ldflags=-s -w"}, cgo: true, net: true,
			stripped: true, libc: "glibc", evidence: "net._C2func_getaddrinfo", settingCE: "1"},
		{name: "cgo-musl", env: []string{"CGO_ENABLED=1", "CC=musl-gcc"}, cgo: true, net: true, libc: "musl",
			evidence: "CGO_ENABLED=1", settingCE: "1"},
		{name: "no-net", src: noNetProgram, env: []string{"CGO_ENABLED=1"}, net: false, settingCE: "1",
			evidence: "package net is not linked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := build(t, c.src, c.env, c.args...)
			b, err := inspect.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			g := b.Go
			if g == nil {
				t.Fatal("not recognised as Go")
			}
			if g.Version != goVersion || g.VersionEvidence != "build info" {
				t.Errorf("version %q (%s), want %s", g.Version, g.VersionEvidence, goVersion)
			}
			if g.CgoEnabled != c.settingCE || g.Path != "example.com/probe" || g.DefaultGODEBUG == "" {
				t.Errorf("settings: %+v", g)
			}
			if !g.Net.Known || g.Net.Value != c.net {
				t.Errorf("net = %v", g.Net)
			}
			if !g.CgoResolver.Known || g.CgoResolver.Value != c.cgo {
				t.Errorf("cgo resolver = %v", g.CgoResolver)
			}
			if !strings.Contains(strings.Join(g.CgoResolver.Evidence, "; "), c.evidence) {
				t.Errorf("evidence %q lacks %q", g.CgoResolver.Evidence, c.evidence)
			}
			if g.Stripped != c.stripped {
				t.Errorf("stripped = %v", g.Stripped)
			}
			if b.Libc != c.libc || b.Static == (c.libc != "") {
				t.Errorf("libc %q static %v interp %q", b.Libc, b.Static, b.Interp)
			}
			if c.cgo && !strings.Contains(strings.Join(b.Resolves, ","), "getaddrinfo") {
				t.Errorf("resolves %v", b.Resolves)
			}
			if len(b.Notes) != 0 {
				t.Errorf("notes %v", b.Notes)
			}
			prog, ok := b.Program(model.Libc{Kind: b.Libc})
			if !ok || prog.Go.Cgo != c.cgo || prog.Go.Version.String() == "" {
				t.Errorf("model program %+v %v", prog, ok)
			}
			if c.name == "netgo" && !prog.Go.NetgoTag {
				t.Error("netgo tag not passed to the model")
			}
		})
	}
}

// A damaged build info section: the version still comes out, from the
// runtime.buildVersion symbol, or (stripped) from a go1.x string; the
// damage is noted; nothing panics.
func TestCorruptBuildInfo(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		args     []string
		evidence string
	}{
		{"symbols", nil, "symbol runtime.buildVersion"},
		{"stripped", []string{"-ldflags=-s -w"}, "go1.x string in"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(build(t, "", []string{"CGO_ENABLED=0"}, c.args...))
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(data, []byte("\xff Go buildinf:"))
			if i < 0 {
				t.Fatal("no build info magic")
			}
			copy(data[i:], "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
			b, err := inspect.Read(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if b.Go == nil || b.Go.Version != runtime.Version() || !strings.Contains(b.Go.VersionEvidence, c.evidence) {
				t.Fatalf("go %+v", b.Go)
			}
			if len(b.Notes) == 0 || !strings.Contains(b.Notes[0], "build info unreadable") {
				t.Errorf("notes %v", b.Notes)
			}
			// Without settings the cgo question is answered from the
			// function table.
			if !b.Go.CgoResolver.Known || b.Go.CgoResolver.Value || !strings.Contains(b.Go.CgoResolver.Evidence[0], ".gopclntab") {
				t.Errorf("cgo %v", b.Go.CgoResolver)
			}
			// Garbage after an intact magic: an error note, no panic.
			data2, _ := os.ReadFile(build(t, "", []string{"CGO_ENABLED=0"}, c.args...))
			for k := i + 16; k < i+64 && k < len(data2); k++ {
				data2[k] = 0xff
			}
			if _, err := inspect.Read(bytes.NewReader(data2), int64(len(data2))); err != nil {
				t.Errorf("garbage build info: %v", err)
			}
		})
	}
}

func TestNotELF(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"script": []byte("#!/bin/sh\necho hi\n"),
		"pe":     append([]byte("MZ"), make([]byte, 200)...),
		"empty":  nil,
		"short":  []byte("\x7fEL"),
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o755)
		if _, err := inspect.Open(p); !errors.Is(err, inspect.ErrNotELF) {
			t.Errorf("%s: err = %v, want not an ELF file", name, err)
		}
	}
	if _, err := inspect.Open(dir); err == nil {
		t.Error("a directory was inspected")
	}
	// A truncated ELF: a clear error.
	data, _ := os.ReadFile(ti.Binary(t, ti.Esbuild116))
	for _, n := range []int{16, 64, 4096} {
		if _, err := inspect.Read(bytes.NewReader(data[:n]), int64(n)); err == nil || !strings.Contains(err.Error(), "malformed ELF") {
			t.Errorf("truncated at %d: %v", n, err)
		}
	}
}

// FuzzRead feeds arbitrary bytes to the inspector: errors are fine,
// panics are not.
func FuzzRead(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00"))
	f.Add([]byte("not an elf"))
	if d, err := os.ReadFile(filepath.Join("..", "..", "shared", "data", "binaries", ti.Esbuild116)); err == nil {
		f.Add(d[:8192])
		i := bytes.Index(d, []byte("\xff Go buildinf:"))
		if i > 0 {
			// The ELF header followed by the build info region.
			seed := append(append([]byte{}, d[:4096]...), d[i:i+512]...)
			f.Add(seed)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := inspect.Read(bytes.NewReader(data), int64(len(data)))
		if err == nil && b == nil {
			t.Fatal("nil binary without error")
		}
	})
}

// glibc linked statically is recognised by its own strings; the root's
// glibc is then not the one the binary uses.
func TestStaticGlibc(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not found")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "p.c")
	os.WriteFile(src, []byte("#include <netdb.h>\nint main(int c, char **v) { struct addrinfo *r; return getaddrinfo(v[1], 0, 0, &r); }\n"), 0o644)
	bin := filepath.Join(dir, "p")
	if out, err := exec.Command("gcc", "-static", "-o", bin, src).CombinedOutput(); err != nil {
		t.Skipf("static link impossible here: %v %s", err, out)
	}
	b, err := inspect.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Static || b.Libc != "glibc" || !strings.Contains(b.LibcEvidence, "statically linked") {
		t.Errorf("static %v libc %q (%s)", b.Static, b.Libc, b.LibcEvidence)
	}
	if l := inspect.LibcFor(b, []inspect.LibcRelease{{Kind: "glibc", Version: "2.36"}}); l != nil {
		t.Errorf("the root's glibc was taken for a static binary's: %+v", l)
	}
}
