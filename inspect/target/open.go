package target

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/internal/jsonstyle"
)

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// Open opens a target: a directory, a root filesystem tarball, a docker
// save archive, an OCI image layout (directory or tar) or, when spec is not
// an existing path, a registry reference ("registry/repo:tag",
// "repo@sha256:..."). Image layers are read and merged before Open
// returns. Close the target to remove its temporary directory.
func Open(ctx context.Context, spec string, opts Options) (*Tree, error) {
	t := &Tree{opts: opts, limits: opts.Limits.withDefaults(), root: newDir("/"), ctx: ctx}
	t.desc.Spec = spec
	if opts.Platform == "" {
		t.opts.Platform = DefaultPlatform
	}
	if _, err := v1.ParsePlatform(t.opts.Platform); err != nil {
		return nil, fmt.Errorf("platform %q: %w", t.opts.Platform, err)
	}
	ok := false
	defer func() {
		if !ok {
			t.Close()
		}
	}()
	st, statErr := os.Stat(spec)
	switch {
	case t.isStoreSpec(spec):
		if err := t.openStore(ctx, spec); err != nil {
			return nil, err
		}
	case statErr == nil && st.IsDir():
		if isOCILayoutDir(spec) {
			if err := t.openOCIDir(ctx, spec); err != nil {
				return nil, err
			}
		} else if err := t.openDir(spec); err != nil {
			return nil, err
		}
	case statErr == nil && !st.Mode().IsRegular():
		return nil, inspect.CheckRegular(spec, st.Mode())
	case statErr == nil:
		if err := t.openFile(ctx, spec); err != nil {
			return nil, err
		}
	case looksLikePath(spec):
		// The path once: "x.tar: no such file or directory".
		var pe *fs.PathError
		if errors.As(statErr, &pe) {
			return nil, fmt.Errorf("%s: %w", spec, pe.Err)
		}
		return nil, fmt.Errorf("%s: %w", spec, statErr)
	default:
		if err := t.openRemote(ctx, spec); err != nil {
			return nil, err
		}
	}
	if t.hostFS == nil {
		if err := t.makeTemp(); err != nil {
			return nil, err
		}
		if err := t.readLayers(ctx); err != nil {
			return nil, err
		}
		if len(t.root.kids) == 0 {
			return nil, fmt.Errorf("%s: no files in the root filesystem: %w", spec, ErrEmpty)
		}
		if t.desc.Kind == KindRootfsTar && t.desc.Compression != "none" && IsImageArchiveTop(func(n string) bool { _, ok := t.root.kids[n]; return ok }) {
			return nil, CompressedImageError(spec, t.desc.Compression)
		}
		if _, err := t.Programs(ctx); err != nil {
			return nil, err
		}
	}
	ok = true
	return t, nil
}

func looksLikePath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		strings.HasSuffix(s, ".tar") || strings.HasSuffix(s, ".gz") || strings.HasSuffix(s, ".tgz") ||
		strings.HasSuffix(s, ".zst")
}

// openFile opens a tarball: a root filesystem, or an image archive (docker
// save or OCI layout tar), told apart by their top-level metadata files.
func (t *Tree) openFile(ctx context.Context, p string) error {
	f, err := inspect.OpenRegular(p)
	if err != nil {
		return err
	}
	comp, err := sniffTarball(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", p, err)
	}
	if comp == "none" {
		arch, err := indexArchive(f, t.limits)
		if err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", p, err)
		}
		switch archiveKind(arch.has) {
		case KindOCIArchive:
			t.desc.Kind = KindOCIArchive
			return t.openOCI(ctx, arch, arch.close)
		case KindDockerSave:
			t.desc.Kind = KindDockerSave
			return t.openDockerSave(arch)
		}
		arch.close()
	} else {
		f.Close()
	}
	t.desc.Kind = KindRootfsTar
	t.desc.Compression = comp
	st, _ := os.Stat(p)
	t.layers = []layerSource{{
		info: Layer{Size: st.Size()},
		open: func(context.Context) (io.ReadCloser, error) { return inspect.OpenRegular(p) },
	}}
	return nil
}

// archive indexes the members of an uncompressed tar file so that each can
// be read in place.
type archive struct {
	f       *os.File
	members map[string]member
}

type member struct{ off, size int64 }

func (a *archive) has(n string) bool { _, ok := a.members[path.Clean(n)]; return ok }
func (a *archive) close() error      { return a.f.Close() }

