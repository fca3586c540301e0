package target

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"time"

	"github.com/nsscope/nsscope/inspect"
)

// FS returns the root as an fs.FS. Names are fs.ValidPath names relative
// to the root ("etc/resolv.conf"). Open, Stat, ReadFile and ReadDir follow
// symbolic links inside the root; Lstat and ReadLink do not follow the
// last one. Opened regular files implement io.ReaderAt and io.Seeker.
func (t *Tree) FS() fs.FS { return rootFS{t} }

type rootFS struct{ t *Tree }

var (
	_ fs.StatFS     = rootFS{}
	_ fs.ReadFileFS = rootFS{}
	_ fs.ReadDirFS  = rootFS{}
	_ fs.ReadLinkFS = rootFS{}
)

func (r rootFS) node(op, name string, follow bool) (*node, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	p, err := r.t.resolve("/"+name, follow)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, &fs.PathError{Op: op, Path: name, Err: pe.Err}
		}
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	n := r.t.lookup(p)
	if n == nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return n, nil
}

func (r rootFS) Open(name string) (fs.File, error) {
	n, err := r.node("open", name, true)
	if err != nil {
		return nil, err
	}
	if n.kids != nil {
		return &dirFile{info: fileInfo{n.Entry}, fsys: r, n: n}, nil
	}
	if !n.Mode.IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%s, %w", inspect.FileType(n.Mode), inspect.ErrNotRegular)}
	}
	rc, err := r.t.open(n)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &regFile{info: fileInfo{n.Entry}, content: rc}, nil
}

func (r rootFS) Stat(name string) (fs.FileInfo, error) {
	n, err := r.node("stat", name, true)
	if err != nil {
		return nil, err
	}
	return fileInfo{n.Entry}, nil
}

func (r rootFS) Lstat(name string) (fs.FileInfo, error) {
	n, err := r.node("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return fileInfo{n.Entry}, nil
}

func (r rootFS) ReadLink(name string) (string, error) {
	n, err := r.node("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.Mode&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return n.Link, nil
}

func (r rootFS) ReadFile(name string) ([]byte, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, ok := f.(*dirFile); ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	return io.ReadAll(f)
}

func (r rootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := r.node("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if n.kids == nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return r.t.dirEntries(n), nil
}

func (t *Tree) dirEntries(n *node) []fs.DirEntry {
	kids := t.children(n)
	names := slices.Sorted(maps.Keys(kids))
	out := make([]fs.DirEntry, len(names))
	for i, k := range names {
		out[i] = fs.FileInfoToDirEntry(fileInfo{kids[k].Entry})
	}
	return out
}

// fileInfo adapts an Entry to fs.FileInfo.
type fileInfo struct{ e Entry }

func (fi fileInfo) Name() string {
	if fi.e.Path == "/" {
		return "."
	}
	return path.Base(fi.e.Path)
}
func (fi fileInfo) Size() int64        { return fi.e.Size }
func (fi fileInfo) Mode() fs.FileMode  { return fi.e.Mode }
func (fi fileInfo) ModTime() time.Time { return time.Time{} }
func (fi fileInfo) IsDir() bool        { return fi.e.Mode.IsDir() }
func (fi fileInfo) Sys() any           { return fi.e }

// content is what regular files are read through.
type content interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
}

type regFile struct {
	info    fileInfo
	content content
}

func (f *regFile) Stat() (fs.FileInfo, error)                { return f.info, nil }
func (f *regFile) Read(p []byte) (int, error)                { return f.content.Read(p) }
func (f *regFile) ReadAt(p []byte, off int64) (int, error)   { return f.content.ReadAt(p, off) }
func (f *regFile) Seek(off int64, whence int) (int64, error) { return f.content.Seek(off, whence) }
func (f *regFile) Close() error                              { return f.content.Close() }

type dirFile struct {
	info fileInfo
	fsys rootFS
	n    *node
	list []fs.DirEntry
	read bool
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.e.Path, Err: errors.New("is a directory")}
}
func (d *dirFile) Close() error { return nil }

func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		d.list = d.fsys.t.dirEntries(d.n)
		d.read = true
	}
	if n <= 0 {
		l := d.list
		d.list = nil
		return l, nil
	}
	if len(d.list) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.list))
	l := d.list[:n]
	d.list = d.list[n:]
	return l, nil
}

// memContent serves kept contents.
type memContent struct{ *bytes.Reader }

func (memContent) Close() error { return nil }
