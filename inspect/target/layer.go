package target

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/nsscope/nsscope/inspect"
)

// layerSource opens one layer's stored stream (compressed or not).
type layerSource struct {
	info Layer
	// key identifies the blob (its digest, or its path in an archive): a
	// blob listed twice is read once. Empty for a rootfs tarball.
	key   string
	open  func(ctx context.Context) (io.ReadCloser, error)
	close func() error
	// whiteouts: image layers honour .wh. entries; a rootfs tarball
	// keeps them as ordinary files.
	whiteouts bool
	// cacheKey is the content digest the layer is cached under ("" when
	// none is known without reading it); cacheStored says it is the
	// digest of the stored stream (else of the uncompressed tar, the
	// diff_id).
	cacheKey    string
	cacheStored bool
}

// Compression magic numbers.
var (
	magicGzip = []byte{0x1f, 0x8b}
	magicZstd = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// sniffCompression names the compression of a stream from its first bytes.
func sniffCompression(head []byte) string {
	switch {
	case bytes.HasPrefix(head, magicGzip):
		return "gzip"
	case bytes.HasPrefix(head, magicZstd):
		return "zstd"
	case bytes.HasPrefix(head, []byte("BZh")):
		return "bzip2"
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return "xz"
	}
	return "none"
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// guardReader stops a decompressed stream that grows past the limits: an
// absolute size cap and, past a floor, a ratio to the compressed bytes
// consumed.
type guardReader struct {
	r        io.Reader
	in       *countReader // compressed side; nil when not compressed
	out      int64
	lim      Limits
	what     string
	progress func(int64)
	reported int64
}

func (g *guardReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.out += int64(n)
	if g.out > g.lim.MaxLayerSize {
		return n, fmt.Errorf("%s: uncompressed size passes %d bytes: %w", g.what, g.lim.MaxLayerSize, ErrLimit)
	}
	if g.in != nil && g.out > g.lim.BombFloor {
		if in := g.in.n.Load(); in > 0 && g.out/in > g.lim.MaxRatio {
			return n, fmt.Errorf("%s: expands %d× (%d bytes from %d): %w", g.what, g.out/in, g.out, in, ErrBomb)
		}
	}
	if g.progress != nil && n > 0 {
		// Progress counts stored (compressed) bytes, which is what the
		// layer sizes in a manifest give as the total.
		if g.in != nil {
			in := g.in.n.Load()
			g.progress(in - g.reported)
			g.reported = in
		} else {
			g.progress(int64(n))
		}
	}
	return n, err
}

// decompress wraps r (a stored layer or tarball) in the right decompressor
// and the size guard. The returned close releases decoder resources.
func decompress(r io.Reader, lim Limits, what string, progress func(int64)) (io.Reader, string, func(), error) {
	cr := &countReader{r: r}
	br := bufio.NewReaderSize(cr, 1<<20)
	head, _ := br.Peek(8)
	kind := sniffCompression(head)
	g := &guardReader{lim: lim, what: what, progress: progress}
	closeFn := func() {}
	switch kind {
	case "gzip":
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, kind, nil, fmt.Errorf("%s: gzip: %w", what, err)
		}
		g.r, g.in = zr, cr
		closeFn = func() { zr.Close() }
	case "zstd":
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(128<<20))
		if err != nil {
			return nil, kind, nil, fmt.Errorf("%s: zstd: %w", what, err)
		}
		g.r, g.in = zr, cr
		closeFn = zr.Close
	case "none":
		g.r = br
	default:
		return nil, kind, nil, fmt.Errorf("%s: %s compression is not supported", what, kind)
	}
	return g, kind, closeFn, nil
}

// layerIndex is what one pass over a layer produced.
type layerIndex struct {
	pool      chan []byte // spool buffers of the goroutine reading the layer
	entries   []*node
	opaque    []string // directories whose lower contents are hidden
	whiteouts []string // paths deleted from lower layers
	notes     []string
	count     int // tar entries taken (whiteouts included)
}

