package target_test

import (
	"context"
	"testing"

	"github.com/nsscope/nsscope/inspect/layercache"
	"github.com/nsscope/nsscope/inspect/target"
	ti "github.com/nsscope/nsscope/internal/testimage"
)

// benchImage is a docker save archive: Alpine 3.16 and a layer with
// esbuild (Go 1.16) and Go 1.15's esbuild.
func benchImage(b *testing.B) string {
	img := ti.Image(b, ti.Config{Entrypoint: []string{"/usr/local/bin/esbuild"}},
		ti.RootfsLayer(b, ti.Rootfs(b, ti.Alpine316)),
		ti.FileLayer(b, map[string]ti.File{
			"usr/local/bin/esbuild":   {FromFile: ti.Binary(b, ti.Esbuild116)},
			"usr/local/bin/esbuild15": {FromFile: ti.Binary(b, ti.Esbuild115)},
		}))
	return ti.DockerSave(b, img, b.TempDir(), "nsscope.test/bench:1")
}

func benchOpen(b *testing.B, spec string, opts target.Options) {
	b.Helper()
	tg, err := target.Open(context.Background(), spec, opts)
	if err != nil {
		b.Fatal(err)
	}
	if e, ok := tg.Lookup("/usr/local/bin/esbuild"); !ok || e.Binary == nil {
		b.Fatal("esbuild not inspected")
	}
	tg.Close()
}

// BenchmarkOpenCold opens the image with no cache: every layer inflated,
// every ELF file inspected.
func BenchmarkOpenCold(b *testing.B) {
	spec := benchImage(b)
	opts := target.Options{TempDir: b.TempDir()}
	for b.Loop() {
		benchOpen(b, spec, opts)
	}
}

// BenchmarkOpenColdCaching is a cold open that hashes its layers and
// files their records in an empty cache.
func BenchmarkOpenColdCaching(b *testing.B) {
	spec := benchImage(b)
	for b.Loop() {
		b.StopTimer()
		c, err := layercache.Open(b.TempDir(), 0, "bench")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		benchOpen(b, spec, target.Options{TempDir: b.TempDir(), Cache: c})
	}
}

// BenchmarkOpenWarm opens the image again with every layer cached: no
// layer is read.
func BenchmarkOpenWarm(b *testing.B) {
	spec := benchImage(b)
	c, err := layercache.Open(b.TempDir(), 0, "bench")
	if err != nil {
		b.Fatal(err)
	}
	opts := target.Options{TempDir: b.TempDir(), Cache: c}
	benchOpen(b, spec, opts)
	for b.Loop() {
		benchOpen(b, spec, opts)
	}
}
