// Package sysenv builds the model's environment (model.Env) from a real
// place: this host, a root filesystem or image (a directory, a tarball, a
// docker save archive, an OCI layout or a registry image, all read through
// inspect/target, so symbolic links stay inside the root), and files given
// on the command line. It is the one bridge between files on disk and the
// pure model: every verb that reads a configuration file reads it here,
// with the same size limit and the same refusal of FIFOs and devices.
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

	"github.com/nsscope/nsscope/conf"
	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/model"
)

// MaxFileSize is the largest configuration file nsscope reads, wherever it
// comes from (a root, an image, a flag). A larger file is an input error
// naming the file and this limit, never a truncated read.
const MaxFileSize = 4 << 20

// ErrTooLarge marks a configuration file over MaxFileSize.
var ErrTooLarge = errors.New("configuration file too large")

// Reader reads the configuration files of a program's root.
type Reader interface {
	// File reads the file at the absolute path p ("/etc/hosts") as the
	// program would find it. A missing file, a directory, a link loop or
	// a permission error is a model.File that says so (the program meets
	// the same condition); a file nsscope refuses to read — larger than
	// MaxFileSize, a FIFO, a socket or a device — is an error.
	File(p string) (model.File, error)
}

// Source is a root whose files make the environment.
type Source struct {
	// Label describes it ("this host", "alpine.tar.gz").
	Label string
	t     *target.Tree
	err   error // opening failed (Host only)
	// prefix for citations ("alpine.tar.gz:" or "").
	prefix string
	host   bool
}

var _ Reader = (*Source)(nil)

// Close releases the source.
func (s *Source) Close() error {
	if s.t != nil {
		return s.t.Close()
	}
	return nil
}

// Host is this machine's root.
func Host() *Source {
	s := &Source{Label: "this host", host: true}
	s.t, s.err = target.Open(context.Background(), "/", target.Options{NoInspect: true})
	return s
}

// Root opens a root filesystem or image: a directory, a tarball (.tar,
// .tar.gz, .tar.zst), a docker save archive, an OCI layout or a registry
// reference, told apart as every verb tells them apart (target.Open).
// Nothing is extracted; of a tarball or image only /etc, /run and the C
// libraries are kept.
func Root(ctx context.Context, spec string) (*Source, error) {
	t, err := target.Open(ctx, spec, target.Options{NoInspect: true, Keep: func(p string, size int64) bool {
		return target.KeepEtc(p, size) || inspect.IsLibcPath(p)
	}})
	if err != nil {
		// The target's errors name spec; the caller names its flag.
		return nil, err
	}
	return FromTarget(t, filepath.Base(strings.TrimSuffix(spec, "/"))), nil
}

// FromTarget reads the environment of an opened target; label names it
// in citations ("alpine.tar.gz:/etc/hosts"), and an empty label cites the
// paths inside the target alone ("/etc/hosts"). Closing the source closes
// t.
func FromTarget(t *target.Tree, label string) *Source {
	s := &Source{Label: label, t: t}
	if label != "" {
		s.prefix = label + ":"
	}
	return s
}

// Target is the opened target the source reads.
func (s *Source) Target() *target.Tree { return s.t }

// File reads one file of the root (see [Reader]).
func (s *Source) File(p string) (model.File, error) {
	f := model.File{Path: p}
	if s.prefix != "" {
		f.Origin = s.prefix + p
	}
	if s.err != nil {
		return f, s.err
	}
	return readIn(s.t.FS(), f)
}

// readIn reads f.Path from fsys into f.
func readIn(fsys fs.FS, f model.File) (model.File, error) {
	name := strings.TrimPrefix(f.Path, "/")
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return fileErr(f, err)
	}
	if st.IsDir() {
		f.ReadErr = "is a directory"
		return f, nil
	}
	if err := inspect.CheckRegular(f.Name(), st.Mode()); err != nil {
		return f, err
	}
	if st.Size() > MaxFileSize {
		return f, tooLarge(f.Name(), st.Size())
	}
	r, err := fsys.Open(name)
	if err != nil {
		return fileErr(f, err)
	}
	defer r.Close()
	data, err := readBounded(r, f.Name())
	if err != nil {
		return f, err
	}
	f.Data = data
	return f, nil
}

func tooLarge(name string, size int64) error {
	if size < 0 {
		return fmt.Errorf("%s: larger than the %d-byte limit for a configuration file: %w", name, MaxFileSize, ErrTooLarge)
	}
	return fmt.Errorf("%s: %d bytes, larger than the %d-byte limit for a configuration file: %w", name, size, MaxFileSize, ErrTooLarge)
}

// readBounded reads r whole, refusing more than MaxFileSize.
func readBounded(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(name, -1)
	}
	return data, nil
}