// spoolJob is an ELF file written to a temporary file, waiting to be
// inspected.
type spoolJob struct {
	n    *node
	f    *os.File
	size int64
}

// reader holds what the layer goroutines share.
type reader struct {
	t       *Tree
	done    atomic.Int64 // stored bytes read, over all layers
	total   int64        // stored bytes of all layers, -1 when unknown
	entries atomic.Int64
	kept    atomic.Int64
	jobs    chan spoolJob
	wg      sync.WaitGroup
}

// inspector consumes spooled files until the channel closes.
func (rd *reader) inspector() {
	defer rd.wg.Done()
	for j := range rd.jobs {
		b, err := inspect.Read(j.f, j.size)
		if err != nil {
			j.n.InspectErr = err.Error()
		} else {
			j.n.Binary = b
		}
		if c := rd.t.opts.Counts; c != nil {
			c.Executables.Add(1)
		}
		name := j.f.Name()
		j.f.Close()
		os.Remove(name)
	}
}

// layerWhat names layer idx in errors and notes.
func layerWhat(idx int, src layerSource) string {
	if !src.whiteouts {
		return "tarball"
	}
	what := "layer " + fmt.Sprint(idx+1)
	if src.info.Digest != "" {
		what += " (" + shortDigest(src.info.Digest) + ")"
	}
	return what
}

// readLayer reads one layer (or rootfs tarball) stream once. When sum is
// set, the stream it names (stored or uncompressed, as src.cacheStored
// says) is hashed into it on the way.
func (rd *reader) readLayer(ctx context.Context, idx int, src layerSource, sum hash.Hash) (li *layerIndex, err error) {
	t := rd.t
	what := layerWhat(idx, src)
	rc, err := src.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rc.Close()
	var stored io.Reader = rc
	if sum != nil && src.cacheStored {
		stored = io.TeeReader(rc, sum)
	}
	ts, err := NewTarStream(stored, t.limits, what, rd.progress())
	if err != nil {
		return nil, err
	}
	defer ts.Close()
	if sum != nil && !src.cacheStored {
		ts.tee(sum)
	}
	li = &layerIndex{}
	defer func() {
		if li != nil {
			li.notes = append(ts.Notes(), li.notes...)
		}
	}()
	head := make([]byte, 4096)
	for i := 0; ; i++ {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		te, err := ts.Next()
		if err == io.EOF {
			if ts.Count() == 0 {
				li.notes = append(li.notes, what+": no entries")
			}
			return li, nil
		}
		if err != nil {
			return nil, err
		}
		if rd.entries.Add(1) > int64(t.limits.MaxEntries) {
			return nil, fmt.Errorf("more than %d entries: %w", t.limits.MaxEntries, ErrLimit)
		}
		if err := rd.entry(ctx, ts, &te, idx, src, head, li, what); err != nil {
			return nil, err
		}
	}
}

// progress is the callback that counts a layer's bytes into the totals
// and reports them, or nil when nobody asked.
func (rd *reader) progress() func(int64) {
	o := rd.t.opts
	if o.Progress == nil && o.Counts == nil {
		return nil
	}
	return func(n int64) {
		done := rd.done.Add(n)
		if o.Counts != nil {
			o.Counts.Bytes.Add(n)
		}
		if o.Progress != nil {
			o.Progress(done, rd.total)
		}
	}
}

