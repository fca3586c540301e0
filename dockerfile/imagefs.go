package dockerfile

import (
	"bytes"
	"io/fs"
	"path"
	"time"
)

// imageFiles is the final image's files as far as the analysis knows
// them: a path without its leading "/" mapped to the content. It is the
// file system scan grades; files not in it do not exist.
//
// TODO(sysenv): replace with the one FS→Env path once it lands on main.
type imageFiles map[string][]byte

// Open opens a file of the map (no directories are listed).
func (m imageFiles) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	data, ok := m[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &imageFile{name: name, Reader: bytes.NewReader(data), size: int64(len(data))}, nil
}

// imageFile is an open file of imageFiles.
type imageFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f *imageFile) Stat() (fs.FileInfo, error) { return fileInfo{f}, nil }
func (f *imageFile) Close() error               { return nil }

type fileInfo struct{ f *imageFile }

func (i fileInfo) Name() string       { return path.Base(i.f.name) }
func (i fileInfo) Size() int64        { return i.f.size }
func (i fileInfo) Mode() fs.FileMode  { return 0o644 }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }
