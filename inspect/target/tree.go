package target

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/nsscope/nsscope/inspect"
)

// node is one entry of the merged tree.
type node struct {
	Entry
	kids map[string]*node // directories only

	// Where the contents come from: kept in memory, a layer entry to read
	// again, or a host file (directory targets).
	data []byte
	kept bool
	src  layerRef
	host string // path relative to the directory target's root

	// hardlink is the root-relative path a tar hard link points at; it is
	// resolved when layers are merged.
	hardlink string
	// lazy marks a directory of a directory target whose children are
	// read from the host when first asked for (kids holds those seen).
	lazy bool

	once sync.Once // lazy inspection of directory targets
}

// layerRef names a tar entry inside a layer.
type layerRef struct {
	layer int
	name  string // the tar header name as stored
	ord   int    // its position in the layer (0-based)
	ok    bool
}

func newDir(p string) *node {
	return &node{Entry: Entry{Path: p, Mode: fs.ModeDir | 0o755}, kids: map[string]*node{}}
}

// Tree is an opened target: its file tree, image config and programs. An image or tarball target is read-only
// once Open has returned and safe for concurrent use. A directory target
// inspects files lazily (each once, safely), but its Programs fills
// Binary.ResolvesVia: do not call it while other goroutines read the same
// entries.
type Tree struct {
	desc   Description
	config Config
	notes  []string
	root   *node
	opts   Options
	limits Limits

	// ctx is Open's context: reading a layer again (a file opened through
	// FS, which takes no context) stops when it is cancelled.
	ctx     context.Context
	tmp     string        // private temporary directory
	tmpLock *os.File      // held locked while the target is open
	layers  []layerSource // for re-reading entries that were not kept
	diffIDs []string      // the image configuration's rootfs.diff_ids
	hostFS  *os.Root      // directory targets
	hostDir string        // the directory target's absolute path
	treeMu  sync.Mutex    // guards the lazily read tree of a directory target
	progs   []Entry       // a directory target's programs, once walked
	progsOK bool
	mu      sync.Mutex // guards notes after Open
	libcMu  sync.Mutex // guards libc, libcOK
	viaMu   sync.Mutex // guards Binary.ResolvesVia and viaDone
	viaDone bool
	libc    []inspect.LibcRelease
	libcOK  bool
}

// lookup returns the node at the clean absolute path p without following
// symbolic links, or nil.
func (t *Tree) lookup(p string) *node {
	n := t.root
	for _, c := range components(p) {
		if n = t.child(n, c); n == nil {
			return nil
		}
	}
	return n
}

// child returns the entry c of directory n, or nil. A directory target
// reads it from the host the first time it is asked for.
func (t *Tree) child(n *node, c string) *node {
	if n.kids == nil {
		return nil
	}
	if t.hostFS == nil {
		return n.kids[c]
	}
	t.treeMu.Lock()
	defer t.treeMu.Unlock()
	if k := n.kids[c]; k != nil || !n.lazy {
		return k
	}
	k := t.hostNode(path.Join(n.host, c), path.Join(n.Path, c))
	if k != nil {
		n.kids[c] = k
	}
	return k
}

// children returns the entries of directory n by name; a directory
// target lists the host directory first.
func (t *Tree) children(n *node) map[string]*node {
	if t.hostFS == nil {
		return n.kids
	}
	t.treeMu.Lock()
	defer t.treeMu.Unlock()
	if n.lazy {
		t.listHost(n)
	}
	return maps.Clone(n.kids)
}

// Lookup returns the entry at path p (absolute, or relative to the root)
// without following a symbolic link in the last component; links in
// earlier components are followed inside the root.
func (t *Tree) Lookup(p string) (Entry, bool) {
	r, err := t.resolve(p, false)
	if err != nil {
		return Entry{}, false
	}
	n := t.lookup(r)
	if n == nil {
		return Entry{}, false
	}
	return t.entryOf(n), true
}

