package target_test

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/nsscope/nsscope/inspect/target"
	ti "github.com/nsscope/nsscope/internal/testimage"
)

// BenchmarkReadLayer measures one pass over a gzip rootfs layer: inflate,
// tar, keeping /etc, inspecting every executable ELF (Alpine 3.16 with the
// Go 1.16 esbuild added). The bytes per second are uncompressed bytes.
func BenchmarkReadLayer(b *testing.B) {
	dir := b.TempDir()
	layer := dir + "/layer.tar.gz"
	size := writeBenchLayer(b, layer)
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

// writeBenchLayer copies the Alpine rootfs and adds esbuild; it returns
// the uncompressed size.
func writeBenchLayer(b *testing.B, out string) int64 {
	in, err := os.Open(ti.Rootfs(b, ti.Alpine316))
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	cw := &countWriter{w: zw}
	tw := tar.NewWriter(cw)
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		tw.WriteHeader(h)
		io.Copy(tw, tr)
	}
	bin, err := os.ReadFile(ti.Binary(b, ti.Esbuild116))
	if err != nil {
		b.Fatal(err)
	}
	tw.WriteHeader(&tar.Header{Name: "usr/local/bin/esbuild", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg})
	tw.Write(bin)
	tw.Close()
	zw.Close()
	return cw.n
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
