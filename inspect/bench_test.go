package inspect_test

import (
	"os"
	"testing"

	"github.com/nsscope/nsscope/inspect"
	ti "github.com/nsscope/nsscope/internal/testimage"
)

// BenchmarkInspect measures inspecting one Go binary (the 7.9 MB Go 1.16
// esbuild, stripped: build info, function table search, linking).
func BenchmarkInspect(b *testing.B) {
	p := ti.Binary(b, ti.Esbuild116)
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inspect.Read(f, st.Size()); err != nil {
			b.Fatal(err)
		}
	}
}
