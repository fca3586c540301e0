package imagestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	bolt "go.etcd.io/bbolt"
)

// Where containerd keeps things under its root directory (its plugin
// directories: io.containerd.content.v1.content holds blobs by digest,
// io.containerd.metadata.v1.bolt the bbolt database of names).
const (
	contentDir = "io.containerd.content.v1.content"
	metaDB     = "io.containerd.metadata.v1.bolt/meta.db"
	// k3sRoot is k3s's embedded containerd root.
	k3sRoot = "/var/lib/rancher/k3s/agent/containerd"
)

// The metadata database's layout (containerd's core/metadata/buckets.go):
// v1/<namespace>/images/<name>/target/{digest,mediatype,size}, size a
// varint.
var (
	bucketV1        = []byte("v1")
	bucketImage     = []byte("images")
	bucketTarget    = []byte("target")
	keyDigest       = []byte("digest")
	keyMediaType    = []byte("mediatype")
	keySize         = []byte("size")
	validHexDigest  = regexp.MustCompile(`^[a-f0-9]{64}$`)
	snapshotRetries = 5
)

// fileStore reads containerd's files without the daemon: the metadata
// database through a private snapshot, blobs in place.
type fileStore struct {
	root    string // containerd's root directory
	ns      string
	content *os.Root
	db      *bolt.DB
	tmp     string
}

// containerdRoot finds containerd's root directory under a node's root.
func containerdRoot(opts Options) (string, error) {
	if opts.ContainerdRoot != "" {
		return filepath.Join(opts.NodeRoot, opts.ContainerdRoot), nil
	}
	var tried []string
	for _, r := range []string{DefaultContainerdRoot, k3sRoot} {
		p := filepath.Join(opts.NodeRoot, r)
		if _, err := os.Stat(filepath.Join(p, metaDB)); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("no containerd metadata database under %s (looked in %v for %s): %w", opts.NodeRoot, tried, metaDB, ErrBadStore)
}

func openFiles(opts Options) (store, error) {
	root, err := containerdRoot(opts)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(opts.TempDir, "nsscope-containerd-")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (store, error) { os.RemoveAll(tmp); return nil, err }
	copyPath := filepath.Join(tmp, "meta.db")
	if err := snapshotDB(filepath.Join(root, metaDB), copyPath); err != nil {
		return fail(err)
	}
	// The copy is ours: a shared lock on it disturbs nobody, and the
	// original is never opened by bbolt (containerd holds an exclusive
	// lock on it while it runs).
	db, err := openBolt(copyPath)
	if err != nil {
		return fail(fmt.Errorf("%s: %w (%w)", filepath.Join(root, metaDB), err, ErrBadStore))
	}
	content, err := os.OpenRoot(filepath.Join(root, contentDir))
	if err != nil {
		db.Close()
		return fail(fmt.Errorf("content store: %w", err))
	}
	return &fileStore{root: root, ns: opts.Namespace, content: content, db: db, tmp: tmp}, nil
}

// snapshotDB copies a bbolt file that a running containerd may be
// writing. bbolt writes a transaction's pages to free space and then one
// of its two meta pages, never a page the current meta page reaches: a
// copy during which neither meta page changed is a consistent database.
// The copy is retried when a commit landed while it was made.
func snapshotDB(src, dst string) error {
	for range snapshotRetries {
		same, err := copyOnce(src, dst)
		if err != nil {
			return err
		}
		if same {
			return nil
		}
	}
	return fmt.Errorf("%s: changed during each of %d copies", src, snapshotRetries)
}

// copyOnce copies src to dst and reports whether src's meta pages were
// the same before and after.
func copyOnce(src, dst string) (bool, error) {
	f, err := os.Open(src) // O_RDONLY; no lock taken
	if err != nil {
		return false, fmt.Errorf("metadata database: %w", err)
	}
	defer f.Close()
	before, err := metaPages(f)
	if err != nil {
		return false, fmt.Errorf("%s: %w", src, err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return false, err
	}
	if _, err := io.Copy(out, io.NewSectionReader(f, 0, 1<<62)); err != nil {
		out.Close()
		return false, fmt.Errorf("copying %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return false, err
	}
	after, err := metaPages(f)
	if err != nil {
		return false, fmt.Errorf("%s: %w", src, err)
	}
	return bytes.Equal(before, after), nil
}

// boltMagic is the magic number of a bbolt meta page.
const boltMagic = 0xED0CDAED

// metaPages reads the two meta pages at the start of a bbolt file: a
// 16-byte page header, then the meta (magic, version, page size, ...).
func metaPages(f *os.File) ([]byte, error) {
	head := make([]byte, 32)
	if _, err := f.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("not a bbolt database: %w (%w)", err, ErrBadStore)
	}
	if binary.LittleEndian.Uint32(head[16:]) != boltMagic {
		return nil, fmt.Errorf("not a bbolt database: %w", ErrBadStore)
	}
	ps := int64(binary.LittleEndian.Uint32(head[24:]))
	if ps < 512 || ps > 1<<20 {
		return nil, fmt.Errorf("bbolt page size %d: %w", ps, ErrBadStore)
	}
	pages := make([]byte, 2*ps)
	if _, err := f.ReadAt(pages, 0); err != nil {
		return nil, fmt.Errorf("meta pages: %w (%w)", err, ErrBadStore)
	}
	return pages, nil
}

// openBolt opens our snapshot read-only. bbolt panics on some damaged
// files; that is a bad store, not a crash.
func openBolt(p string) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("damaged bbolt database: %v", r)
		}
	}()
	return bolt.Open(p, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
}

