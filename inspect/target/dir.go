package target

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/nsscope/nsscope/inspect"
)

// skipHostDirs are not walked when the directory target is the host's
// root: kernel file systems whose contents are not files of any program.
var skipHostDirs = []string{"proc", "sys", "dev"}

// rootMarkers are top-level entries of a root filesystem: a directory
// with none of them is a plain directory (/usr/bin), not a root.
var rootMarkers = []string{"etc", "usr", "bin", "sbin", "lib"}

// openDir opens a directory tree. Nothing is read up front: entries are
// read from the host as they are looked up, and Programs walks the tree
// once, keeping only the programs it finds.
func (t *Tree) openDir(dir string) error {
	t.desc.Kind = KindDir
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return err
	}
	t.hostFS, t.hostDir = root, abs
	t.root.host, t.root.lazy = ".", true
	isRoot := false
	for _, m := range rootMarkers {
		if t.lookup("/"+m) != nil {
			isRoot = true
			break
		}
	}
	t.desc.NotRoot = !isRoot
	return nil
}

// hostNode reads one entry of a directory target from the host (rel is
// relative to the target's root, abs its path in the tree), or nil.
func (t *Tree) hostNode(rel, abs string) *node {
	info, err := t.hostFS.Lstat(rel)
	if err != nil {
		return nil
	}
	n := &node{Entry: Entry{Path: abs, Mode: info.Mode(), Size: info.Size()}, host: rel}
	switch {
	case info.IsDir():
		n.kids, n.lazy, n.Size = map[string]*node{}, true, 0
	case info.Mode()&fs.ModeSymlink != 0:
		l, err := t.hostFS.Readlink(rel)
		if err != nil {
			return nil
		}
		n.Link = l
	}
	return n
}

// listHost reads every entry of directory n from the host (treeMu held).
func (t *Tree) listHost(n *node) {
	n.lazy = false
	f, err := t.hostFS.Open(n.host)
	if err != nil {
		return
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return
	}
	for _, c := range names {
		if _, ok := n.kids[c]; ok {
			continue
		}
		if k := t.hostNode(path.Join(n.host, c), path.Join(n.Path, c)); k != nil {
			n.kids[c] = k
		}
	}
}

// inspectHost inspects a regular file of a directory target once, when it
// is executable or a C library and starts with the ELF magic (or "#!").
func (t *Tree) inspectHost(n *node) {
	if !n.Mode.IsRegular() || !wantInspect(n.Path, n.Mode, n.Size) {
		return
	}
	n.once.Do(func() {
		n.Binary, n.Shebang, n.InspectErr = t.inspectHostFile(n.host, n.Size)
	})
}

// inspectHostFile reads the file rel of a directory target: its ELF facts,
// its interpreter line, or why it could not be inspected (an ELF file that
// is damaged or over the size limit). A file that is neither gives zeros.
func (t *Tree) inspectHostFile(rel string, size int64) (b *inspect.Binary, shebang, inspectErr string) {
	f, err := openRegularIn(t.hostFS, rel)
	if err != nil {
		return nil, "", err.Error()
	}
	defer f.Close()
	head := make([]byte, 256)
	k, _ := io.ReadFull(f, head)
	head = head[:k]
	if strings.HasPrefix(string(head), "#!") {
		line, _, _ := strings.Cut(string(head[2:]), "\n")
		return nil, strings.TrimSpace(line), ""
	}
	if !inspect.IsELF(head) {
		return nil, "", ""
	}
	if size > t.limits.MaxInspect {
		return nil, "", fmt.Sprintf("ELF file of %d bytes is over the %d-byte inspection limit: skipped", size, t.limits.MaxInspect)
	}
	b, err = inspect.Read(f, size)
	if err != nil {
		return nil, "", err.Error()
	}
	return b, "", ""
}

// inode identifies a file of a directory target: hard links are one file,
// inspected once.
type inode struct{ dev, ino uint64 }

// dirPrograms walks a directory target once, in parallel, and returns its
// programs (see Programs). Only the programs are kept, never a node per
// file: memory grows with the number of programs, not of files.
func (t *Tree) dirPrograms(ctx context.Context) ([]Entry, error) {
	t.viaMu.Lock()
	defer t.viaMu.Unlock()
	if t.progsOK {
		return slices.Clone(t.progs), nil
	}
	sc := &dirScan{t: t, byInode: map[inode]*dirResult{}, waiting: map[inode][]dirJob{}}
	jobs := make(chan dirJob, 64)
	var wg sync.WaitGroup
	for range max(2, runtimeProcs()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				sc.inspect(j)
			}
		}()
	}
	count := 0
	err := fs.WalkDir(t.hostFS.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if count++; count%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if count > t.limits.MaxEntries {
			return fmt.Errorf("more than %d entries: %w", t.limits.MaxEntries, ErrLimit)
		}
		j, ok, err := sc.candidate(p, d, err, count)
		if !ok || err != nil || !sc.claim(j) {
			return err
		}
		select {
		case jobs <- j:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.desc.Spec, err)
	}
	out := sc.programs()
	t.progs, t.progsOK = out, true
	return slices.Clone(out), nil
}

