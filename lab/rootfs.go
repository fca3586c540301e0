package lab

import (
	"archive/tar"
	"bytes"
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

// link makes name a hard link to the file target, both inside the root
// (the target resolved as the root would, links included; a directory
// cannot be linked).
func (r *rootFS) link(target, name string) error {
	fd, err := r.open(target, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("hard link to %s: %w", target, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("hard link to %s: %w", target, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("hard link to %s: a directory", target)
	}
	pfd, base, err := r.parent(name)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	if err := unix.Unlinkat(pfd, base, 0); err != nil && err != unix.ENOENT {
		return fmt.Errorf("replace %s: %w", name, err)
	}
	// Through the descriptor's /proc link: the target is exactly the file
	// opened inside the root, whatever its path says.
	if err := unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd), pfd, base, unix.AT_SYMLINK_FOLLOW); err != nil {
		return fmt.Errorf("hard link %s: %w", name, err)
	}
	return nil
}

// maxTarEntries bounds the entries of a root archive; its bytes are
// bounded by the run's tmpfs (Spec.TmpfsSize).
const maxTarEntries = 500000

// errTmpfsFull says the root does not fit the run's tmpfs.
var errTmpfsFull = errors.New("does not fit the lab's tmpfs")

// extractTar unpacks a root archive (a tar, gzip- or zstd-compressed or
// not) into r, writing at most limit bytes of file data. It never holds
// a file in memory: file data streams to the tmpfs, runs of zeros
// become holes (a sparse file costs only its data), and a hard link is
// a hard link. Device nodes and FIFOs are skipped (no program resolving
// names needs them); ownership is not kept.
func extractTar(r *rootFS, in io.Reader, limit int64) error {
	// nsscope's one tar reader: the compression sniffed, names kept
	// inside the root, entries bounded.
	ts, err := target.NewTarStream(in, target.Limits{MaxEntries: maxTarEntries}, "tar", nil)
	if err != nil {
		return err
	}
	defer ts.Close()
	budget := limit
	// A chunk read, and zeros to compare it with (bytes.Equal is
	// vectorised; a byte loop over 1.5 GiB of holes takes seconds).
	buf := make([]byte, 2*sparseChunk)
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
		h := te.Header
		if err := extractEntry(r, ts, te, &budget, buf); err != nil {
			if errors.Is(err, errTmpfsFull) || errors.Is(err, unix.ENOSPC) {
				return fmt.Errorf("tar %s: the root expands to more than %d bytes, the lab's tmpfs size (raise it with --tmpfs-size)", h.Name, limit)
			}
			return fmt.Errorf("tar %s: %w", h.Name, err)
		}
	}
}

// extractEntry creates one archive entry in r; budget is what the tmpfs
// has left for file data.
func extractEntry(r *rootFS, tr io.Reader, te target.TarEntry, budget *int64, buf []byte) error {
	h, name := te.Header, te.Path
	mode := uint32(h.Mode) & 0o7777
	switch h.Typeflag {
	case tar.TypeDir:
		fd, err := r.dir(name)
		if err != nil {
			return err
		}
		unix.Close(fd)
	case tar.TypeReg, typeOldReg:
		f, err := r.create(name, mode)
		if err != nil {
			return err
		}
		err = copySparse(f, tr, h.Size, budget, buf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	case tar.TypeSymlink:
		return r.symlink(h.Linkname, name)
	case tar.TypeLink:
		return r.link(te.HardLink, name)
	default:
		// Devices, FIFOs, PAX/GNU metadata entries: skipped.
	}
	return nil
}

// sparseChunk is the unit in which file data is checked for zeros.
const sparseChunk = 64 << 10

// copySparse copies size bytes from src to f, leaving holes where a whole
// chunk is zeros, and charges the bytes written to budget.
// buf holds a chunk and, after it, a chunk of zeros.
func copySparse(f *os.File, src io.Reader, size int64, budget *int64, buf []byte) error {
	buf, zeros := buf[:sparseChunk], buf[sparseChunk:]
	var off int64
	for off < size {
		n, err := io.ReadFull(src, buf[:min(int64(len(buf)), size-off)])
		if n > 0 && !bytes.Equal(buf[:n], zeros[:n]) {
			if *budget -= int64(n); *budget < 0 {
				return errTmpfsFull
			}
			if _, werr := f.WriteAt(buf[:n], off); werr != nil {
				return werr
			}
		}
		off += int64(n)
		if err != nil {
			return err
		}
	}
	return f.Truncate(size) // the file's length, holes at the end included
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

// typeOldReg is the pre-POSIX type flag of a regular file (NUL), which
// old archives still carry.
const typeOldReg = '\x00'
