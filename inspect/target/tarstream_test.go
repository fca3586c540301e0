package target_test

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/inspect/target"
	ti "github.com/nsscope/nsscope/internal/testimage"
)

// FuzzTarStream feeds arbitrary bytes (seeded with plain, gzip and zstd
// archives) to the one tar reader: it must never panic, never yield a path
// outside the root, and stop at its limits.
func FuzzTarStream(f *testing.F) {
	seed := ti.TarBytes(f, map[string]ti.File{
		"etc/hosts":       {Data: []byte("127.0.0.1 localhost\n")},
		"etc/resolv.conf": {Link: "../run/r"},
		"bin/a":           {Data: []byte("\x7fELF\x02\x01\x01\x00"), Mode: 0o755},
		"bin/b":           {HardLink: "bin/a"},
	})
	f.Add(seed)
	f.Add(gzipBytes(f, seed))
	f.Add(zstdBytes(f, seed))
	f.Add(rawTar(f, []*tar.Header{{Name: "../x", Typeflag: tar.TypeReg}, {Name: "l", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}}, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := target.NewTarStream(bytes.NewReader(data), target.Limits{MaxLayerSize: 16 << 20, MaxEntries: 1000}, "fuzz", nil)
		if err != nil {
			return
		}
		defer ts.Close()
		for {
			e, err := ts.Next()
			if err != nil {
				return
			}
			for _, p := range []string{e.Path, e.HardLink} {
				if p != "" && (!strings.HasPrefix(p, "/") || strings.Contains(p, "..")) {
					t.Fatalf("path %q leaves the root", p)
				}
			}
			io.Copy(io.Discard, ts)
		}
	})
}
