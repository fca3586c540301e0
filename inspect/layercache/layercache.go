// Package layercache keeps the results of reading image layers on disk, so
// that a later scan of the same layer (the same image again, or another
// image built on the same base) does not read the layer again.
//
// A cache is a directory of entries, one file per layer and reader: the
// file name is a hash of the layer's key (its content digest), of the
// identity of the program that wrote it (its Go build ID, so that a
// rebuilt nsscope never trusts what an older one recorded) and of the
// reader's options that shape the record. Each entry starts with a header
// naming the format version, the key and the payload's SHA-256: an entry
// that is truncated, corrupt, of another format or filed under another key
// is ignored (and removed), never trusted.
//
// Several processes may use one directory at once: an entry is written to
// a temporary file in the directory and renamed into place (readers see
// the whole old entry, the whole new one, or none), and eviction is done
// by one process at a time under an flock on the directory's lock file.
// The total size is bounded: after a write, the entries used least
// recently (by modification time, which a read refreshes) are removed
// until the directory holds at most the configured bytes.
//
// The package stores opaque payloads; what a layer record holds is the
// business of its caller (package target).
package layercache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// FormatVersion is the version of the entry layout (header and, through
// the callers' own versions, the payload). Entries of other versions are
// not read.
const FormatVersion = 1

// DefaultMaxBytes bounds a cache directory when no size is given.
const DefaultMaxBytes = 1 << 30

// magic starts every entry file.
const magic = "nsscope-layer\n"

// entryExt names entry files; tmpPrefix temporary ones being written.
const (
	entryExt  = ".entry"
	tmpPrefix = ".tmp-"
	lockName  = ".lock"
)

// staleTmp is the age after which a temporary file is taken for the
// leftover of a killed writer.
const staleTmp = time.Hour

// maxEntry bounds an entry file read back (a record is far smaller).
const maxEntry = 1 << 30

// Cache is one cache directory. Its methods are safe for concurrent use,
// also by several processes.
type Cache struct {
	dir  string
	max  int64
	tool string
}

// Open returns the cache in dir (created when missing, mode 0700) bounded
// to maxBytes (DefaultMaxBytes when ≤ 0). tool identifies the program
// writing and reading the entries; use ToolID.
func Open(dir string, maxBytes int64, tool string) (*Cache, error) {
	if dir == "" {
		return nil, errors.New("layer cache: no directory")
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("layer cache: %w", err)
	}
	return &Cache{dir: dir, max: maxBytes, tool: tool}, nil
}

// DefaultDir is os.UserCacheDir()/nsscope/layers.
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("layer cache: %w", err)
	}
	return filepath.Join(d, "nsscope", "layers"), nil
}

// Dir is the cache directory.
func (c *Cache) Dir() string { return c.dir }

// name is the entry file of key for this tool and scope.
func (c *Cache) name(scope, key string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%s\x00%s\x00%s", FormatVersion, c.tool, scope, key)
	return filepath.Join(c.dir, hex.EncodeToString(h.Sum(nil))+entryExt)
}

// label is what the header names: the key within its scope.
func label(scope, key string) string { return scope + "\x00" + key }

// Get returns the payload stored for key in scope (a string naming the
// reader options that shape the payload), and false when there is none or
// the entry is damaged; a damaged entry is removed. A hit refreshes the
// entry's last use.
func (c *Cache) Get(scope, key string) ([]byte, bool) {
	p := c.name(scope, key)
	data, err := readBounded(p, maxEntry)
	if err != nil {
		return nil, false
	}
	payload, err := Decode(data, label(scope, key))
	if err != nil {
		os.Remove(p)
		return nil, false
	}
	now := time.Now()
	os.Chtimes(p, now, now)
	return payload, true
}

// readBounded reads a regular file of at most limit bytes.
func readBounded(p string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > limit {
		return nil, errors.New("not a regular file of a cache entry's size")
	}
	data := make([]byte, st.Size())
	n, err := f.ReadAt(data, 0)
	if n != len(data) {
		return nil, fmt.Errorf("short read: %w", err)
	}
	return data, nil
}

// Put stores payload for key in scope, atomically, then evicts the least
// recently used entries beyond the size bound.
func (c *Cache) Put(scope, key string, payload []byte) error {
	data := Encode(label(scope, key), payload)
	tmp, err := os.CreateTemp(c.dir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("layer cache: %w", err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.name(scope, key))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("layer cache: %w", err)
	}
	return c.Evict()
}