// dirScan is one walk of a directory target: the executables found, each
// file inspected once however many hard links name it.
type dirScan struct {
	t       *Tree
	mu      sync.Mutex
	results []*dirResult
	byInode map[inode]*dirResult // first inspection of each file
	waiting map[inode][]dirJob   // links seen while it runs
	bytes   atomic.Int64
}

// dirJob is an executable regular file to inspect.
type dirJob struct {
	rel  string
	mode fs.FileMode
	size int64
	ino  inode
}

// dirResult is an inspected (or being inspected) file.
type dirResult struct {
	Entry
	ino inode
}

// candidate decides whether the walk's entry p is an executable to
// inspect (a regular file with an execute bit that is not a shared
// library), skipping the host's kernel file systems and noting unreadable
// entries; err is the walk's error for p. n numbers the entry.
func (sc *dirScan) candidate(p string, d fs.DirEntry, err error, n int) (dirJob, bool, error) {
	t := sc.t
	if err != nil {
		if p == "." {
			return dirJob{}, false, err
		}
		t.addNote("%s: %v: skipped", p, err)
		if d != nil && d.IsDir() {
			return dirJob{}, false, fs.SkipDir
		}
		return dirJob{}, false, nil
	}
	if d.IsDir() {
		if t.hostDir == "/" && !strings.Contains(p, "/") && slices.Contains(skipHostDirs, p) {
			return dirJob{}, false, fs.SkipDir
		}
		return dirJob{}, false, nil
	}
	if c := t.opts.Counts; c != nil {
		c.Files.Add(1)
	}
	if !d.Type().IsRegular() {
		return dirJob{}, false, nil
	}
	info, err := d.Info()
	if err != nil {
		return dirJob{}, false, nil // vanished meanwhile
	}
	if info.Mode().Perm()&0o111 == 0 || isLibrary("/"+p) {
		return dirJob{}, false, nil
	}
	j := dirJob{rel: p, mode: info.Mode(), size: info.Size(), ino: inode{ino: uint64(n)}}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		j.ino = inode{uint64(st.Dev), st.Ino}
	}
	return j, true, nil
}

// claim records j and reports whether it must be inspected: a further
// link to a file already inspected takes that inspection's result, one
// to a file being inspected waits for it.
func (sc *dirScan) claim(j dirJob) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if r, seen := sc.byInode[j.ino]; seen {
		if r.Binary != nil || r.InspectErr != "" || r.Shebang != "" {
			sc.results = append(sc.results, sc.link(j, r.Entry))
		} else if _, running := sc.waiting[j.ino]; running {
			sc.waiting[j.ino] = append(sc.waiting[j.ino], j)
		}
		return false
	}
	r := &dirResult{Entry: Entry{Path: "/" + j.rel, Mode: j.mode, Size: j.size}, ino: j.ino}
	sc.results = append(sc.results, r)
	sc.byInode[j.ino] = r
	sc.waiting[j.ino] = nil
	return true
}

// inspect reads j's file, counts it, and gives the result to the links
// that waited for it.
func (sc *dirScan) inspect(j dirJob) {
	t := sc.t
	b, shebang, ierr := t.inspectHostFile(j.rel, j.size)
	if c := t.opts.Counts; c != nil {
		c.Bytes.Add(j.size)
		if b != nil || ierr != "" {
			c.Executables.Add(1)
		}
	}
	if t.opts.Progress != nil {
		t.opts.Progress(sc.bytes.Add(j.size), -1)
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	r := sc.byInode[j.ino]
	r.Binary, r.Shebang, r.InspectErr = b, shebang, ierr
	for _, l := range sc.waiting[j.ino] {
		sc.results = append(sc.results, sc.link(l, r.Entry))
	}
	delete(sc.waiting, j.ino)
}

// link is the entry of the link j to the file inspected as e.
func (sc *dirScan) link(j dirJob, e Entry) *dirResult {
	return &dirResult{Entry: Entry{Path: "/" + j.rel, Mode: j.mode, Size: j.size, Binary: e.Binary, Shebang: e.Shebang, InspectErr: e.InspectErr}, ino: j.ino}
}

// programs are the inspected programs (ELF files, or files that failed to
// inspect), by path, with their interpreters' answers filled in.
func (sc *dirScan) programs() []Entry {
	var out []Entry
	for _, r := range sc.results {
		if r.Binary != nil || r.InspectErr != "" {
			out = append(out, r.Entry)
		}
	}
	for i := range out {
		sc.t.fillVia(out[i].Binary)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// openRegularIn opens name inside root for reading when it is a regular
// file; a FIFO, socket or device is refused without blocking (see
// inspect.OpenRegular).
func openRegularIn(root *os.Root, name string) (*os.File, error) {
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil {
		err = inspect.CheckRegular(name, st.Mode())
	}
	if err == nil {
		err = syscall.SetNonblock(int(f.Fd()), false)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
