package target

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/nsscope/nsscope/inspect"
)

// A layer record is what one pass over a layer produced (its layerIndex),
// written to the layer cache and read back instead of reading the layer
// again. It holds everything the merge and the later questions need:
// every entry with its mode, size, link or hard link, where its contents
// are in the layer (for reading it again), the contents kept in memory
// (configuration files), the inspection result of each ELF file and each
// script's interpreter line, the whiteouts and opaque directories, the
// number of tar entries and the notes. The layer's position in the image
// is not part of it: the same layer can be the first of one image and the
// third of another.

// recordVersion is the layout of a record; a change of the layout or of
// what the reader records must change it.
const recordVersion = 2

// Entry kinds in a record.
const (
	recDir = iota + 1
	recSymlink
	recHardlink
	recRegular
	recOther // devices and FIFOs
)

// Per-entry flags.
const (
	recKept = 1 << iota
	recSrc
	recBinary
)

// whatMark replaces, in recorded notes, the name of the layer ("layer 2
// (sha256:…)"), which depends on its position in the image.
const whatMark = "\x00layer\x00"

// encodeRecord writes li (read as layer what) as a record.
func encodeRecord(li *layerIndex, what string) ([]byte, error) {
	var b []byte
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	strs := func(ss []string) {
		b = binary.AppendUvarint(b, uint64(len(ss)))
		for _, s := range ss {
			str(s)
		}
	}
	b = binary.AppendUvarint(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(li.count))
	b = binary.AppendUvarint(b, uint64(len(li.entries)))
	for _, n := range li.entries {
		kind := recOther
		switch {
		case n.kids != nil:
			kind = recDir
		case n.hardlink != "":
			kind = recHardlink
		case n.Mode&fs.ModeSymlink != 0:
			kind = recSymlink
		case n.Mode.IsRegular():
			kind = recRegular
		}
		var flags byte
		if n.kept {
			flags |= recKept
		}
		if n.src.ok {
			flags |= recSrc
		}
		var bin []byte
		if n.Binary != nil {
			flags |= recBinary
			var err error
			if bin, err = json.Marshal(n.Binary); err != nil {
				return nil, fmt.Errorf("layer record: %s: %w", n.Path, err)
			}
		}
		b = append(b, byte(kind), flags)
		str(n.Path)
		b = binary.AppendUvarint(b, uint64(n.Mode))
		b = binary.AppendVarint(b, n.Size)
		str(n.Link)
		str(n.hardlink)
		str(n.Shebang)
		str(n.InspectErr)
		if n.src.ok {
			str(n.src.name)
			b = binary.AppendUvarint(b, uint64(n.src.ord))
		}
		if n.kept {
			str(string(n.data))
		}
		if bin != nil {
			str(string(bin))
		}
	}
	strs(li.opaque)
	strs(li.whiteouts)
	notes := make([]string, len(li.notes))
	for i, s := range li.notes {
		notes[i] = strings.ReplaceAll(s, what, whatMark)
	}
	strs(notes)
	return b, nil
}

// errRecord: a record that does not decode.
var errRecord = errors.New("damaged layer record")

// recReader reads a record, every length checked against what is left.
type recReader struct {
	b   []byte
	err error
}

func (r *recReader) fail() {
	if r.err == nil {
		r.err = errRecord
	}
	r.b = nil
}

func (r *recReader) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *recReader) varint() int64 {
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return v
}

// count reads a count of items each taking at least min bytes.
func (r *recReader) count(minSize int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)/minSize) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *recReader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *recReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *recReader) str() string { return string(r.bytes()) }

func (r *recReader) strs() []string {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, r.str())
	}
	return out
}

// decodeRecord reads a record back as layer idx (named what in notes).
// A record that does not decode completely is an error: nothing of it is
// used.
func decodeRecord(data []byte, idx int, what string) (*layerIndex, error) {
	r := &recReader{b: data}
	if v := r.uvarint(); r.err == nil && v != recordVersion {
		return nil, fmt.Errorf("record version %d: %w", v, errRecord)
	}
	li := &layerIndex{count: int(min(r.uvarint(), 1<<40))}
	n := r.count(8)
	li.entries = make([]*node, 0, n)
	for range n {
		kind, flags := r.byte(), r.byte()
		p := r.str()
		mode := fs.FileMode(r.uvarint())
		nd := &node{Entry: Entry{Path: p, Mode: mode, Size: r.varint(), Layer: idx}}
		nd.Link = r.str()
		nd.hardlink = r.str()
		nd.Shebang = r.str()
		nd.InspectErr = r.str()
		if flags&recSrc != 0 {
			nd.src = layerRef{layer: idx, name: r.str(), ok: true}
			nd.src.ord = int(min(r.uvarint(), 1<<40))
		}
		if flags&recKept != 0 {
			nd.data, nd.kept = r.bytes(), true
		}
		if flags&recBinary != 0 {
			var b inspect.Binary
			if err := json.Unmarshal(r.bytes(), &b); err != nil {
				return nil, fmt.Errorf("%s: %w", p, errRecord)
			}
			nd.Binary = &b
		}
		if r.err != nil {
			return nil, r.err
		}
		if !validRecordEntry(kind, flags, nd) {
			return nil, fmt.Errorf("entry %q: %w", p, errRecord)
		}
		if kind == recDir {
			nd.kids = map[string]*node{}
		}
		li.entries = append(li.entries, nd)
	}
	li.opaque = r.strs()
	li.whiteouts = r.strs()
	li.notes = r.strs()
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%d bytes after the end: %w", len(r.b), errRecord)
	}
	for _, p := range append(append([]string(nil), li.opaque...), li.whiteouts...) {
		if !validRecordPath(p) {
			return nil, fmt.Errorf("path %q: %w", p, errRecord)
		}
	}
	for i, s := range li.notes {
		li.notes[i] = strings.ReplaceAll(s, whatMark, what)
	}
	return li, nil
}

// validRecordEntry checks what the merge relies on: a clean absolute
// path other than the root (what TarStream hands out), a kind that agrees
// with the mode, contents only for regular files.
func validRecordEntry(kind, flags byte, n *node) bool {
	if !validRecordPath(n.Path) || n.Path == "/" || n.Size < 0 {
		return false
	}
	if flags&^(recKept|recSrc|recBinary) != 0 {
		return false
	}
	regular := n.Mode.IsRegular()
	if flags&(recKept|recSrc|recBinary) != 0 && !regular {
		return false
	}
	switch kind {
	case recDir:
		return n.Mode.IsDir()
	case recSymlink:
		return n.Mode&fs.ModeSymlink != 0 && n.hardlink == ""
	case recHardlink:
		return validRecordPath(n.hardlink)
	case recRegular:
		return regular
	case recOther:
		return n.Mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe) != 0
	}
	return false
}

// validRecordPath reports a clean absolute path, as cleanName makes them.
func validRecordPath(p string) bool {
	c, _, ok := cleanName(p)
	return ok && c == p && strings.HasPrefix(p, "/")
}
