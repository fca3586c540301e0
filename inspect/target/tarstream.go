package target

import (
	"archive/tar"
	"fmt"
	"io"
	"path"
	"strings"
)

// TarEntry is one entry of a tar stream with its name made safe.
type TarEntry struct {
	Header *tar.Header
	// Path is the entry's clean absolute path inside the root ("/etc/hosts").
	Path string
	// HardLink is, for a hard link, the clean absolute path it points at.
	HardLink string
	// Sparse marks a GNU sparse file: Header.Size is its logical size,
	// mostly holes that reading fills with zeros.
	Sparse bool
}

// TarStream reads a root filesystem tarball or an image layer, plain,
// gzip- or zstd-compressed (sniffed from its first bytes), one entry at a
// time, within Limits: the uncompressed size, the compression ratio and
// the number of entries are bounded, and entries (or hard links) that
// would leave the root are skipped with a note. It is the one tar reader
// of nsscope: image layers, rootfs tarballs (scan, explain --root) and
// the lab's root extraction all read through it.
type TarStream struct {
	tr          *tar.Reader
	r           io.Reader
	closeDec    func()
	lim         Limits
	what        string
	compression string
	n           int
	served      int64 // entry bytes served by Read, sparse holes included
	notes       []string
}

// NewTarStream starts reading r. what names the stream in errors and
// notes ("layer 2 (sha256:...)", "tarball"); progress, when set, is given
// the stored bytes read as they are read.
func NewTarStream(r io.Reader, lim Limits, what string, progress func(int64)) (*TarStream, error) {
	lim = lim.withDefaults()
	dr, kind, closeDec, err := decompress(r, lim, what, progress)
	if err != nil {
		return nil, err
	}
	return &TarStream{tr: tar.NewReader(dr), r: dr, closeDec: closeDec, lim: lim, what: what, compression: kind}, nil
}

// tee copies the uncompressed stream, every byte of it (headers, padding
// and the end), to w as it is read. Call it before the first Next.
func (s *TarStream) tee(w io.Writer) {
	s.r = io.TeeReader(s.r, w)
	s.tr = tar.NewReader(s.r)
}

// Compression is "gzip", "zstd" or "none".
func (s *TarStream) Compression() string { return s.compression }

// Notes are the remarks on entries skipped or changed so far.
func (s *TarStream) Notes() []string { return s.notes }

// Count is the number of entries read so far (skipped ones included).
func (s *TarStream) Count() int { return s.n }

// Close releases the decompressor.
func (s *TarStream) Close() { s.closeDec() }

// Read reads the contents of the current entry. The bytes served over
// all entries are bounded by Limits.MaxLayerSize too: a sparse entry can
// claim gigabytes of holes from a few bytes of archive.
func (s *TarStream) Read(p []byte) (int, error) {
	n, err := s.tr.Read(p)
	s.served += int64(n)
	if s.served > s.lim.MaxLayerSize {
		return n, fmt.Errorf("%s: entries expand past %d bytes: %w", s.what, s.lim.MaxLayerSize, ErrLimit)
	}
	return n, err
}

// Next returns the next entry that stays inside the root. At the end of
// the archive it reads the rest of the stream, so that a damaged
// compressed tail (checksum, length) is an error, and returns io.EOF.
func (s *TarStream) Next() (TarEntry, error) {
	for {
		hdr, err := s.tr.Next()
		if err == io.EOF {
			if _, err := io.Copy(io.Discard, s.r); err != nil {
				return TarEntry{}, fmt.Errorf("%s: after the last entry: %w", s.what, describeReadErr(err))
			}
			return TarEntry{}, io.EOF
		}
		if err != nil {
			return TarEntry{}, fmt.Errorf("%s: entry %d: %w", s.what, s.n+1, describeReadErr(err))
		}
		s.n++
		if s.n > s.lim.MaxEntries {
			return TarEntry{}, fmt.Errorf("%s: more than %d entries: %w", s.what, s.lim.MaxEntries, ErrLimit)
		}
		p, note, ok := cleanName(hdr.Name)
		if !ok {
			s.notes = append(s.notes, fmt.Sprintf("%s: entry %q leaves the root: skipped", s.what, hdr.Name))
			continue
		}
		if note != "" {
			s.notes = append(s.notes, fmt.Sprintf("%s: entry %q: %s", s.what, hdr.Name, note))
		}
		if p == "/" {
			continue
		}
		e := TarEntry{Header: hdr, Path: p, Sparse: isSparse(hdr)}
		if hdr.Typeflag == tar.TypeLink {
			lp, _, ok := cleanName(hdr.Linkname)
			if !ok {
				s.notes = append(s.notes, fmt.Sprintf("%s: hard link %s → %q leaves the root: skipped", s.what, p, hdr.Linkname))
				continue
			}
			e.HardLink = lp
		}
		return e, nil
	}
}

// cleanName turns a tar entry name into a clean absolute path inside the
// root. ok is false for names that would leave the root (a ".." that
// climbs above it); note explains a change made (a leading "/" removed).
func cleanName(name string) (p string, note string, ok bool) {
	if strings.HasPrefix(name, "/") {
		note = "absolute path: taken relative to the root"
	}
	depth := 0
	for _, c := range components(name) {
		switch c {
		case ".":
		case "..":
			depth--
			if depth < 0 {
				return "", "", false
			}
		default:
			depth++
		}
	}
	return path.Clean("/" + name), note, true
}
