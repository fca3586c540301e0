package layercache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPutGet(t *testing.T) {
	c, err := Open(t.TempDir(), 0, "tool-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get("s", "sha256:aa"); ok {
		t.Fatal("hit in an empty cache")
	}
	if err := c.Put("s", "sha256:aa", []byte("record")); err != nil {
		t.Fatal(err)
	}
	got, ok := c.Get("s", "sha256:aa")
	if !ok || string(got) != "record" {
		t.Fatalf("Get = %q, %v", got, ok)
	}
	// Another scope, another tool: other entries.
	if _, ok := c.Get("t", "sha256:aa"); ok {
		t.Fatal("hit across scopes")
	}
	other, _ := Open(c.Dir(), 0, "tool-2")
	if _, ok := other.Get("s", "sha256:aa"); ok {
		t.Fatal("hit across tool versions")
	}
}

// TestDamagedEntry: an entry whose bytes changed is a miss and is removed.
func TestDamagedEntry(t *testing.T) {
	c, _ := Open(t.TempDir(), 0, "tool")
	if err := c.Put("s", "k", bytes.Repeat([]byte("x"), 100)); err != nil {
		t.Fatal(err)
	}
	p := c.name("s", "k")
	data, _ := os.ReadFile(p)
	for _, bad := range [][]byte{data[:len(data)-1], append(bytes.Clone(data), 'x'), flip(data, len(data)-5), flip(data, 3), {}} {
		os.WriteFile(p, bad, 0o600)
		if _, ok := c.Get("s", "k"); ok {
			t.Fatalf("damaged entry (%d bytes) trusted", len(bad))
		}
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("damaged entry not removed")
		}
	}
}

func flip(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }

// TestEvictLRU: past the bound, the entries used least recently go first;
// a read counts as a use.
func TestEvictLRU(t *testing.T) {
	dir := t.TempDir()
	payload := bytes.Repeat([]byte("p"), 1000)
	entrySize := int64(len(Encode(label("s", "k1"), payload)))
	c, _ := Open(dir, 3*entrySize, "tool")
	old := time.Now().Add(-time.Hour)
	for i, k := range []string{"k1", "k2", "k3"} {
		if err := c.Put("s", k, payload); err != nil {
			t.Fatal(err)
		}
		ts := old.Add(time.Duration(i) * time.Minute)
		os.Chtimes(c.name("s", k), ts, ts)
	}
	if _, ok := c.Get("s", "k1"); !ok { // k1 now the most recent
		t.Fatal("k1 missing")
	}
	stale := filepath.Join(dir, tmpPrefix+"dead")
	os.WriteFile(stale, []byte("half"), 0o600)
	os.Chtimes(stale, old, old)
	if err := c.Put("s", "k4", payload); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]bool{"k1": true, "k2": false, "k3": true, "k4": true} {
		if _, err := os.Stat(c.name("s", k)); (err == nil) != want {
			t.Errorf("%s present = %v, want %v", k, err == nil, want)
		}
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("stale temporary file kept")
	}
	if n, size, _ := c.Usage(); n != 3 || size > 3*entrySize {
		t.Errorf("usage %d entries, %d bytes", n, size)
	}
}

func TestParseGoNote(t *testing.T) {
	note := binary.LittleEndian.AppendUint32(nil, 4)
	note = binary.LittleEndian.AppendUint32(note, 5)
	note = binary.LittleEndian.AppendUint32(note, 4)
	note = append(note, "Go\x00\x00abcde"...)
	if got := parseGoNote(note, binary.LittleEndian); got != "abcde" {
		t.Fatalf("parseGoNote = %q", got)
	}
	if got := parseGoNote(note[:18], binary.LittleEndian); got != "" {
		t.Fatalf("truncated note gave %q", got)
	}
	if ToolID() == "" {
		t.Fatal("no tool ID")
	}
}

// FuzzDecode: Decode never panics, and what it accepts is what Encode
// wrote.
func FuzzDecode(f *testing.F) {
	f.Add(Encode("s\x00k", []byte("payload")), "s\x00k")
	f.Add([]byte(magic+"\x00\x00\x00\x01\x03s\x00k\xff\xff\xff\xff\x0f"), "s\x00k")
	f.Fuzz(func(t *testing.T, data []byte, lbl string) {
		p, err := Decode(data, lbl)
		if err != nil {
			return
		}
		if !bytes.Equal(Encode(lbl, p), data) {
			t.Fatalf("accepted an entry Encode does not write")
		}
	})
}
