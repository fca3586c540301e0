package target_test

import (
	"context"
	"testing"

	"github.com/nsscope/nsscope/inspect/target"
	ti "github.com/nsscope/nsscope/internal/testimage"
)

// BenchmarkReadLayer measures one pass over a gzip rootfs layer: inflate,
// tar, keeping /etc, inspecting every executable ELF (Alpine 3.16 with the
// Go 1.16 esbuild added). The bytes per second are uncompressed bytes.
func BenchmarkReadLayer(b *testing.B) {
	dir := b.TempDir()
	layer := dir + "/layer.tar.gz"
	size := ti.RootfsWith(b, ti.Rootfs(b, ti.Alpine316), layer, map[string]ti.File{"usr/local/bin/esbuild": {FromFile: ti.Binary(b, ti.Esbuild116)}})
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		tg, err := target.Open(context.Background(), layer, target.Options{TempDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if e, ok := tg.Lookup("/usr/local/bin/esbuild"); !ok || e.Binary == nil {
			b.Fatal("esbuild not inspected")
		}
		tg.Close()
	}
}