// fileErr records what a program meets when it opens the file: ENOENT,
// EACCES, ELOOP and the like are conditions the model knows; anything
// else is an error of the input.
func fileErr(f model.File, err error) (model.File, error) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.Missing = true
	case errors.Is(err, fs.ErrPermission):
		f.ReadErr, f.PermissionDenied = "permission denied", true
	case errors.Is(err, target.ErrLoop):
		f.ReadErr = "too many levels of symbolic links"
	case errors.Is(err, target.ErrNotDir):
		f.ReadErr = "not a directory"
	case errors.Is(err, inspect.ErrNotRegular):
		return f, fmt.Errorf("%s: %w", f.Name(), err)
	default:
		return f, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return f, nil
}

// ReadEnv reads the environment's files as they are (no runtime decides
// any: see grade.Runtime.Env for a target run by one). Hostname comes from
// /etc/hostname of a root, or from the kernel for this host. A file
// nsscope refuses to read (see [Reader]) is an error.
func (s *Source) ReadEnv() (model.Env, error) {
	env := model.Env{Vars: map[string]string{}}
	for _, f := range []struct {
		p   string
		dst *model.File
	}{
		{model.PathResolvConf, &env.ResolvConf},
		{model.PathNSSwitch, &env.NSSwitch},
		{model.PathHosts, &env.Hosts},
		{model.PathMDNSAllow, &env.MDNSAllow},
	} {
		file, err := s.File(f.p)
		if err != nil {
			return env, err
		}
		*f.dst = file
	}
	var err error
	env.Hostname, env.HostnameErr, err = Hostname(s)
	return env, err
}

// Hostname is the host name a program of r finds: this host's, from the
// kernel, for Host (unknown when the kernel will not say), else the
// root's /etc/hostname (empty when it has none).
func Hostname(r Reader) (name string, unknown bool, err error) {
	if s, ok := r.(*Source); ok && s.host {
		h, err := os.Hostname()
		return h, err != nil, nil
	}
	f, err := r.File("/etc/hostname")
	if err != nil {
		return "", false, err
	}
	return strings.TrimSpace(string(f.Data)), false, nil
}

// Libc returns the C library found in the source (zero if none or unknown).
func (s *Source) Libc() model.Libc {
	if s.t == nil {
		return model.Libc{}
	}
	if libs := s.t.Libc(); len(libs) > 0 {
		l := libs[0].Model()
		if l.Kind == "musl" {
			l = s.alpineRelease(l)
		}
		return l
	}
	// No library told its version (musl 1.2.4 keeps none in its loader):
	// Alpine's package database names it.
	return s.alpineRelease(model.Libc{})
}

// PathAPKInstalled is Alpine's package database.
const PathAPKInstalled = "/lib/apk/db/installed"

// alpineRelease adds the Alpine package release of musl (e.g. 1.2.3-r3)
// from the root's apk database, when the database names the same upstream
// version as the library found: distribution patches are decided by it.
func (s *Source) alpineRelease(l model.Libc) model.Libc {
	f, err := s.File(PathAPKInstalled)
	if err != nil || f.Missing || f.ReadErr != "" {
		return l
	}
	for _, p := range conf.ParseAPKInstalled(f.Name(), f.Data) {
		if p.Name != "musl" {
			continue
		}
		a, err := model.AlpineMusl(p.Version)
		if err != nil || (l.Kind != "" && !l.Version.IsZero() && a.Version != l.Version) {
			return l
		}
		return a
	}
	return l
}

// FS is a Reader over any fs.FS rooted at the program's "/" (names without
// the leading slash); Label, when set, prefixes citations. Symbolic links
// are followed as the fs.FS follows them: use a Source for a root whose
// links must stay inside it.
type FS struct {
	FS    fs.FS
	Label string
}

// File reads the file at p (see [Reader]).
func (r FS) File(p string) (model.File, error) {
	f := model.File{Path: p}
	if r.Label != "" {
		f.Origin = r.Label + ":" + p
	}
	return readIn(r.FS, f)
}

// Files is a Reader over files given in memory (a Dockerfile's final
// stage, a test): a path not among them is missing.
type Files []model.File

// File returns the file at p, or a missing one.
func (fs Files) File(p string) (model.File, error) {
	for _, f := range fs {
		if f.Path == p {
			return f, nil
		}
	}
	return model.File{Path: p, Missing: true}, nil
}

// ReadFile reads a configuration file of the analysing machine (a flag's
// FILE) that the program will see at path as: a regular file of at most
// MaxFileSize bytes.
func ReadFile(name, as string) (model.File, error) {
	fh, err := inspect.OpenRegular(name)
	if err != nil {
		return model.File{}, err
	}
	defer fh.Close()
	data, err := readBounded(fh, name)
	if err != nil {
		return model.File{}, err
	}
	return model.File{Path: as, Origin: name, Data: data}, nil
}

// Override replaces one file of env with a file from disk, or marks it
// missing when path is "missing".
func Override(f *model.File, path string) error {
	if path == "missing" {
		*f = model.File{Path: f.Path, Origin: "--missing", Missing: true}
		return nil
	}
	nf, err := ReadFile(path, f.Path)
	if err != nil {
		return err
	}
	*f = nf
	return nil
}