// Resolve follows every symbolic link in p inside the root and returns
// the resulting clean absolute path. Absolute link targets start again at
// the root; ".." at the root stays there. It fails with fs.ErrNotExist
// when a directory on the way is missing, and with ErrLoop after 40 links.
// The last component need not exist.
func (t *Tree) Resolve(p string) (string, error) { return t.resolve(p, true) }

func (t *Tree) resolve(p string, followLast bool) (string, error) {
	return ResolveIn(p, followLast, t.lstat)
}

// lstat describes a path of the tree for ResolveIn.
func (t *Tree) lstat(p string) (PathInfo, error) {
	n := t.lookup(p)
	if n == nil {
		return PathInfo{}, nil
	}
	return PathInfo{Exists: true, Dir: n.kids != nil, IsLink: n.Mode&fs.ModeSymlink != 0, Link: n.Link}, nil
}

// Entries returns every entry of the merged root except the root itself,
// sorted by path.
func (t *Tree) Entries() []Entry {
	var out []Entry
	var walk func(n *node)
	walk = func(n *node) {
		kids := t.children(n)
		for _, k := range slices.Sorted(maps.Keys(kids)) {
			c := kids[k]
			out = append(out, t.entryOf(c))
			if c.kids != nil {
				walk(c)
			}
		}
	}
	walk(t.root)
	return out
}

// entryOf returns the entry of n, inspecting it first for directory
// targets (where inspection is lazy).
func (t *Tree) entryOf(n *node) Entry {
	if t.hostFS != nil {
		t.inspectHost(n)
	}
	return n.Entry
}