// view runs fn in a read transaction, a bbolt panic (a damaged page)
// turned into ErrBadStore.
func (s *fileStore) view(fn func(tx *bolt.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: damaged metadata database: %v: %w", s.root, r, ErrBadStore)
		}
	}()
	return s.db.View(fn)
}

func (s *fileStore) where() string {
	return fmt.Sprintf("containerd's files under %s, namespace %s", s.root, s.ns)
}

func (s *fileStore) close() error {
	err := errors.Join(s.db.Close(), s.content.Close())
	return errors.Join(err, os.RemoveAll(s.tmp))
}

// images returns the namespace's image bucket, nil when it has none.
func (s *fileStore) images(tx *bolt.Tx) *bolt.Bucket {
	v := tx.Bucket(bucketV1)
	if v == nil {
		return nil
	}
	ns := v.Bucket([]byte(s.ns))
	if ns == nil {
		return nil
	}
	return ns.Bucket(bucketImage)
}

func readTarget(name string, b *bolt.Bucket) (Record, error) {
	t := b.Bucket(bucketTarget)
	if t == nil {
		return Record{}, fmt.Errorf("image %s has no target: %w", name, ErrBadStore)
	}
	r := Record{Name: name, Digest: string(t.Get(keyDigest)), MediaType: string(t.Get(keyMediaType))}
	if sz := t.Get(keySize); len(sz) > 0 {
		n, k := binary.Varint(sz)
		if k <= 0 {
			return Record{}, fmt.Errorf("image %s: target size: %w", name, ErrBadStore)
		}
		r.Size = n
	}
	return r, nil
}

func (s *fileStore) resolve(_ context.Context, name string) (Record, error) {
	var rec Record
	err := s.view(func(tx *bolt.Tx) error {
		imgs := s.images(tx)
		if imgs == nil {
			return fmt.Errorf("%s: %w", name, ErrNotFound)
		}
		b := imgs.Bucket([]byte(name))
		if b == nil {
			return fmt.Errorf("%s: %w", name, ErrNotFound)
		}
		var err error
		rec, err = readTarget(name, b)
		return err
	})
	return rec, err
}

func (s *fileStore) list(context.Context) ([]Record, error) {
	var recs []Record
	err := s.view(func(tx *bolt.Tx) error {
		imgs := s.images(tx)
		if imgs == nil {
			return nil
		}
		return imgs.ForEach(func(k, v []byte) error {
			b := imgs.Bucket(k)
			if v != nil || b == nil {
				return nil
			}
			r, err := readTarget(string(k), b)
			if err != nil {
				return err
			}
			recs = append(recs, r)
			return nil
		})
	})
	sortRecords(recs)
	return recs, err
}

func sortRecords(recs []Record) {
	sort.Slice(recs, func(i, j int) bool { return recs[i].Name < recs[j].Name })
}

func (s *fileStore) open(_ context.Context, d v1.Hash) (io.ReadCloser, int64, error) {
	if d.Algorithm != "sha256" || !validHexDigest.MatchString(d.Hex) {
		return nil, 0, fmt.Errorf("digest %s: %w", d, ErrBadStore)
	}
	// O_NONBLOCK: a FIFO planted in the store must not hang the open.
	f, err := s.content.OpenFile(path.Join("blobs", d.Algorithm, d.Hex), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%s under %s (containerd may have discarded it after unpacking: discard_unpacked_layers): %w",
			d, filepath.Join(s.root, contentDir), ErrBlobMissing)
	}
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("blob %s is not a regular file: %w", d, ErrBadStore)
	}
	return f, st.Size(), nil
}
