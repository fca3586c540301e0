// Package sysenv builds the model's environment (model.Env) from a real
// place: this host, a root filesystem (directory or tarball, read through
// inspect/target, so symbolic links stay inside it), and overrides given
// as files. It is the only bridge between files on disk and the pure model.
package sysenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/model"
)

// maxFile caps what is read of one configuration file.
const maxFile = 1 << 20

// Source is where the environment's files come from.
type Source struct {
	// Label describes it ("this host", "alpine.tar.gz").
	Label string
	fsys  fs.FS
	close func() error
	// prefix for citations ("alpine.tar.gz:" or "").
	prefix string
	libc   []inspect.LibcRelease
}

// Close releases the source.
func (s *Source) Close() error {
	if s.close != nil {
		return s.close()
	}
	return nil
}

// Host is this machine's root.
func Host() *Source {
	return &Source{Label: "this host", fsys: os.DirFS("/")}
}

// Root opens a root filesystem: a directory or a tarball (.tar, .tar.gz,
// .tar.zst), never modified and never extracted beyond /etc.
func Root(ctx context.Context, spec string) (*Source, error) {
	st, err := os.Stat(spec)
	if err != nil {
		return nil, fmt.Errorf("--root %s: %w", spec, err)
	}
	if st.IsDir() {
		// A directory: resolve links inside it with the target reader only
		// for what we read; os.Root confines every access to the tree.
		r, err := os.OpenRoot(spec)
		if err != nil {
			return nil, fmt.Errorf("--root %s: %w", spec, err)
		}
		return &Source{Label: spec, fsys: confinedFS{r}, close: r.Close, prefix: strings.TrimSuffix(spec, "/")}, nil
	}
	t, err := target.Open(ctx, spec, target.Options{NoInspect: true, Keep: func(p string, size int64) bool {
		return strings.HasPrefix(p, "/etc/") || inspect.IsLibcPath(p)
	}})
	if err != nil {
		return nil, fmt.Errorf("--root %s: %w", spec, err)
	}
	return &Source{Label: filepath.Base(spec), fsys: t.FS(), close: t.Close, prefix: filepath.Base(spec) + ":", libc: t.Libc()}, nil
}

// confinedFS reads a directory tree through os.Root, interpreting absolute
// symbolic links relative to the tree (as a chroot would).
type confinedFS struct{ r *os.Root }

func (c confinedFS) Open(name string) (fs.File, error) {
	p, err := c.resolve(name, 0)
	if err != nil {
		return nil, err
	}
	return c.r.Open(p)
}

func (c confinedFS) resolve(name string, depth int) (string, error) {
	if depth > 40 {
		return "", &fs.PathError{Op: "open", Path: name, Err: errors.New("too many levels of symbolic links")}
	}
	parts := strings.Split(name, "/")
	cur := ""
	for i, part := range parts {
		next := filepath.Join(cur, part)
		fi, err := c.r.Lstat(next)
		if err != nil {
			return next, nil // let Open report it
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			link, err := c.r.Readlink(next)
			if err != nil {
				return "", err
			}
			var base string
			if strings.HasPrefix(link, "/") {
				base = strings.TrimPrefix(filepath.Clean(link), "/")
			} else {
				base = filepath.Join(cur, link)
			}
			base = filepath.Clean(base)
			if base == ".." || strings.HasPrefix(base, "../") {
				base = strings.TrimLeft(strings.ReplaceAll(base, "../", ""), ".")
			}
			rest := strings.Join(parts[i+1:], "/")
			if rest != "" {
				base = filepath.Join(base, rest)
			}
			return c.resolve(strings.TrimPrefix(base, "/"), depth+1)
		}
		cur = next
	}
	return cur, nil
}

// file reads one /etc file into a model.File.
func (s *Source) file(path string) model.File {
	f := model.File{Path: path, Origin: s.prefix + path}
	if s.prefix == "" {
		f.Origin = ""
	}
	r, err := s.fsys.Open(strings.TrimPrefix(path, "/"))
	if err != nil {
		return fileErr(f, err)
	}
	defer r.Close()
	if st, err := r.Stat(); err == nil && st.IsDir() {
		f.ReadErr = "is a directory"
		return f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxFile))
	if err != nil {
		return fileErr(f, err)
	}
	f.Data = data
	return f
}

func fileErr(f model.File, err error) model.File {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.Missing = true
	case errors.Is(err, fs.ErrPermission):
		f.ReadErr, f.PermissionDenied = "permission denied", true
	default:
		f.ReadErr = err.Error()
	}
	return f
}

// Env reads the environment's files. Hostname comes from /etc/hostname of
// a root, or from the kernel for this host.
func (s *Source) Env() model.Env {
	env := model.Env{
		ResolvConf: s.file(model.PathResolvConf),
		NSSwitch:   s.file(model.PathNSSwitch),
		Hosts:      s.file(model.PathHosts),
		MDNSAllow:  s.file(model.PathMDNSAllow),
		Vars:       map[string]string{},
	}
	if s.prefix == "" {
		if h, err := os.Hostname(); err == nil {
			env.Hostname = h
		} else {
			env.HostnameErr = true
		}
	} else if hn := s.file("/etc/hostname"); len(hn.Data) > 0 {
		env.Hostname = strings.TrimSpace(string(hn.Data))
	}
	return env
}

// Libc returns the C library found in the source (zero if none or unknown).
func (s *Source) Libc() model.Libc {
	rels := s.libc
	if rels == nil {
		rels, _ = inspect.RootLibc(s.fsys)
	}
	for _, r := range rels {
		return r.Model()
	}
	return model.Libc{}
}

// Override replaces one file of env with a file from disk, or marks it
// missing when path is "missing".
func Override(f *model.File, path string) error {
	if path == "missing" {
		*f = model.File{Path: f.Path, Origin: "--missing", Missing: true}
		return nil
	}
	data, err := readLimited(path)
	if err != nil {
		return err
	}
	*f = model.File{Path: f.Path, Origin: path, Data: data}
	return nil
}

func readLimited(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", path)
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxFile)
	}
	return data, nil
}
