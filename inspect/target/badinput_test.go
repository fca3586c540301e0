package target_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/nsscope/nsscope/inspect/target"
	ti "github.com/nsscope/nsscope/internal/testimage"
)

func gzipBytes(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func zstdBytes(t testing.TB, b []byte) []byte {
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
	if err != nil {
		t.Fatal(err)
	}
	return zw.EncodeAll(b, nil)
}

// rawTar writes headers as given (names are not cleaned), for hostile
// archives.
func rawTar(t testing.TB, hdrs []*tar.Header, bodies map[string][]byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		body := bodies[h.Name]
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	tw.Close()
	return buf.Bytes()
}

func hasNote(tg *target.Tree, sub string) bool {
	for _, n := range tg.Notes() {
		if strings.Contains(n, sub) {
			return true
		}
	}
	return false
}

// Entries with ../ or absolute paths, hard links to missing targets and
// links out of the root: skipped or confined, with a note, and nothing
// written anywhere.
func TestHostileEntries(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	outside := filepath.Join(work, "outside")
	data := rawTar(t, []*tar.Header{
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "../../../../" + outside, Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "etc/../../escape", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "/etc/hosts", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "bin/hl", Typeflag: tar.TypeLink, Linkname: "bin/missing"},
		{Name: "bin/hl2", Typeflag: tar.TypeLink, Linkname: "../../etc/shadow"},
		{Name: "bin/fake", Typeflag: tar.TypeReg, Mode: 0o755},
		{Name: "bin/notelf", Typeflag: tar.TypeReg, Mode: 0o755},
	}, map[string][]byte{
		"../../../../" + outside: []byte("x"),
		"etc/../../escape":       []byte("x"),
		"/etc/hosts":             []byte("127.0.0.1 localhost\n"),
		"bin/fake":               append([]byte("\x7fELF"), bytes.Repeat([]byte{0xff}, 200)...),
		"bin/notelf":             bytes.Repeat([]byte("just text with exec bits "), 10),
	})
	tmp := t.TempDir()
	tg := open(t, writeTar(t, data), target.Options{TempDir: tmp})
	if _, err := os.Stat(outside); err == nil {
		t.Fatal("a file was written outside the root")
	}
	if !hasNote(tg, "leaves the root") {
		t.Errorf("no note for ../ entries: %v", tg.Notes())
	}
	if _, ok := tg.Lookup("/escape"); ok {
		t.Error("an escaping entry was kept")
	}
	if s, err := readFile(t, tg, "etc/hosts"); err != nil || !strings.HasPrefix(s, "127") {
		t.Errorf("absolute entry taken relative to the root: %q %v", s, err)
	}
	if !hasNote(tg, "absolute path") {
		t.Errorf("no note for the absolute entry: %v", tg.Notes())
	}
	if !hasNote(tg, "hard link /bin/hl → /bin/missing") {
		t.Errorf("no note for the dangling hard link: %v", tg.Notes())
	}
	progs, err := tg.Programs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The truncated ELF is reported with its error; the text file with
	// exec bits is not a program.
	if len(progs) != 1 || progs[0].Path != "/bin/fake" || progs[0].InspectErr == "" {
		t.Errorf("programs %+v", progs)
	}
	if e, ok := tg.Lookup("/bin/notelf"); !ok || e.Binary != nil || e.InspectErr != "" {
		t.Errorf("non-ELF with exec bits: %+v", e)
	}
}