func (a *archive) open(n string) (io.ReadCloser, int64, error) {
	m, ok := a.members[path.Clean(strings.TrimPrefix(n, "./"))]
	if !ok {
		return nil, 0, fmt.Errorf("%s: not in the archive", n)
	}
	return io.NopCloser(io.NewSectionReader(a.f, m.off, m.size)), m.size, nil
}

func (a *archive) readAll(n string, limit int64) ([]byte, error) {
	rc, size, err := a.open(n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed: %w", n, size, limit, ErrLimit)
	}
	return io.ReadAll(rc)
}

// offsetReader tracks the position in the file so member data offsets are
// known; tar.Reader reads headers in whole blocks and no further.
type offsetReader struct {
	f   *os.File
	off int64
}

func (o *offsetReader) Read(p []byte) (int, error) {
	n, err := o.f.Read(p)
	o.off += int64(n)
	return n, err
}

func (o *offsetReader) Seek(off int64, whence int) (int64, error) {
	n, err := o.f.Seek(off, whence)
	if err == nil {
		o.off = n
	}
	return n, err
}

func indexArchive(f *os.File, lim Limits) (*archive, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	or := &offsetReader{f: f}
	tr := tar.NewReader(or)
	a := &archive{f: f, members: map[string]member{}}
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			return a, nil
		}
		if err != nil {
			return nil, describeReadErr(err)
		}
		if i >= lim.MaxEntries {
			return nil, fmt.Errorf("more than %d entries: %w", lim.MaxEntries, ErrLimit)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		a.members[name] = member{off: or.off, size: hdr.Size}
	}
}

// dockerManifest is one entry of a docker save archive's manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func (t *Tree) openDockerSave(a *archive) error {
	data, err := a.readAll("manifest.json", t.limits.MaxMetadata)
	if err != nil {
		a.close()
		return err
	}
	var ms []dockerManifest
	if err := json.Unmarshal(data, &ms); err != nil {
		a.close()
		return fmt.Errorf("manifest.json: %w", jsonstyle.Describe(err))
	}
	if len(ms) == 0 {
		a.close()
		return fmt.Errorf("manifest.json lists no image: %w", ErrEmpty)
	}
	if len(ms) > 1 {
		t.notes = append(t.notes, fmt.Sprintf("the archive holds %d images; the first one is read", len(ms)))
	}
	m := ms[0]
	if len(m.RepoTags) > 0 {
		t.desc.Ref = m.RepoTags[0]
	}
	cfgData, err := a.readAll(m.Config, t.limits.MaxMetadata)
	if err != nil {
		a.close()
		return err
	}
	if err := t.setConfig(cfgData); err != nil {
		a.close()
		return err
	}
	if err := t.checkLayerCount(len(m.Layers)); err != nil {
		a.close()
		return err
	}
	for i, l := range m.Layers {
		_, size, err := a.open(l)
		if err != nil {
			a.close()
			return err
		}
		l := l
		t.layers = append(t.layers, layerSource{
			info:      Layer{Digest: digestFromPath(l), Size: size},
			key:       path.Clean(l),
			open:      func(context.Context) (io.ReadCloser, error) { rc, _, err := a.open(l); return rc, err },
			whiteouts: true,
		})
		if i == 0 {
			t.layers[0].close = a.close
		}
	}
	if len(m.Layers) == 0 {
		a.close()
		return fmt.Errorf("the image has no layers: %w", ErrEmpty)
	}
	t.desc.Layers = layerInfos(t.layers)
	t.assignCacheKeys()
	return nil
}

// checkLayerCount refuses an image that lists more layers than
// Limits.MaxLayers (a small archive can list one blob a hundred thousand
// times).
func (t *Tree) checkLayerCount(n int) error {
	if n > t.limits.MaxLayers {
		return fmt.Errorf("the image lists %d layers, more than the %d allowed: %w", n, t.limits.MaxLayers, ErrLimit)
	}
	return nil
}

func digestFromPath(p string) string {
	if strings.HasPrefix(p, "blobs/") {
		parts := strings.Split(p, "/")
		if len(parts) == 3 {
			return parts[1] + ":" + parts[2]
		}
	}
	return ""
}

func layerInfos(ls []layerSource) []Layer {
	out := make([]Layer, len(ls))
	for i, l := range ls {
		out[i] = l.info
	}
	return out
}

// setConfig reads the image configuration JSON.
func (t *Tree) setConfig(data []byte) error {
	cf, err := v1.ParseConfigFile(strings.NewReader(string(data)))
	if err != nil {
		return fmt.Errorf("image config: %w", jsonstyle.Describe(err))
	}
	t.setConfigFile(cf)
	return nil
}

