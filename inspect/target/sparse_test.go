package target

import (
	"os"
	"testing"

	ti "github.com/nsscope/nsscope/internal/testimage"
)

func TestGoTextRange(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(ti.Binary(t, ti.Esbuild116))
	if err != nil {
		t.Fatal(err)
	}
	from, to, ok := goTextRange(data[:4096], int64(len(data)))
	// esbuild 0.11.23: the R E segment spans 0 .. 0x3f.... bytes.
	if !ok || from != textKeep || to < 3<<20 || to > int64(len(data)) {
		t.Errorf("goTextRange = %d, %d, %v", from, to, ok)
	}
	// A C program, a truncated header and garbage: no range.
	for name, head := range map[string][]byte{
		"short":   data[:40],
		"garbage": append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 200)...),
		"no-note": func() []byte { b := append([]byte{}, data[:4096]...); copy(b[0xfa8:], "XX"); return b }(),
	} {
		if _, _, ok := goTextRange(head, int64(len(data))); ok {
			t.Errorf("%s: a range was found", name)
		}
	}
}

func FuzzGoTextRange(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01\x00"))
	f.Fuzz(func(t *testing.T, head []byte) {
		from, to, ok := goTextRange(head, 1<<30)
		if ok && (from >= to || from < textKeep) {
			t.Fatalf("bad range %d..%d", from, to)
		}
	})
}