// A gzip layer that expands far beyond its size is refused as a bomb,
// within bounded time and memory (the limits are lowered for the test).
func TestCompressionBomb(t *testing.T) {
	t.Parallel()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	const size = 64 << 20
	tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: size})
	io.CopyN(tw, zeroReader{}, size)
	tw.Close()
	bomb := gzipBytes(t, raw.Bytes())
	if len(bomb) > 1<<20 {
		t.Fatalf("bomb of %d bytes is not a bomb", len(bomb))
	}
	_, err := target.Open(context.Background(), writeTar(t, bomb), target.Options{
		TempDir: t.TempDir(), Limits: target.Limits{BombFloor: 8 << 20, MaxRatio: 100},
	})
	if !errors.Is(err, target.ErrBomb) {
		t.Fatalf("err = %v, want a bomb", err)
	}
	_, err = target.Open(context.Background(), writeTar(t, bomb), target.Options{
		TempDir: t.TempDir(), Limits: target.Limits{MaxLayerSize: 16 << 20},
	})
	if !errors.Is(err, target.ErrLimit) {
		t.Fatalf("err = %v, want a size limit", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestTruncatedGzip(t *testing.T) {
	t.Parallel()
	full, err := os.ReadFile(ti.Rootfs(t, ti.Alpine316))
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{len(full) / 2, len(full) - 10, 20} {
		_, err := target.Open(context.Background(), writeTar(t, full[:cut]), target.Options{TempDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
			t.Errorf("cut at %d: err = %v, want a truncation error", cut, err)
		}
	}
}

// TestCorruptHeaderWording: a tar header whose checksum is wrong, plain and
// gzipped, is called a corrupt archive, in words without Go package names.
func TestCorruptHeaderWording(t *testing.T) {
	t.Parallel()
	bad := make([]byte, 1024)
	copy(bad, "abcd")
	copy(bad[257:], "ustar")
	copy(bad[148:], "9999999\x00")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bad)
	zw.Close()
	for name, data := range map[string][]byte{"plain": bad, "gzip": gz.Bytes()} {
		_, err := target.Open(context.Background(), writeTar(t, data), target.Options{TempDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "corrupt archive: invalid tar header") || strings.Contains(err.Error(), "archive/tar") || !errors.Is(err, tar.ErrHeader) {
			t.Errorf("%s: err = %v, want a corrupt archive, worded for people", name, err)
		}
	}
}

func TestEmpty(t *testing.T) {
	t.Parallel()
	// An image with no layers.
	img := ti.Image(t, ti.Config{Cmd: []string{"/app"}})
	for _, spec := range []string{ti.OCILayout(t, t.TempDir(), img), ti.DockerSave(t, img, t.TempDir(), "e:1")} {
		_, err := target.Open(context.Background(), spec, target.Options{TempDir: t.TempDir()})
		if !errors.Is(err, target.ErrEmpty) {
			t.Errorf("%s: err = %v, want empty", spec, err)
		}
	}
	// A tar with no entries (two zero blocks).
	_, err := target.Open(context.Background(), writeTar(t, make([]byte, 1024)), target.Options{TempDir: t.TempDir()})
	if err == nil {
		t.Error("an empty tar must fail")
	}
	// An image whose only layer is empty.
	img = ti.Image(t, ti.Config{}, ti.FileLayer(t, map[string]ti.File{}))
	_, err = target.Open(context.Background(), ti.OCILayout(t, t.TempDir(), img), target.Options{TempDir: t.TempDir()})
	if !errors.Is(err, target.ErrEmpty) {
		t.Errorf("image with an empty layer: %v", err)
	}
}

func TestNotATarget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "notes.txt")
	os.WriteFile(p, []byte("hello"), 0o644)
	for _, spec := range []string{p, filepath.Join(dir, "missing.tar"), "./nope"} {
		if _, err := target.Open(context.Background(), spec, target.Options{TempDir: t.TempDir()}); err == nil {
			t.Errorf("%s: no error", spec)
		}
	}
	if _, err := target.Open(context.Background(), "x", target.Options{Platform: "not/a/valid/platform/x"}); err == nil {
		t.Error("bad platform accepted")
	}
}

func TestEntryLimit(t *testing.T) {
	t.Parallel()
	files := map[string]ti.File{}
	for i := range 50 {
		files["f/"+strings.Repeat("x", i+1)] = ti.File{Data: []byte("x")}
	}
	_, err := target.Open(context.Background(), writeTar(t, ti.TarBytes(t, files)),
		target.Options{TempDir: t.TempDir(), Limits: target.Limits{MaxEntries: 10}})
	if !errors.Is(err, target.ErrLimit) {
		t.Errorf("err = %v, want a limit", err)
	}
}

// FuzzLayer feeds arbitrary bytes to the layer reader (the seeds include
// gzip and zstd streams, so the decompressors are fuzzed too): it must
// never panic and never leave anything in its temporary directory.
func FuzzLayer(f *testing.F) {
	seed := ti.TarBytes(f, map[string]ti.File{
		"etc/hosts":       {Data: []byte("127.0.0.1 localhost\n")},
		"etc/resolv.conf": {Link: "../run/r"},
		"bin/a":           {Data: []byte("\x7fELF\x02\x01\x01\x00"), Mode: 0o755},
		"bin/b":           {HardLink: "bin/a"},
		"bin/s":           {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
		"d/.wh.x":         {},
	})
	f.Add(seed)
	f.Add(gzipBytes(f, seed))
	f.Add(zstdBytes(f, seed))
	f.Add(rawTar(f, []*tar.Header{{Name: "../x", Typeflag: tar.TypeReg}}, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		tmp := t.TempDir()
		p := filepath.Join(tmp, "in.tar")
		os.WriteFile(p, data, 0o644)
		work := filepath.Join(tmp, "work")
		os.Mkdir(work, 0o755)
		tg, err := target.Open(context.Background(), p, target.Options{TempDir: work,
			Limits: target.Limits{MaxLayerSize: 64 << 20, MaxEntries: 10000}})
		if err == nil {
			tg.Programs(context.Background())
			fs.WalkDir(tg.FS(), ".", func(string, fs.DirEntry, error) error { return nil })
			tg.Close()
		}
		if left, _ := os.ReadDir(work); len(left) != 0 {
			t.Fatalf("left behind: %v", left)
		}
	})
}

// An ELF file above the inspection limit is skipped with a note, not
// spooled.
func TestInspectLimit(t *testing.T) {
	t.Parallel()
	tg := open(t, writeTar(t, ti.TarBytes(t, map[string]ti.File{
		"bin/big": {FromFile: ti.Binary(t, ti.Esbuild116)},
	})), target.Options{Limits: target.Limits{MaxInspect: 1 << 20}})
	e, ok := tg.Lookup("/bin/big")
	if !ok || e.Binary != nil || !strings.Contains(e.InspectErr, "inspection limit") || !hasNote(tg, "inspection limit") {
		t.Errorf("entry %+v notes %v", e, tg.Notes())
	}
}

// An image archive whose JSON has a value of the wrong kind is refused
// with the JSON kinds named, never Go types.
func TestArchiveJSONOfWrongKind(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"docker manifest an object", map[string]string{"manifest.json": `{}`},
			"manifest.json: a JSON object where an array is expected"},
		{"docker layers a string", map[string]string{"manifest.json": `[{"Config":"c.json","Layers":"l.tar"}]`},
			"manifest.json: a JSON string where an array is expected, at Layers"},
		{"oci index manifests a number", map[string]string{"oci-layout": `{"imageLayoutVersion":"1.0.0"}`, "index.json": `{"schemaVersion":2,"manifests":5}`},
			"image index: a JSON number where an array is expected, at manifests"},
	} {
		var hdrs []*tar.Header
		bodies := map[string][]byte{}
		for n, body := range tc.files {
			hdrs = append(hdrs, &tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644})
			bodies[n] = []byte(body)
		}
		p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".tar")
		if err := os.WriteFile(p, rawTar(t, hdrs, bodies), 0o644); err != nil {
			t.Fatal(err)
		}
		tg, err := target.Open(context.Background(), p, target.Options{})
		if err == nil {
			tg.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "Go ") {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