func (t *Tree) setConfigFile(cf *v1.ConfigFile) {
	t.setDiffIDs(cf)
	c := cf.Config
	t.config = Config{
		Present: true, Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env,
		User: c.User, WorkingDir: c.WorkingDir,
		OS: cf.OS, Arch: cf.Architecture, Variant: cf.Variant,
	}
	if cf.OS != "" {
		p := cf.OS + "/" + cf.Architecture
		if cf.Variant != "" {
			p += "/" + cf.Variant
		}
		t.desc.Platform = p
		want, _ := v1.ParsePlatform(t.opts.Platform)
		if want != nil && (want.OS != cf.OS || want.Architecture != cf.Architecture) {
			t.notes = append(t.notes, fmt.Sprintf("the image is for %s, not %s", p, t.opts.Platform))
		}
	}
}

// blobStore reads OCI blobs by digest.
type blobStore interface {
	open(d v1.Hash) (io.ReadCloser, int64, error)
}

type archiveBlobs struct{ a *archive }

func (b archiveBlobs) open(d v1.Hash) (io.ReadCloser, int64, error) {
	return b.a.open("blobs/" + d.Algorithm + "/" + d.Hex)
}

type dirBlobs struct{ root *os.Root }

func (b dirBlobs) open(d v1.Hash) (io.ReadCloser, int64, error) {
	f, err := openRegularIn(b.root, filepath.Join("blobs", d.Algorithm, d.Hex))
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

func isOCILayoutDir(dir string) bool {
	_, e1 := os.Stat(filepath.Join(dir, "oci-layout"))
	_, e2 := os.Stat(filepath.Join(dir, "index.json"))
	return e1 == nil && e2 == nil
}

func (t *Tree) openOCIDir(ctx context.Context, dir string) error {
	t.desc.Kind = KindOCILayout
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	idx, err := readRootFile(root, "index.json", t.limits.MaxMetadata)
	if err != nil {
		root.Close()
		return err
	}
	return t.openOCIIndex(ctx, dirBlobs{root}, idx, root.Close)
}

func readRootFile(root *os.Root, n string, limit int64) ([]byte, error) {
	f, err := openRegularIn(root, n)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: more than %d bytes: %w", n, limit, ErrLimit)
	}
	return data, nil
}

func (t *Tree) openOCI(ctx context.Context, a *archive, closeFn func() error) error {
	idx, err := a.readAll("index.json", t.limits.MaxMetadata)
	if err != nil {
		closeFn()
		return err
	}
	return t.openOCIIndex(ctx, archiveBlobs{a}, idx, closeFn)
}

