package target_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nsscope/nsscope/inspect/layercache"
	"github.com/nsscope/nsscope/inspect/target"
	ti "github.com/nsscope/nsscope/internal/testimage"
)

// snapshot is everything a scan takes from a target, as JSON: the merged
// entries with their inspection results, the programs (library evidence
// filled), the C libraries, the main process, the notes and the
// configuration files under /etc.
func snapshot(t *testing.T, tg *target.Tree) string {
	t.Helper()
	s, err := snapshotOf(tg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func snapshotOf(tg *target.Tree) (string, error) {
	progs, err := tg.Programs(context.Background())
	if err != nil {
		return "", err
	}
	m, _ := tg.Main()
	etc := map[string]string{}
	err = fs.WalkDir(tg.FS(), "etc", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := fs.ReadFile(tg.FS(), p)
		etc[p] = string(data)
		return err
	})
	if err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(map[string]any{
		"entries": tg.Entries(), "programs": progs, "libc": tg.Libc(), "main": m,
		"notes": tg.Notes(), "etc": etc, "config": tg.Config(),
	}, "", " ")
	return string(data), err
}

func openCache(t *testing.T, dir string) *layercache.Cache {
	t.Helper()
	c, err := layercache.Open(dir, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cacheImages builds two images on one Alpine base (an image sharing its
// base layer with another): A adds esbuild, hides /etc/nsswitch.conf
// behind a whiteout and /opt/d behind an opaque marker; B adds another
// program and a hard link.
func cacheImages(t *testing.T) (base v1.Layer, a, b v1.Image) {
	base = ti.RootfsLayer(t, ti.Rootfs(t, ti.Alpine316))
	mid := ti.FileLayer(t, map[string]ti.File{
		"usr/local/bin/esbuild": {FromFile: ti.Binary(t, ti.Esbuild116)},
		"opt/d/old":             {Data: []byte("old")},
		"etc/hosts.extra":       {Data: []byte("127.0.0.1 x\n")},
	})
	top := ti.FileLayer(t, map[string]ti.File{
		"etc/.wh.nsswitch.conf": {},
		"opt/d/.wh..wh..opq":    {},
		"opt/d/new":             {Data: []byte("new")},
		"usr/local/bin/run.sh":  {Data: []byte("#!/bin/sh -e\nexec esbuild\n"), Mode: 0o755},
	})
	a = ti.Image(t, ti.Config{Entrypoint: []string{"/usr/local/bin/esbuild"}, Env: []string{"PATH=/usr/local/bin:/bin"}}, base, mid, top)
	other := ti.FileLayer(t, map[string]ti.File{
		"usr/local/bin/esbuild15": {FromFile: ti.Binary(t, ti.Esbuild115)},
		"usr/local/bin/again":     {HardLink: "usr/local/bin/esbuild15"},
	})
	b = ti.Image(t, ti.Config{Cmd: []string{"esbuild15"}}, base, other)
	return base, a, b
}

// removeBlob deletes a layer blob from an OCI layout: reading it after
// that fails.
func removeBlob(t *testing.T, layoutDir string, l v1.Layer) {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(layoutDir, "blobs", d.Algorithm, d.Hex)); err != nil {
		t.Fatal(err)
	}
}

// TestCacheWarmSameAsCold: a warm open gives what a cold one does, for
// the image itself (docker save and OCI layout) and for another image on
// the same base, without opening the cached layers at all (their blobs
// are deleted before the warm open).
func TestCacheWarmSameAsCold(t *testing.T) {
	base, a, b := cacheImages(t)
	uncached := func(spec string) string {
		return snapshot(t, open(t, spec, target.Options{}))
	}
	cacheDir := t.TempDir()
	opts := target.Options{Cache: openCache(t, cacheDir)}

	// Image A as a docker save archive, cold then warm.
	saved := ti.DockerSave(t, a, t.TempDir(), "example.com/a:1")
	want := uncached(saved)
	if got := snapshot(t, open(t, saved, opts)); got != want {
		t.Fatalf("cold scan with the cache differs from one without:\n%s", diffLines(want, got))
	}
	if n, _, _ := opts.Cache.Usage(); n != 3 {
		t.Fatalf("%d cache entries after the cold scan, want 3 (one per layer)", n)
	}
	if got := snapshot(t, open(t, saved, opts)); got != want {
		t.Fatalf("warm scan differs from the cold one:\n%s", diffLines(want, got))
	}

	// Image A as an OCI layout whose layer blobs are gone: only the cache
	// can answer (the same layers, keyed by diff_id, whatever the format).
	layoutA := ti.OCILayout(t, t.TempDir(), a)
	wantA := uncached(layoutA)
	la, _ := a.Layers()
	for _, l := range la {
		removeBlob(t, layoutA, l)
	}
	if got := snapshot(t, open(t, layoutA, opts)); got != wantA {
		t.Fatalf("warm OCI layout scan differs:\n%s", diffLines(wantA, got))
	}

	// Image B shares the base: its base blob is gone, its own layer is
	// read.
	layoutB := ti.OCILayout(t, t.TempDir(), b)
	wantB := uncached(layoutB)
	removeBlob(t, layoutB, base)
	if got := snapshot(t, open(t, layoutB, opts)); got != wantB {
		t.Fatalf("scan of an image sharing the base differs:\n%s", diffLines(wantB, got))
	}
	if !strings.Contains(wantB, "esbuild15") || !strings.Contains(wantA, "/usr/local/bin/run.sh") {
		t.Fatal("the snapshots miss the images' own programs")
	}
	if strings.Contains(wantA, `"etc/nsswitch.conf"`) || strings.Contains(wantA, "/opt/d/old") {
		t.Fatal("whiteouts not applied")
	}
	// Without the cache the blob is needed: proof that the warm open read
	// nothing of it.
	if _, err := target.Open(context.Background(), layoutB, target.Options{}); err == nil {
		t.Fatal("the layout without its base blob opened without the cache")
	}
}

// TestCacheCorruptEntry: damaged entries (a flipped byte, a truncated
// file, garbage) are not trusted: the layer is read again, the result is
// the cold one, and the entry is written again.
func TestCacheCorruptEntry(t *testing.T) {
	_, a, _ := cacheImages(t)
	saved := ti.DockerSave(t, a, t.TempDir(), "example.com/a:1")
	want := snapshot(t, open(t, saved, target.Options{}))
	cacheDir := t.TempDir()
	opts := target.Options{Cache: openCache(t, cacheDir)}
	open(t, saved, opts)
	entries, _ := filepath.Glob(filepath.Join(cacheDir, "*.entry"))
	if len(entries) != 3 {
		t.Fatalf("%d entries, want 3", len(entries))
	}
	damage := []func([]byte) []byte{
		func(b []byte) []byte { b[len(b)-1] ^= 0x40; return b },
		func(b []byte) []byte { return b[:len(b)/2] },
		func(b []byte) []byte { return []byte("not an entry") },
	}
	for i, e := range entries {
		data, err := os.ReadFile(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e, damage[i](data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := snapshot(t, open(t, saved, opts)); got != want {
		t.Fatalf("scan with damaged entries differs:\n%s", diffLines(want, got))
	}
	for _, e := range entries {
		data, err := os.ReadFile(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := layercache.Decode(data, ""); err == nil || err == layercache.ErrChecksum {
			// A label mismatch is the expected error here (the test does
			// not know the label); a checksum error means not rewritten.
			t.Fatalf("%s: not rewritten after damage (%v)", e, err)
		}
	}
	if got := snapshot(t, open(t, saved, opts)); got != want {
		t.Fatalf("warm scan after the rewrite differs:\n%s", diffLines(want, got))
	}
}

// TestCacheConcurrent: scans sharing a cache directory at once all give
// the cold result.
func TestCacheConcurrent(t *testing.T) {
	_, a, _ := cacheImages(t)
	saved := ti.DockerSave(t, a, t.TempDir(), "example.com/a:1")
	want := snapshot(t, open(t, saved, target.Options{}))
	cacheDir := t.TempDir()
	var wg sync.WaitGroup
	got := make([]string, 4)
	for i := range got {
		wg.Go(func() {
			// Each scan its own Cache value, as separate processes have.
			c, err := layercache.Open(cacheDir, 0, "test")
			if err != nil {
				t.Error(err)
				return
			}
			tg, err := target.Open(context.Background(), saved, target.Options{Cache: c})
			if err != nil {
				t.Error(err)
				return
			}
			defer tg.Close()
			if got[i], err = snapshotOf(tg); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, g := range got {
		if g != want {
			t.Fatalf("concurrent scan %d differs:\n%s", i, diffLines(want, g))
		}
	}
}

// diffLines shows the first lines that differ.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out []string
	for i := 0; i < max(len(w), len(g)) && len(out) < 10; i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			out = append(out, "- "+a, "+ "+b)
		}
	}
	return strings.Join(out, "\n")
}
