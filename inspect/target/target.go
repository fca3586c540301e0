// Package target gives a read-only view of what a program would see as
// its root filesystem: a directory (the host's "/"), a root filesystem
// tarball (.tar, .tar.gz, .tar.zst), a `docker save` archive, an OCI image
// layout (directory or tar) or an image in a registry.
//
// Image layers are merged in order with whiteouts honoured. Symbolic links
// are resolved inside the target's root and never outside it: an absolute
// link target starts again at the root, and ".." stops at the root, the
// way the kernel resolves them inside a container.
//
// The target is read once. While a layer streams by, every ELF file that
// is executable, a C library or a shared library is inspected with package
// inspect, and small configuration files (by default those under /etc and
// /run) are kept in memory. Nothing is extracted to disk except, briefly,
// an ELF binary being inspected: it is spooled to the target's private
// temporary directory (without the machine code of Go binaries, which is
// never read) and removed straight after. Layers are read in parallel.
// Opening any other file later reads its layer again.
//
// Hostile input is bounded: entry counts, sizes and compression ratios are
// capped (see [Limits]); tar entries that would leave the root are skipped
// with a note; nothing is ever written outside the temporary directory.
package target

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/inspect/imagestore"
	"github.com/nsscope/nsscope/inspect/layercache"
)

// Kind says what sort of target was opened.
type Kind string

// Target kinds.
const (
	KindDir        Kind = "directory"
	KindRootfsTar  Kind = "rootfs tarball"
	KindDockerSave Kind = "docker save archive"
	KindOCILayout  Kind = "OCI image layout"
	KindOCIArchive Kind = "OCI image layout tarball"
	KindRegistry   Kind = "registry image"
)

// Description says what was opened.
type Description struct {
	// Spec is the target as given on the command line.
	Spec string `json:"spec"`
	Kind Kind   `json:"kind"`
	// Ref is the image reference (registry images, tagged archives).
	Ref string `json:"ref,omitempty"`
	// Digest is the image manifest digest when known.
	Digest string `json:"digest,omitempty"`
	// Platform is the platform of the image chosen ("linux/amd64").
	Platform string `json:"platform,omitempty"`
	// Compression of a rootfs tarball: "gzip", "zstd" or "none".
	Compression string `json:"compression,omitempty"`
	// NotRoot marks a directory that is not a root filesystem (no /etc,
	// /usr, /bin, /sbin or /lib): a plain directory of programs.
	NotRoot bool `json:"not_root,omitempty"`
	// Layers lists the image layers, bottom first.
	Layers []Layer `json:"layers,omitempty"`
}

// Layer describes one image layer.
type Layer struct {
	Digest    string `json:"digest,omitempty"`
	MediaType string `json:"media_type,omitempty"`
	// Size is the stored (usually compressed) size; -1 when unknown.
	Size int64 `json:"size"`
}