func readBlob(bs blobStore, d v1.Hash, limit int64) ([]byte, error) {
	rc, size, err := bs.open(d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > limit {
		return nil, fmt.Errorf("blob %s: %d bytes: %w", d, size, ErrLimit)
	}
	return io.ReadAll(io.LimitReader(rc, limit))
}

// openOCIIndex picks the image for the platform from an OCI index (nested
// indexes are followed) and sets up its layers.
func (t *Tree) openOCIIndex(ctx context.Context, bs blobStore, indexJSON []byte, closeFn func() error) error {
	fail := func(err error) error { closeFn(); return err }
	want, _ := v1.ParsePlatform(t.opts.Platform)
	var manifests []v1.Descriptor
	var collect func(data []byte, depth int) error
	collect = func(data []byte, depth int) error {
		if depth > 4 {
			return fmt.Errorf("index nesting deeper than 4: %w", ErrLimit)
		}
		im, err := v1.ParseIndexManifest(strings.NewReader(string(data)))
		if err != nil {
			return fmt.Errorf("image index: %w", jsonstyle.Describe(err))
		}
		for _, d := range im.Manifests {
			switch {
			case d.MediaType.IsIndex():
				sub, err := readBlob(bs, d.Digest, t.limits.MaxMetadata)
				if err != nil {
					return err
				}
				if err := collect(sub, depth+1); err != nil {
					return err
				}
			case d.MediaType.IsImage() || d.MediaType == "":
				manifests = append(manifests, d)
			}
		}
		return nil
	}
	if err := collect(indexJSON, 0); err != nil {
		return fail(err)
	}
	if len(manifests) == 0 {
		return fail(fmt.Errorf("the image index lists no image: %w", ErrEmpty))
	}
	chosen := -1
	for i, d := range manifests {
		if d.Platform == nil || want == nil || d.Platform.Satisfies(*want) {
			if d.Platform != nil || len(manifests) == 1 || chosen < 0 {
				chosen = i
				if d.Platform != nil {
					break
				}
			}
		}
	}
	if chosen < 0 {
		var have []string
		for _, d := range manifests {
			have = append(have, d.Platform.String())
		}
		return fail(fmt.Errorf("no image for platform %s (the index has %s)", t.opts.Platform, strings.Join(have, ", ")))
	}
	md := manifests[chosen]
	if md.Annotations != nil {
		t.desc.Ref = md.Annotations["org.opencontainers.image.ref.name"]
	}
	t.desc.Digest = md.Digest.String()
	data, err := readBlob(bs, md.Digest, t.limits.MaxMetadata)
	if err != nil {
		return fail(err)
	}
	m, err := v1.ParseManifest(strings.NewReader(string(data)))
	if err != nil {
		return fail(fmt.Errorf("image manifest: %w", jsonstyle.Describe(err)))
	}
	cfg, err := readBlob(bs, m.Config.Digest, t.limits.MaxMetadata)
	if err != nil {
		return fail(fmt.Errorf("image config: %w", err))
	}
	if err := t.setConfig(cfg); err != nil {
		return fail(err)
	}
	if len(m.Layers) == 0 {
		return fail(fmt.Errorf("the image has no layers: %w", ErrEmpty))
	}
	if err := t.checkLayerCount(len(m.Layers)); err != nil {
		return fail(err)
	}
	for _, l := range m.Layers {
		d := l.Digest
		t.layers = append(t.layers, layerSource{
			info:      Layer{Digest: d.String(), MediaType: string(l.MediaType), Size: l.Size},
			key:       d.String(),
			open:      func(context.Context) (io.ReadCloser, error) { rc, _, err := bs.open(d); return rc, err },
			whiteouts: true,
		})
	}
	t.layers[0].close = closeFn
	t.desc.Layers = layerInfos(t.layers)
	t.assignCacheKeys()
	return nil
}

// openRemote pulls the image's manifest and configuration from a
// registry; layers are streamed when read.
func (t *Tree) openRemote(ctx context.Context, spec string) error {
	// A reference never begins with "-": such a spec is a flag out of
	// place, and no registry is asked for it.
	if strings.HasPrefix(spec, "-") {
		return fmt.Errorf("%s: no such file or directory, and an image reference never begins with '-'", spec)
	}
	var nopts []name.Option
	if t.opts.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	ref, err := name.ParseReference(spec, nopts...)
	if err != nil {
		return fmt.Errorf("%s is neither a file, a directory nor an image reference: %w", spec, err)
	}
	t.desc.Kind = KindRegistry
	t.desc.Ref = ref.String()
	kc := t.opts.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	plat, _ := v1.ParsePlatform(t.opts.Platform)
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc), remote.WithPlatform(*plat)}
	if t.opts.Transport != nil {
		ropts = append(ropts, remote.WithTransport(t.opts.Transport))
	}
	img, err := remote.Image(ref, ropts...)
	if err != nil {
		return fmt.Errorf("pulling %s: %w", ref, err)
	}
	return t.useImage(ref, img, false)
}

// useImage sets up a go-containerregistry image's configuration and
// layers (streamed when read; plain tar layers when uncompressed).
func (t *Tree) useImage(ref fmt.Stringer, img v1.Image, uncompressed bool) error {
	if d, err := img.Digest(); err == nil {
		t.desc.Digest = d.String()
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("%s: image config: %w", ref, err)
	}
	t.setConfigFile(cf)
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("%s: layers: %w", ref, err)
	}
	if len(layers) == 0 {
		return fmt.Errorf("%s: the image has no layers: %w", ref, ErrEmpty)
	}
	if err := t.checkLayerCount(len(layers)); err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	for _, l := range layers {
		info := Layer{Size: -1}
		if d, err := l.Digest(); err == nil {
			info.Digest = d.String()
		}
		if s, err := l.Size(); err == nil {
			info.Size = s
		}
		if mt, err := l.MediaType(); err == nil {
			info.MediaType = string(mt)
		}
		l := l
		open := func(context.Context) (io.ReadCloser, error) { return l.Compressed() }
		if mt, _ := l.MediaType(); uncompressed || mt == types.OCIUncompressedLayer || mt == types.DockerUncompressedLayer {
			open = func(context.Context) (io.ReadCloser, error) { return l.Uncompressed() }
		}
		t.layers = append(t.layers, layerSource{info: info, key: info.Digest, open: open, whiteouts: true})
	}
	t.desc.Layers = layerInfos(t.layers)
	t.assignCacheKeys()
	return nil
}
