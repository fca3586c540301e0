package lab

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nsscope/nsscope/inspect/target"
)

// rootFS gives access to a directory tree the way a chrooted program sees
// it: every path, and every symbolic link met on the way (absolute ones
// included), resolves inside the tree (openat2 RESOLVE_IN_ROOT). Nothing a
// root filesystem contains can make the lab read or write outside it.
type rootFS struct {
	path string
	fd   int
}

func openRootFS(dir string) (*rootFS, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open root %s: %w", dir, err)
	}
	return &rootFS{path: dir, fd: fd}, nil
}

func (r *rootFS) close() { unix.Close(r.fd) }

// rel turns an absolute in-root path into the relative form openat2 takes.
func rel(name string) string {
	name = strings.TrimLeft(path.Clean("/"+name), "/")
	if name == "" {
		return "."
	}
	return name
}

// open opens name inside the root.
func (r *rootFS) open(name string, flags int, mode uint32) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Mode:    uint64(mode),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(r.fd, rel(name), &how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		return fd, err
	}
}

// readFile reads name; a missing file gives os.ErrNotExist.
func (r *rootFS) readFile(name string, limit int64) ([]byte, error) {
	fd, err := r.open(name, unix.O_RDONLY, 0)
	if err != nil {
		if err == unix.ENOENT {
			return nil, os.ErrNotExist
		}
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// stat returns the mode of name (following symbolic links inside the root).
func (r *rootFS) stat(name string) (unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := r.open(name, unix.O_PATH, 0)
	if err != nil {
		return st, err
	}
	defer unix.Close(fd)
	err = unix.Fstat(fd, &st)
	return st, err
}

// dir opens the directory name, creating it (and its parents) if needed.
func (r *rootFS) dir(name string) (int, error) {
	fd, err := r.open(name, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != unix.ENOENT {
		return fd, err
	}
	parent, base := path.Split(path.Clean("/" + name))
	pfd, err := r.dir(parent)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pfd)
	if err := unix.Mkdirat(pfd, base, 0o755); err != nil && err != unix.EEXIST {
		return -1, fmt.Errorf("mkdir %s: %w", name, err)
	}
	return r.open(name, unix.O_PATH|unix.O_DIRECTORY, 0)
}

// parent opens the directory holding name and returns it with the base name.
func (r *rootFS) parent(name string) (int, string, error) {
	clean := path.Clean("/" + name)
	if clean == "/" {
		return -1, "", fmt.Errorf("%q is the root itself", name)
	}
	dir, base := path.Split(clean)
	fd, err := r.dir(dir)
	return fd, base, err
}

// remove deletes name (not a directory); a missing file is fine.
func (r *rootFS) remove(name string) error {
	pfd, base, err := r.parent(name)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	if err := unix.Unlinkat(pfd, base, 0); err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// create replaces name with a new regular file (never following a link
// that was there) and returns it for writing.
func (r *rootFS) create(name string, mode uint32) (*os.File, error) {
	pfd, base, err := r.parent(name)
	if err != nil {
		return nil, err
	}
	defer unix.Close(pfd)
	if err := unix.Unlinkat(pfd, base, 0); err != nil && err != unix.ENOENT {
		return nil, fmt.Errorf("replace %s: %w", name, err)
	}
	fd, err := unix.Openat(pfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	if err := unix.Fchmod(fd, mode); err != nil { // not subject to umask
		unix.Close(fd)
		return nil, fmt.Errorf("chmod %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// writeFile replaces name with data.
func (r *rootFS) writeFile(name string, data []byte, mode uint32) error {
	f, err := r.create(name, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	return f.Close()
}

// symlink replaces name with a symbolic link to target (kept verbatim: it
// is resolved inside the root when followed).
func (r *rootFS) symlink(target, name string) error {
	pfd, base, err := r.parent(name)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	if err := unix.Unlinkat(pfd, base, 0); err != nil && err != unix.ENOENT {
		return fmt.Errorf("replace %s: %w", name, err)
	}
	if err := unix.Symlinkat(target, pfd, base); err != nil {
		return fmt.Errorf("symlink %s: %w", name, err)
	}
	return nil
}

// Limits on what a root tarball may expand to (it lands in memory, tmpfs).
const (
	maxTarBytes   = 4 << 30
	maxTarEntries = 500000
)

// extractTar unpacks a tar stream (plain, gzip or zstd, read through
// nsscope's one tar reader, target.TarStream) into r. Device nodes and
// FIFOs are skipped (no program resolving names needs them); ownership is
// not kept; hard links become copies.
func extractTar(r *rootFS, in io.Reader) error {
	ts, err := target.NewTarStream(in, target.Limits{MaxEntries: maxTarEntries, MaxLayerSize: maxTarBytes}, "tar", nil)
	if err != nil {
		return err
	}
	defer ts.Close()
	var tr io.Reader = ts
	var total int64
	for {
		te, err := ts.Next()
		if err == io.EOF {
			if ts.Count() == 0 {
				return errors.New("not a tar archive (no entries)")
			}
			return nil
		}
		if err != nil {
			return err
		}
		h, name := te.Header, te.Path
		mode := uint32(h.Mode) & 0o7777
		switch h.Typeflag {
		case tar.TypeDir:
			fd, err := r.dir(name)
			if err != nil {
				return fmt.Errorf("tar %s: %w", h.Name, err)
			}
			unix.Close(fd)
		case tar.TypeReg, tar.TypeRegA:
			total += h.Size
			if total > maxTarBytes {
				return fmt.Errorf("tar: expands to more than %d bytes", int64(maxTarBytes))
			}
			f, err := r.create(name, mode)
			if err != nil {
				return fmt.Errorf("tar %s: %w", h.Name, err)
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("tar %s: %w", h.Name, err)
			}
		case tar.TypeSymlink:
			if err := r.symlink(h.Linkname, name); err != nil {
				return fmt.Errorf("tar %s: %w", h.Name, err)
			}
		case tar.TypeLink:
			data, err := r.readFile(te.HardLink, maxTarBytes)
			if err != nil {
				return fmt.Errorf("tar %s: hard link to %s: %w", h.Name, h.Linkname, err)
			}
			total += int64(len(data))
			if total > maxTarBytes {
				return fmt.Errorf("tar: expands to more than %d bytes", int64(maxTarBytes))
			}
			st, err := r.stat(te.HardLink)
			if err == nil {
				mode = st.Mode & 0o7777
			}
			if err := r.writeFile(name, data, mode); err != nil {
				return fmt.Errorf("tar %s: %w", h.Name, err)
			}
		default:
			// Devices, FIFOs, PAX/GNU metadata entries: skipped.
		}
	}
}

// DirFS returns a file system rooted at dir that resolves every path and
// symbolic link inside dir, as a program chrooted there would (absolute
// links included). Files it opens are *os.File (io.ReaderAt).
func DirFS(dir string) fs.FS { return dirFS(dir) }

type dirFS string

func (d dirFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	r, err := openRootFS(string(d))
	if err != nil {
		return nil, err
	}
	defer r.close()
	fd, err := r.open(name, unix.O_RDONLY, 0)
	if err != nil {
		if err == unix.ENOENT {
			err = fs.ErrNotExist
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}