// Config is the part of the image configuration that decides which
// process runs and with which environment. It is empty (Present false) for
// directories and rootfs tarballs, which carry no configuration.
type Config struct {
	Present    bool     `json:"present"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	// Env is the image environment as "KEY=value" strings, in order.
	Env        []string `json:"env,omitempty"`
	User       string   `json:"user,omitempty"`
	WorkingDir string   `json:"working_dir,omitempty"`
	OS         string   `json:"os,omitempty"`
	Arch       string   `json:"architecture,omitempty"`
	Variant    string   `json:"variant,omitempty"`
}

// Argv is the main process's command line: Entrypoint followed by Cmd.
func (c Config) Argv() []string {
	return append(slices.Clip(c.Entrypoint), c.Cmd...)
}

// Getenv returns the value of key in Env and whether it is set (a key
// set to the empty string is set). The last definition wins, as in a
// process environment built by a container runtime.
func (c Config) Getenv(key string) (string, bool) {
	val, ok := "", false
	for _, kv := range c.Env {
		k, v, found := strings.Cut(kv, "=")
		if k == key {
			val, ok = v, true
			if !found {
				val = ""
			}
		}
	}
	return val, ok
}

// EnvMap returns Env as a map (last definition wins).
func (c Config) EnvMap() map[string]string {
	m := make(map[string]string, len(c.Env))
	for _, kv := range c.Env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// Entry is one file, directory or link of the merged root.
type Entry struct {
	// Path is absolute and clean: "/usr/bin/env".
	Path string      `json:"path"`
	Mode fs.FileMode `json:"mode"`
	Size int64       `json:"size"`
	// Link is the target of a symbolic link, as stored.
	Link string `json:"link,omitempty"`
	// Layer is the index of the layer that provides the entry (0 for
	// directories and rootfs tarballs).
	Layer int `json:"layer"`
	// Binary is set for an inspected ELF file (an executable regular file
	// or a C library); InspectErr says why an ELF file could not be
	// inspected.
	Binary     *inspect.Binary `json:"binary,omitempty"`
	InspectErr string          `json:"inspect_error,omitempty"`
	// Shebang is the interpreter line of an executable script ("#!/bin/sh
	// -e" gives "/bin/sh -e").
	Shebang string `json:"shebang,omitempty"`
}

// Executable reports whether any execute bit is set on a regular file.
func (e Entry) Executable() bool { return e.Mode.IsRegular() && e.Mode.Perm()&0o111 != 0 }

// Limits bound the resources spent on one target. Zero fields take the
// defaults given.
type Limits struct {
	// MaxEntries caps the tar entries read over all layers (default 2 000 000).
	MaxEntries int
	// MaxLayers caps the layers of one image (default 500; Docker's
	// overlay storage stops at 128). A blob listed more than once is read
	// once.
	MaxLayers int
	// MaxLayerSize caps the uncompressed size of one layer or rootfs tarball
	// (default 64 GiB).
	MaxLayerSize int64
	// MaxRatio is the largest compression ratio accepted once a layer has
	// expanded past BombFloor bytes (defaults 100 and 1 GiB): beyond it
	// the layer is taken for a decompression bomb.
	MaxRatio  int64
	BombFloor int64
	// MaxInspect caps the size of an ELF file inspected (default 2 GiB);
	// larger ones are skipped with a note.
	MaxInspect int64
	// MaxKeep caps the bytes of file contents kept in memory (default
	// 64 MiB); MaxKeepFile one file (default 1 MiB).
	MaxKeep     int64
	MaxKeepFile int64
	// MaxMetadata caps an image's JSON documents (default 8 MiB).
	MaxMetadata int64
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = 2_000_000
	}
	if l.MaxLayers <= 0 {
		l.MaxLayers = 500
	}
	def(&l.MaxLayerSize, 64<<30)
	def(&l.MaxRatio, 100)
	def(&l.BombFloor, 1<<30)
	def(&l.MaxInspect, 2<<30)
	def(&l.MaxKeep, 64<<20)
	def(&l.MaxKeepFile, 1<<20)
	def(&l.MaxMetadata, 8<<20)
	return l
}

// Options tune [Open]. The zero value is ready to use.
type Options struct {
	// Platform picks the image from a multi-platform index,
	// "os/arch[/variant]"; default "linux/amd64".
	Platform string
	// Keychain supplies registry credentials; default
	// authn.DefaultKeychain (docker config, credential helpers).
	Keychain authn.Keychain
	// Transport is the HTTP transport for registries (tests use it);
	// default remote.DefaultTransport.
	Transport http.RoundTripper
	// Insecure allows plain-HTTP registries (e.g. one on loopback).
	Insecure bool
	// TempDir is where the private temporary directory is made; default
	// os.TempDir().
	TempDir string
	// NoInspect turns off ELF inspection while reading.
	NoInspect bool
	// Keep reports whether the contents of a regular file should be kept
	// in memory while its layer is read; default KeepEtc (/etc and /run).
	// Within Limits.MaxKeep and MaxKeepFile.
	Keep func(path string, size int64) bool
	// Parallel caps the layers read at once; default GOMAXPROCS.
	Parallel int
	// Progress, when set, is called from the reading goroutines (several
	// at once) with the stored bytes read so far over all layers and
	// their total when known (-1 otherwise).
	Progress func(done, total int64)
	// Cache, when set, keeps what reading each image layer produced,
	// under the layer's content digest: a layer found there is not read
	// at all. It is not used with a custom Keep or with NoInspect.
	Cache *layercache.Cache
	// Counts, when set, is kept up to date while the target is read, for
	// a caller that shows progress.
	Counts *Counts
	Limits Limits
	// Images says where containerd and Docker images are read from
	// ("containerd://REF", "docker-daemon:REF", or a bare REF with
	// Images.Source set); see package imagestore.
	Images imagestore.Options
}

// Counts are what reading a target has done so far. The reading
// goroutines add to them atomically; a caller may read them at any time.
type Counts struct {
	// Files counts the entries seen that are not directories (tar
	// entries of every layer, files of a directory walked).
	Files atomic.Int64
	// Executables counts the ELF files read and inspected.
	Executables atomic.Int64
	// Bytes counts the bytes read: stored (compressed) bytes of layers
	// and tarballs, the sizes of the files inspected in a directory.
	Bytes atomic.Int64
	// Total is the stored size of all layers when known, else 0.
	Total atomic.Int64
}

// DefaultPlatform is the platform chosen from a multi-platform index when
// Options.Platform is empty.
const DefaultPlatform = "linux/amd64"

// KeepEtc is the default Options.Keep: files under /etc, and under /run
// where links such as /etc/resolv.conf → ../run/systemd/resolve/… lead.
func KeepEtc(p string, size int64) bool {
	return strings.HasPrefix(p, "/etc/") || strings.HasPrefix(p, "/run/")
}

// Errors callers may test for with errors.Is.
var (
	// ErrNotFound: the target does not exist or is not a recognised format.
	ErrNotFound = errors.New("target not found")
	// ErrBomb: a layer expands beyond the limits (a decompression bomb).
	ErrBomb = errors.New("decompression bomb")
	// ErrLimit: an entry count or size limit was exceeded.
	ErrLimit = errors.New("limit exceeded")
	// ErrLoop: too many symbolic links while resolving a path.
	ErrLoop = errors.New("too many levels of symbolic links")
	// ErrNotDir: a component on the way of a path is not a directory.
	ErrNotDir = errors.New("not a directory")
	// ErrEmpty: the image has no layers or the root has no files.
	ErrEmpty = errors.New("empty image")
)

// MainProcess is the image's main process as decided by its
// configuration.
type MainProcess struct {
	// Argv is Entrypoint followed by Cmd.
	Argv []string `json:"argv"`
	// Path is the executable inside the root after PATH lookup and symlink
	// resolution ("/usr/local/bin/app"); empty when it cannot be found.
	Path string `json:"path,omitempty"`
	// Via explains how Path was found ("argv[0] is absolute", "found in
	// PATH=/usr/local/sbin:... at /usr/local/bin/app",
	// "/bin/sh -c: the shell"), or why it was not.
	Via string `json:"via"`
	// Entry is the entry of Path when found.
	Entry *Entry `json:"entry,omitempty"`
}

// defaultPath is the PATH a container runtime sets when the image has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Main works out which executable the image's main process runs:
// argv[0] looked up in the image's PATH (or taken as a path), links
// resolved inside the root. A shell-form command ("/bin/sh -c 'exec app
// --flag'") names the program of its simple command when there is one —
// that program, not the shell, does the lookups — and the shell otherwise.
// ok is false when the image has no command (directories, rootfs tarballs,
// images without Entrypoint/Cmd).
func (t *Tree) Main() (m MainProcess, ok bool) {
	argv := t.config.Argv()
	if len(argv) == 0 {
		return MainProcess{Via: "the image has no Entrypoint or Cmd"}, false
	}
	m.Argv = argv
	name, prefix := argv[0], ""
	if len(argv) >= 3 && isShell(argv[0]) && argv[1] == "-c" {
		if word, ok := simpleCommand(argv[2]); ok {
			name = word
			prefix = fmt.Sprintf("%s -c runs %s; ", argv[0], word)
		} else {
			prefix = fmt.Sprintf("%s -c with a command that is not a simple one: the shell; ", argv[0])
		}
	}
	m.Path, m.Entry, m.Via = t.locate(name)
	m.Via = prefix + m.Via
	return m, true
}

// locate finds the executable for a command name as execvp does, in the
// image's PATH (the runtime default when unset) or as a path relative to
// the working directory.
func (t *Tree) locate(name string) (string, *Entry, string) {
	var candidates []string
	var via string
	if strings.Contains(name, "/") {
		p := name
		if !path.IsAbs(p) {
			p = path.Join("/", t.config.WorkingDir, p)
		}
		candidates = []string{p}
		via = "argv[0] " + name
	} else {
		pathVar, set := t.config.Getenv("PATH")
		if !set {
			pathVar = defaultPath
		}
		for dir := range strings.SplitSeq(pathVar, ":") {
			if dir == "" {
				dir = "."
			}
			if !path.IsAbs(dir) {
				dir = path.Join(t.config.WorkingDir, dir)
			}
			candidates = append(candidates, path.Join("/", dir, name))
		}
		via = "PATH=" + pathVar
	}
	for _, c := range candidates {
		r, err := t.Resolve(c)
		if err != nil {
			continue
		}
		e, found := t.Lookup(r)
		if !found || !e.Mode.IsRegular() {
			continue
		}
		if r != c {
			return r, &e, fmt.Sprintf("%s: %s, a link to %s", via, c, r)
		}
		return r, &e, via + ": " + c
	}
	return "", nil, fmt.Sprintf("%s: %s not found in the image", via, name)
}

// isShell reports a POSIX shell as argv[0] of a shell-form command.
func isShell(p string) bool {
	switch path.Base(p) {
	case "sh", "bash", "ash", "dash", "busybox":
		return true
	}
	return false
}

// simpleCommand returns the program of a shell command string that is a
// single simple command ("exec app --flag", "FOO=1 app"), and false for
// anything with shell syntax (pipes, lists, expansions, quotes).
func simpleCommand(cmd string) (string, bool) {
	if strings.ContainsAny(cmd, ";|&$`'\"\\<>(){}*?[]\n#~") {
		return "", false
	}
	words := strings.Fields(cmd)
	for len(words) > 0 {
		w := words[0]
		switch {
		case w == "exec":
			words = words[1:]
		case strings.Contains(w, "=") && !strings.HasPrefix(w, "="):
			words = words[1:]
		default:
			return w, true
		}
	}
	return "", false
}

// Description says what was opened.
func (t *Tree) Description() Description { return t.desc }

// Config returns the image configuration (empty for directories and
// rootfs tarballs).
func (t *Tree) Config() Config { return t.config }

// Notes are remarks about entries skipped or damaged while reading ("tar
// entry ../../etc/passwd leaves the root: skipped").
func (t *Tree) Notes() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.notes)
}