// Encode frames payload as an entry filed under label: the magic, the
// format version, the label, the payload's length and SHA-256, the
// payload.
func Encode(label string, payload []byte) []byte {
	sum := sha256.Sum256(payload)
	out := make([]byte, 0, len(magic)+4+binary.MaxVarintLen64*2+len(label)+len(sum)+len(payload))
	out = append(out, magic...)
	out = binary.BigEndian.AppendUint32(out, FormatVersion)
	out = binary.AppendUvarint(out, uint64(len(label)))
	out = append(out, label...)
	out = binary.AppendUvarint(out, uint64(len(payload)))
	out = append(out, sum[:]...)
	return append(out, payload...)
}

// Errors of Decode.
var (
	ErrFormat   = errors.New("not a cache entry of this format")
	ErrChecksum = errors.New("cache entry damaged (checksum)")
)

// Decode checks an entry and returns its payload: the magic and format
// version, the label it must be filed under, the exact length and the
// checksum. It never trusts a length it has not checked against the data.
func Decode(data []byte, wantLabel string) ([]byte, error) {
	rest, ok := bytes.CutPrefix(data, []byte(magic))
	if !ok || len(rest) < 4 {
		return nil, ErrFormat
	}
	if binary.BigEndian.Uint32(rest) != FormatVersion {
		return nil, fmt.Errorf("format version %d: %w", binary.BigEndian.Uint32(rest), ErrFormat)
	}
	rest = rest[4:]
	n, k := uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return nil, fmt.Errorf("label: %w", ErrFormat)
	}
	rest = rest[k:]
	if string(rest[:n]) != wantLabel {
		return nil, fmt.Errorf("filed under another key: %w", ErrFormat)
	}
	rest = rest[n:]
	size, k := uvarint(rest)
	if k <= 0 || len(rest)-k < sha256.Size || size != uint64(len(rest)-k-sha256.Size) {
		return nil, fmt.Errorf("length: %w", ErrChecksum)
	}
	rest = rest[k:]
	sum, payload := rest[:sha256.Size], rest[sha256.Size:]
	if got := sha256.Sum256(payload); !bytes.Equal(got[:], sum) {
		return nil, ErrChecksum
	}
	return payload, nil
}

// uvarint reads a length in its shortest encoding only (k ≤ 0 otherwise),
// so that one payload has one entry.
func uvarint(b []byte) (uint64, int) {
	v, k := binary.Uvarint(b)
	if k > 0 && k != len(binary.AppendUvarint(nil, v)) {
		return 0, -1
	}
	return v, k
}

// Evict removes the least recently used entries until the directory
// holds at most the size bound, and temporary files left by killed
// writers. Only one process evicts at a time; when another one is at it,
// Evict returns at once.
func (c *Cache) Evict() error {
	lock, err := os.OpenFile(filepath.Join(c.dir, lockName), os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("layer cache: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil // another process is evicting
	}
	des, err := os.ReadDir(c.dir)
	if err != nil {
		return fmt.Errorf("layer cache: %w", err)
	}
	type ent struct {
		path string
		size int64
		used time.Time
	}
	var ents []ent
	var total int64
	now := time.Now()
	for _, de := range des {
		info, err := de.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		p := filepath.Join(c.dir, de.Name())
		switch {
		case strings.HasPrefix(de.Name(), tmpPrefix):
			if now.Sub(info.ModTime()) > staleTmp {
				os.Remove(p)
			}
		case strings.HasSuffix(de.Name(), entryExt):
			ents = append(ents, ent{p, info.Size(), info.ModTime()})
			total += info.Size()
		}
	}
	if total <= c.max {
		return nil
	}
	slices.SortFunc(ents, func(a, b ent) int { return a.used.Compare(b.used) })
	for _, e := range ents {
		if total <= c.max {
			break
		}
		if err := os.Remove(e.path); err == nil || errors.Is(err, fs.ErrNotExist) {
			total -= e.size
		}
	}
	return nil
}

// Usage returns the number of entries and their total bytes.
func (c *Cache) Usage() (entries int, bytes int64, err error) {
	des, err := os.ReadDir(c.dir)
	if err != nil {
		return 0, 0, err
	}
	for _, de := range des {
		if !strings.HasSuffix(de.Name(), entryExt) {
			continue
		}
		if info, err := de.Info(); err == nil && info.Mode().IsRegular() {
			entries++
			bytes += info.Size()
		}
	}
	return entries, bytes, nil
}