// entry adds tar entry te of layer idx to li: a whiteout, or a node
// (a regular file's head is read to classify it); other tar types are
// noted and skipped.
func (rd *reader) entry(ctx context.Context, ts *TarStream, te *TarEntry, idx int, src layerSource, head []byte, li *layerIndex, what string) error {
	li.count++
	hdr, p := te.Header, te.Path
	if c := rd.t.opts.Counts; c != nil && hdr.Typeflag != tar.TypeDir {
		c.Files.Add(1)
	}
	base := path.Base(p)
	if src.whiteouts && strings.HasPrefix(base, ".wh.") {
		dir := path.Dir(p)
		if base == ".wh..wh..opq" {
			li.opaque = append(li.opaque, dir)
		} else {
			li.whiteouts = append(li.whiteouts, path.Join(dir, strings.TrimPrefix(base, ".wh.")))
		}
		return nil
	}
	n := &node{Entry: Entry{Path: p, Mode: hdr.FileInfo().Mode(), Layer: idx}}
	switch hdr.Typeflag {
	case tar.TypeDir:
		n.kids = map[string]*node{}
		n.Size = 0
	case tar.TypeSymlink:
		n.Link = hdr.Linkname
	case tar.TypeLink:
		n.hardlink = te.HardLink
	case tar.TypeReg, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		n.Size = hdr.Size
		if hdr.Typeflag == tar.TypeReg {
			n.src = layerRef{layer: idx, name: hdr.Name, ord: ts.Count() - 1, ok: true}
			if err := rd.regular(ctx, ts, hdr, n, head, li, what); err != nil {
				return err
			}
		}
	default:
		li.notes = append(li.notes, fmt.Sprintf("%s: entry %s of tar type %q: skipped", what, p, hdr.Typeflag))
		return nil
	}
	li.entries = append(li.entries, n)
	return nil
}

// describeReadErr makes a truncated stream say so.
func describeReadErr(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("truncated or corrupt archive: %w", err)
	case errors.Is(err, tar.ErrHeader):
		return fmt.Errorf("corrupt archive: %w", errPlain{err})
	case errors.Is(err, tar.ErrFieldTooLong), errors.Is(err, tar.ErrInsecurePath):
		return errPlain{err}
	}
	return err
}

// errPlain words a Go library error without the package prefix it
// carries ("archive/tar: invalid tar header"): users see what went wrong,
// not where in nsscope's dependencies.
type errPlain struct{ err error }

func (e errPlain) Error() string {
	msg := e.err.Error()
	if _, rest, ok := strings.Cut(msg, "archive/tar: "); ok {
		return rest
	}
	return msg
}

func (e errPlain) Unwrap() error { return e.err }

// regular handles the contents of a regular file entry: keep it, spool an
// ELF binary for inspection, or read a script's interpreter line.
func (rd *reader) regular(ctx context.Context, tr io.Reader, hdr *tar.Header, n *node, head []byte, li *layerIndex, what string) error {
	t := rd.t
	if t.keep(n.Path, hdr.Size) && hdr.Size <= t.limits.MaxKeepFile && !isSparse(hdr) {
		if rd.kept.Add(hdr.Size) <= t.limits.MaxKeep {
			data, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
			if err != nil {
				return fmt.Errorf("%s: %s: %w", what, n.Path, describeReadErr(err))
			}
			n.data, n.kept = data, true
			return nil
		}
		rd.kept.Add(-hdr.Size)
	}
	if t.opts.NoInspect || hdr.Size < 4 {
		return nil
	}
	if isSparse(hdr) {
		// A sparse entry can claim a huge size from a few bytes of
		// archive: never expand one to disk.
		li.notes = append(li.notes, fmt.Sprintf("%s: %s: sparse file: not inspected", what, n.Path))
		return nil
	}
	if !wantInspect(n.Path, n.Mode, hdr.Size) {
		return nil
	}
	k, err := io.ReadFull(tr, head[:min(int64(len(head)), hdr.Size)])
	if err != nil {
		return fmt.Errorf("%s: %s: %w", what, n.Path, describeReadErr(err))
	}
	h := head[:k]
	if bytes.HasPrefix(h, []byte("#!")) {
		line, _, _ := bytes.Cut(h[2:], []byte("\n"))
		n.Shebang = strings.TrimSpace(string(line))
		return nil
	}
	if !inspect.IsELF(h) {
		return nil
	}
	if hdr.Size > t.limits.MaxInspect {
		n.InspectErr = fmt.Sprintf("ELF file of %d bytes is over the %d-byte inspection limit: skipped", hdr.Size, t.limits.MaxInspect)
		li.notes = append(li.notes, fmt.Sprintf("%s: %s: %s", what, n.Path, n.InspectErr))
		return nil
	}
	f, err := os.CreateTemp(t.tmp, "elf-")
	if err != nil {
		return fmt.Errorf("spooling %s: %w", n.Path, err)
	}
	w := newSpoolWriter(f, li)
	w.write(h)
	pos := int64(k)
	if from, to, ok := goTextRange(h, hdr.Size); ok {
		// The machine code of a Go binary is never read: leave a hole in
		// the spool file instead of writing it.
		if err = w.copyN(tr, from-pos); err == nil {
			if _, err = io.CopyN(io.Discard, tr, to-from); err == nil {
				w.seek(to)
				pos = to
			}
		}
	}
	if err == nil {
		err = w.copyN(tr, hdr.Size-pos)
	}
	if werr := w.close(); err == nil {
		err = werr
	}
	if err != nil {
		name := f.Name()
		f.Close()
		os.Remove(name)
		return fmt.Errorf("%s: %s: %w", what, n.Path, describeReadErr(err))
	}
	select {
	case rd.jobs <- spoolJob{n: n, f: f, size: hdr.Size}:
	case <-ctx.Done():
		name := f.Name()
		f.Close()
		os.Remove(name)
		return ctx.Err()
	}
	return nil
}