// Programs returns the executable regular files that are ELF binaries,
// inspected, sorted by path; shared libraries and loaders are left out even
// when they carry execute bits. Files whose inspection failed are included
// with InspectErr set. For a dynamic C program that imports no resolver
// function itself, Binary.ResolvesVia is filled from its libraries.
func (t *Tree) Programs(ctx context.Context) ([]Entry, error) {
	if t.hostFS != nil {
		return t.dirPrograms(ctx)
	}
	var cands []*node
	var walk func(n *node)
	walk = func(n *node) {
		for _, c := range n.kids {
			if c.kids != nil {
				walk(c)
			} else if c.Executable() && !isLibrary(c.Path) {
				cands = append(cands, c)
			}
		}
	}
	walk(t.root)
	t.viaMu.Lock()
	defer t.viaMu.Unlock()
	// Image targets compute the library evidence once, in Open; from then
	// on entries are only read.
	fill := !t.viaDone
	t.viaDone = true
	var out []Entry
	for _, n := range cands {
		if fill {
			t.fillVia(n.Binary)
		}
		if n.Binary != nil || n.InspectErr != "" {
			out = append(out, n.Entry)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// fillVia sets Binary.ResolvesVia of a dynamic C program that imports no
// resolver function itself from the libraries it loads.
func (t *Tree) fillVia(b *inspect.Binary) {
	if b != nil && b.Go == nil && len(b.Resolves) == 0 && len(b.ResolvesVia) == 0 && len(b.Needed) > 0 {
		b.ResolvesVia = t.resolvesVia(b)
	}
}

// Libc returns the C libraries present in the root with their releases
// (glibc from libc.so.6, musl from its loader), glibc first. The libraries
// were inspected while the layers were read, so nothing is read again.
func (t *Tree) Libc() []inspect.LibcRelease {
	t.libcMu.Lock()
	defer t.libcMu.Unlock()
	if t.libcOK {
		return slices.Clone(t.libc)
	}
	t.libcOK = true
	release := func(name string) *inspect.LibcRelease {
		r, err := t.Resolve("/" + name)
		if err != nil {
			return nil
		}
		n := t.lookup(r)
		if n == nil || !n.Mode.IsRegular() {
			return nil
		}
		b := t.entryOf(n).Binary
		if b == nil && t.opts.NoInspect {
			// Not inspected while reading: read the library now.
			b = t.inspectNode(n)
		}
		if b == nil || b.LibcRelease == nil {
			return nil
		}
		rel := *b.LibcRelease
		rel.Evidence = "/" + name + ": " + rel.Evidence
		return &rel
	}
	glibc, musl := inspect.LibcLocations()
	for _, p := range glibc {
		if rel := release(p); rel != nil {
			t.libc = append(t.libc, *rel)
			break
		}
	}
	found := false
	for _, g := range musl {
		matches, _ := fs.Glob(t.FS(), g)
		for _, m := range matches {
			if rel := release(m); rel != nil {
				t.libc = append(t.libc, *rel)
				found = true
				break
			}
		}
		if found {
			break
		}
	}
	return slices.Clone(t.libc)
}

// inspectNode reads the contents of a regular file node and inspects
// them; nil when that fails.
func (t *Tree) inspectNode(n *node) *inspect.Binary {
	c, err := t.open(n)
	if err != nil {
		return nil
	}
	defer c.Close()
	b, err := inspect.Read(c, n.Size)
	if err != nil {
		return nil
	}
	return b
}

func (t *Tree) addNote(format string, args ...any) {
	t.mu.Lock()
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
	t.mu.Unlock()
}

// Close removes the temporary directory and releases open files.
func (t *Tree) Close() error {
	var err error
	if t.hostFS != nil {
		err = t.hostFS.Close()
	}
	if t.tmp != "" {
		if e := os.RemoveAll(t.tmp); e != nil && err == nil {
			err = e
		}
		t.tmpLock.Close()
		t.tmp = ""
	}
	for _, l := range t.layers {
		if l.close != nil {
			l.close()
		}
	}
	return err
}

// libDirs are searched for DT_NEEDED libraries, as the dynamic loader's
// default paths on Debian-like and Alpine-like systems.
var libDirs = []string{
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
	"/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib",
}

// maxLibDepth bounds how deep library dependencies are followed.
const maxLibDepth = 8

// resolvesVia follows the needed libraries of a C program inside the root
// and returns those that import a resolver function.
func (t *Tree) resolvesVia(b *inspect.Binary) []string {
	type item struct {
		name  string
		depth int
	}
	var out []string
	seen := map[string]bool{}
	queue := []item{}
	for _, n := range b.Needed {
		queue = append(queue, item{n, 1})
	}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if seen[it.name] || it.depth > maxLibDepth {
			continue
		}
		seen[it.name] = true
		lib := t.findLib(it.name)
		if lib == nil {
			continue
		}
		if len(lib.Resolves) > 0 {
			out = append(out, it.name+" ("+strings.Join(lib.Resolves, ", ")+")")
		}
		for _, n := range lib.Needed {
			queue = append(queue, item{n, it.depth + 1})
		}
	}
	return out
}

// findLib finds and returns the inspected library the loader would load
// for a DT_NEEDED name, or nil.
func (t *Tree) findLib(name string) *inspect.Binary {
	cands := []string{name}
	if !strings.Contains(name, "/") {
		cands = cands[:0]
		for _, d := range libDirs {
			cands = append(cands, d+"/"+name)
		}
	}
	for _, c := range cands {
		r, err := t.Resolve(c)
		if err != nil {
			continue
		}
		n := t.lookup(r)
		if n == nil || !n.Mode.IsRegular() {
			continue
		}
		if e := t.entryOf(n); e.Binary != nil {
			return e.Binary
		}
	}
	return nil
}

// isLibrary reports a shared library or dynamic loader by its path.
func isLibrary(p string) bool {
	base := path.Base(p)
	return strings.HasSuffix(base, ".so") || strings.Contains(base, ".so.") || inspect.IsLibcPath(p) ||
		strings.HasPrefix(base, "ld-linux")
}
