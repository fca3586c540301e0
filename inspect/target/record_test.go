package target

import (
	"context"
	"io/fs"
	"reflect"
	"testing"

	ti "github.com/nsscope/nsscope/internal/testimage"
)

// recordSample reads a real layer (Alpine with esbuild, a hard link, a
// whiteout, an opaque directory) to a layerIndex.
func recordSample(t testing.TB) *layerIndex {
	tg, err := Open(context.Background(), ti.Rootfs(t, ti.Alpine316), Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	li := &layerIndex{count: 3, opaque: []string{"/opt/d"}, whiteouts: []string{"/etc/nsswitch.conf"},
		notes: []string{"layer 2 (sha256:abc): entry \"/x\": absolute path: taken relative to the root", "other"}}
	var walk func(n *node)
	walk = func(n *node) {
		for _, k := range n.kids {
			c := &node{Entry: k.Entry, data: k.data, kept: k.kept, src: k.src, hardlink: k.hardlink}
			if k.kids != nil {
				c.kids = map[string]*node{}
			}
			li.entries = append(li.entries, c)
			walk(k)
		}
	}
	walk(tg.root)
	li.entries = append(li.entries, &node{Entry: Entry{Path: "/bin/again", Mode: 0o755, Layer: 1}, hardlink: "/bin/busybox"},
		&node{Entry: Entry{Path: "/dev/null", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o666, Layer: 1}})
	for _, n := range li.entries {
		n.Layer = 1
		if n.src.ok {
			n.src.layer = 1
		}
	}
	return li
}

// TestRecordRoundTrip: a record reads back as the layerIndex it was
// written from, at another position in another image.
func TestRecordRoundTrip(t *testing.T) {
	li := recordSample(t)
	data, err := encodeRecord(li, "layer 2 (sha256:abc)")
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord(data, 1, "layer 2 (sha256:abc)")
	if err != nil {
		t.Fatal(err)
	}
	li.pool = nil
	if !reflect.DeepEqual(normal(li), normal(got)) {
		t.Fatal("record does not read back as written")
	}
	other, err := decodeRecord(data, 4, "layer 5 (sha256:abc)")
	if err != nil {
		t.Fatal(err)
	}
	if other.entries[0].Layer != 4 || other.notes[0][:8] != "layer 5 " {
		t.Fatalf("layer position not rewritten: %d, %q", other.entries[0].Layer, other.notes[0])
	}
	for cut := 0; cut < len(data); cut += 1 + len(data)/500 {
		if _, err := decodeRecord(data[:cut], 1, "l"); err == nil {
			t.Fatalf("truncated record (%d of %d bytes) accepted", cut, len(data))
		}
	}
}

// normal makes nil and empty slices alike (JSON's omitempty drops empty
// ones, which mean the same).
func normal(li *layerIndex) *layerIndex {
	for _, n := range li.entries {
		if n.Binary != nil {
			data, _ := encodeRecord(&layerIndex{entries: []*node{n}}, "")
			back, _ := decodeRecord(data, n.Layer, "")
			n.Binary = back.entries[0].Binary
		}
		if len(n.data) == 0 {
			n.data = nil
		}
	}
	return li
}

// FuzzDecodeRecord: decodeRecord never panics, and what it accepts
// encodes back to a record that decodes to the same thing.
func FuzzDecodeRecord(f *testing.F) {
	li := recordSample(f)
	// A small seed with an inspected binary in it keeps the fuzzer fast.
	var some []*node
	for _, n := range li.entries {
		if n.Binary != nil && len(some) < 2 || n.kept && len(some) < 4 || n.hardlink != "" {
			some = append(some, n)
		}
	}
	data, err := encodeRecord(&layerIndex{entries: some, opaque: []string{"/o"}, notes: []string{"layer 1: n"}}, "layer 1")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	small, _ := encodeRecord(&layerIndex{entries: li.entries[:3], whiteouts: []string{"/a"}}, "layer 1")
	f.Add(small)
	f.Add([]byte{1, 0, 1, recRegular, recKept, 2, '/', 'a'})
	f.Fuzz(func(t *testing.T, data []byte) {
		li, err := decodeRecord(data, 0, "layer 1")
		if err != nil {
			return
		}
		again, err := encodeRecord(li, "layer 1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeRecord(again, 0, "layer 1"); err != nil {
			t.Fatalf("re-encoded record rejected: %v", err)
		}
	})
}