func (t *Tree) keep(p string, size int64) bool {
	if t.opts.Keep != nil {
		return t.opts.Keep(p, size)
	}
	return KeepEtc(p, size)
}

func shortDigest(d string) string {
	if _, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return d[:len(d)-len(hex)] + hex[:12]
	}
	return d
}

// readLayers reads every layer, in parallel, and merges them in order.
func (t *Tree) readLayers(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := t.opts.Parallel
	if workers <= 0 {
		workers = max(2, runtimeProcs())
	}
	rd := &reader{t: t, jobs: make(chan spoolJob, workers)}
	serve := t.layerServers()
	rd.total = t.storedTotal(serve)
	if c := t.opts.Counts; c != nil && rd.total > 0 {
		c.Total.Add(rd.total)
	}
	for range workers {
		rd.wg.Add(1)
		go rd.inspector()
	}
	scope := t.cacheScope()
	idx, sums, order, err := t.fromCache(rd, scope, serve)
	var errs []error
	if err == nil {
		errs = t.readInParallel(ctx, cancel, rd, workers, order, idx, sums)
	}
	close(rd.jobs)
	rd.wg.Wait()
	if err == nil {
		err = firstError(errs)
	}
	if err != nil {
		return err
	}
	for i, sum := range sums {
		if sum != nil {
			t.storeLayer(scope, i, idx[i], sum)
		}
	}
	for i, li := range idx {
		if serve[i] != i {
			idx[i] = idx[serve[i]]
			t.notes = append(t.notes, fmt.Sprintf("layer %d is layer %d's blob listed again: read once", i+1, serve[i]+1))
			continue
		}
		t.notes = append(t.notes, li.notes...)
	}
	t.merge(idx)
	return nil
}

// layerServers says, for each layer, which layer's reading serves it:
// itself, or the earlier listing of the same blob.
func (t *Tree) layerServers() []int {
	serve := make([]int, len(t.layers))
	byKey := map[string]int{}
	for i, l := range t.layers {
		serve[i] = i
		if l.key == "" {
			continue
		}
		if j, ok := byKey[l.key]; ok {
			serve[i] = j
			continue
		}
		byKey[l.key] = i
	}
	return serve
}

// storedTotal is the stored size of the layers to read, -1 when one of
// them has no known size.
func (t *Tree) storedTotal(serve []int) int64 {
	var total int64
	for i, l := range t.layers {
		if serve[i] != i {
			continue
		}
		if l.info.Size <= 0 {
			return -1
		}
		total += l.info.Size
	}
	return total
}

// fromCache takes the layers the cache has (idx) and returns the others
// to read, largest first (with fewer cores than layers, the longest
// inflate should not be the one that starts last), each with the hash
// that will key its cache entry (sums).
func (t *Tree) fromCache(rd *reader, scope string, serve []int) (idx []*layerIndex, sums []hash.Hash, order []int, err error) {
	idx = make([]*layerIndex, len(t.layers))
	sums = make([]hash.Hash, len(t.layers))
	for i := range t.layers {
		if serve[i] != i {
			continue
		}
		if li := t.cachedLayer(scope, i); li != nil {
			if err := rd.useCached(li, t.layers[i].info.Size); err != nil {
				return nil, nil, nil, err
			}
			idx[i] = li
			continue
		}
		sums[i] = t.layerHash(scope, i)
		order = append(order, i)
	}
	sort.SliceStable(order, func(a, b int) bool { return t.layers[order[a]].info.Size > t.layers[order[b]].info.Size })
	return idx, sums, order, nil
}

// readInParallel reads the layers in order with up to workers at once,
// into idx; the first failure cancels the others. It returns each
// layer's error.
func (t *Tree) readInParallel(ctx context.Context, cancel func(), rd *reader, workers int, order []int, idx []*layerIndex, sums []hash.Hash) []error {
	errs := make([]error, len(t.layers))
	queue := make(chan int, len(order))
	for _, i := range order {
		queue <- i
	}
	close(queue)
	var wg sync.WaitGroup
	for range min(workers, len(order)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range queue {
				if err := ctx.Err(); err != nil {
					errs[i] = err
					continue
				}
				idx[i], errs[i] = rd.readLayer(ctx, i, t.layers[i], sums[i])
				if errs[i] != nil {
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	return errs
}

// firstError is the first real error of errs, not a cancellation it
// caused.
func firstError(errs []error) error {
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || errors.Is(first, context.Canceled)) {
			first = err
		}
	}
	return first
}

// merge applies the layers in order: whiteouts and opaque markers hide
// lower content, then the layer's entries are added over what is there.
func (t *Tree) merge(idx []*layerIndex) {
	for _, li := range idx {
		for _, d := range li.opaque {
			if n := t.dirNode(d); n != nil {
				clear(n.kids)
			}
		}
		for _, w := range li.whiteouts {
			if parent := t.dirNode(path.Dir(w)); parent != nil {
				delete(parent.kids, path.Base(w))
			}
		}
		for _, n := range li.entries {
			t.add(n)
		}
	}
}

// add puts n into the tree, creating missing parent directories.
func (t *Tree) add(n *node) {
	if n.hardlink != "" {
		var target *node
		if r, err := t.resolve(n.hardlink, false); err == nil {
			target = t.lookup(r)
		}
		if target == nil || !target.Mode.IsRegular() {
			t.notes = append(t.notes, fmt.Sprintf("hard link %s → %s: target missing or not a regular file: skipped", n.Path, n.hardlink))
			return
		}
		link := &node{Entry: target.Entry, data: target.data, kept: target.kept, src: target.src, host: target.host}
		link.Path, link.Layer = n.Path, n.Layer
		n = link
	}
	parent := t.root
	comps := components(n.Path)
	for _, c := range comps[:len(comps)-1] {
		next := parent.kids[c]
		if next != nil && next.Mode&fs.ModeSymlink != 0 {
			// A link to a directory on the way (/lib → usr/lib in a
			// merged-/usr image): the entry lands where it leads, as when
			// a container runtime unpacks the layer.
			if d := t.dirNode(path.Join(parent.Path, c)); d != nil {
				parent = d
				continue
			}
		}
		if next == nil || next.kids == nil {
			// Missing, or a non-directory in the way (the tar has a file
			// and then entries below it): a directory replaces it.
			next = newDir(path.Join(parent.Path, c))
			next.Layer = n.Layer
			parent.kids[c] = next
		}
		parent = next
	}
	name := comps[len(comps)-1]
	n.Path = path.Join(parent.Path, name)
	if old := parent.kids[name]; old != nil && old.kids != nil && n.kids != nil {
		// A directory over a directory keeps what is below it.
		old.Mode, old.Layer = n.Mode, n.Layer
		return
	}
	parent.kids[name] = n
}

// dirNode returns the directory at p, following symbolic links inside
// the root, or nil.
func (t *Tree) dirNode(p string) *node {
	r, err := t.resolve(p, true)
	if err != nil {
		return nil
	}
	if n := t.lookup(r); n != nil && n.kids != nil {
		return n
	}
	return nil
}

// open returns the contents of a regular file node: kept bytes, the host
// file, or the entry read again from its layer.
func (t *Tree) open(n *node) (content, error) {
	if n.kept {
		return memContent{bytes.NewReader(n.data)}, nil
	}
	if t.hostFS != nil {
		f, err := openRegularIn(t.hostFS, n.host)
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	if !n.src.ok {
		return nil, errors.New("contents not available")
	}
	return t.reread(n)
}

// reread reads a layer again up to the entry and returns its contents,
// in memory when small and in a temporary file otherwise.
func (t *Tree) reread(n *node) (content, error) {
	src := t.layers[n.src.layer]
	rc, err := src.open(t.ctx)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	r, _, closeDec, err := decompress(rc, t.limits, "layer", nil)
	if err != nil {
		return nil, err
	}
	defer closeDec()
	tr := tar.NewReader(r)
	for i := 0; ; i++ {
		if i%256 == 0 {
			if err := t.ctx.Err(); err != nil {
				return nil, err
			}
		}
		hdr, err := tr.Next()
		if err != nil {
			if err == io.EOF {
				return nil, fs.ErrNotExist
			}
			return nil, describeReadErr(err)
		}
		if i != n.src.ord {
			continue
		}
		if hdr.Name != n.src.name || hdr.Typeflag != tar.TypeReg {
			return nil, errors.New("layer changed since it was read")
		}
		if hdr.Size <= t.limits.MaxKeepFile*16 {
			data, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
			if err != nil {
				return nil, describeReadErr(err)
			}
			return memContent{bytes.NewReader(data)}, nil
		}
		f, err := os.CreateTemp(t.tmp, "file-")
		if err != nil {
			return nil, err
		}
		if _, err := io.Copy(f, io.LimitReader(tr, hdr.Size)); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, describeReadErr(err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		// Unlinked at once: the open descriptor keeps the data until
		// Close, and nothing is left behind.
		os.Remove(f.Name())
		return f, nil
	}
}

// isSparse reports a GNU sparse entry (old GNU or PAX form).
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// maxLibInspect bounds the non-executable shared libraries inspected: they
// are read for their resolver imports only.
const maxLibInspect = 64 << 20

// wantInspect decides which regular files are inspected if they turn out
// to be ELF: executables, the C libraries, and shared libraries in a lib
// directory (whose imports tell whether a C program resolves names
// through them).
func wantInspect(p string, mode fs.FileMode, size int64) bool {
	if mode.Perm()&0o111 != 0 || inspect.IsLibcPath(p) {
		return true
	}
	return size <= maxLibInspect && isSharedLib(p)
}

// isSharedLib reports a path like /usr/lib/x86_64-linux-gnu/libcurl.so.4.
func isSharedLib(p string) bool {
	base := path.Base(p)
	if !strings.HasPrefix(base, "lib") || !(strings.HasSuffix(base, ".so") || strings.Contains(base, ".so.")) {
		return false
	}
	return strings.HasPrefix(p, "/lib") || strings.HasPrefix(p, "/usr/lib") || strings.HasPrefix(p, "/usr/local/lib")
}
