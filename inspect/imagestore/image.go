package imagestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxIndexDepth bounds nested indexes (an index of indexes of ...).
const maxIndexDepth = 4

// nameCandidates lists the names a reference may be stored under, in the
// order tried: as given, then as containerd and the kubelet store a
// Docker Hub short name ("alpine" is "docker.io/library/alpine:latest").
func nameCandidates(ref string) []string {
	out := []string{ref}
	if strings.HasPrefix(ref, "sha256:") {
		return out
	}
	n := ref
	first, _, hasSlash := strings.Cut(n, "/")
	if !hasSlash || !(strings.ContainsAny(first, ".:") || first == "localhost") {
		if !hasSlash {
			n = "library/" + n
		}
		n = "docker.io/" + n
	}
	if strings.HasPrefix(n, "index.docker.io/") {
		n = "docker.io/" + strings.TrimPrefix(n, "index.docker.io/")
	}
	last := n[strings.LastIndex(n, "/")+1:]
	if !strings.Contains(last, ":") && !strings.Contains(n, "@") {
		n += ":latest"
	}
	if n != ref {
		out = append(out, n)
	}
	return out
}

// resolveName finds the record of ref in the store: by name, or by
// manifest digest ("sha256:…").
func resolveName(ctx context.Context, st store, ref string) (Record, error) {
	for _, n := range nameCandidates(ref) {
		r, err := st.resolve(ctx, n)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return Record{}, err
		}
	}
	if strings.HasPrefix(ref, "sha256:") {
		recs, err := st.list(ctx)
		if err != nil {
			return Record{}, err
		}
		for _, r := range recs {
			if r.Digest == ref {
				return r, nil
			}
		}
	}
	return Record{}, fmt.Errorf("%s: no such image in %s: %w", ref, st.where(), ErrNotFound)
}

// openFromStore resolves spec in st and picks the manifest for plat.
func openFromStore(ctx context.Context, st store, spec Spec, plat v1.Platform, limit int64) (*Image, error) {
	rec, err := resolveName(ctx, st, spec.Ref)
	if err != nil {
		return nil, err
	}
	d, err := v1.NewHash(rec.Digest)
	if err != nil {
		return nil, fmt.Errorf("%s: target digest %q: %w", rec.Name, rec.Digest, ErrBadStore)
	}
	desc := v1.Descriptor{Digest: d, MediaType: types.MediaType(rec.MediaType), Size: rec.Size}
	bs := blobs{ctx: ctx, st: st, limit: limit}
	var notes []string
	desc, notes, err = chooseManifest(bs, desc, plat, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rec.Name, err)
	}
	raw, err := bs.read(desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("%s: manifest: %w", rec.Name, err)
	}
	core := &storeImage{bs: bs, manifest: raw, mediaType: desc.MediaType}
	img, err := partial.CompressedToImage(core)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rec.Name, err)
	}
	if _, err := img.Manifest(); err != nil {
		return nil, fmt.Errorf("%s: manifest: %w", rec.Name, err)
	}
	return &Image{
		Image: img, Spec: spec, Name: rec.Name, Digest: desc.Digest.String(),
		Where: st.where(), Notes: notes, close: st.close,
	}, nil
}

// chooseManifest follows an index to the image manifest for plat, as the
// registry path does: the first entry whose platform satisfies plat; an
// entry without a platform only when nothing else matches.
func chooseManifest(bs blobs, desc v1.Descriptor, plat v1.Platform, depth int) (v1.Descriptor, []string, error) {
	if !desc.MediaType.IsIndex() {
		return desc, nil, nil
	}
	if depth >= maxIndexDepth {
		return v1.Descriptor{}, nil, fmt.Errorf("index nesting deeper than %d", maxIndexDepth)
	}
	raw, err := bs.read(desc.Digest)
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("index: %w", err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("index %s: %w", desc.Digest, err)
	}
	pick, ok := pickPlatform(im.Manifests, plat)
	if !ok {
		var have []string
		for _, m := range im.Manifests {
			if m.Platform != nil {
				have = append(have, m.Platform.String())
			}
		}
		return v1.Descriptor{}, nil, fmt.Errorf("no image for platform %s (the index has %s)", plat.String(), strings.Join(have, ", "))
	}
	return chooseManifest(bs, pick, plat, depth+1)
}

// pickPlatform is the decision of chooseManifest over one index.
func pickPlatform(ms []v1.Descriptor, plat v1.Platform) (v1.Descriptor, bool) {
	var fallback *v1.Descriptor
	for i, m := range ms {
		if !m.MediaType.IsImage() && !m.MediaType.IsIndex() && m.MediaType != "" {
			continue // attestations, signatures
		}
		if m.Platform == nil {
			if fallback == nil {
				fallback = &ms[i]
			}
			continue
		}
		if m.Platform.Satisfies(plat) {
			return m, true
		}
	}
	if fallback != nil {
		return *fallback, true
	}
	return v1.Descriptor{}, false
}

// blobs reads small blobs (manifests, configs) from a store with a size
// cap, checking their digest.
type blobs struct {
	ctx   context.Context
	st    store
	limit int64
}

func (b blobs) read(d v1.Hash) ([]byte, error) {
	rc, size, err := b.st.open(b.ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > b.limit {
		return nil, fmt.Errorf("blob %s: %d bytes, more than the %d allowed", d, size, b.limit)
	}
	data, err := io.ReadAll(io.LimitReader(rc, b.limit+1))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	if int64(len(data)) > b.limit {
		return nil, fmt.Errorf("blob %s: more than the %d bytes allowed", d, b.limit)
	}
	if d.Algorithm == "sha256" {
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != d.Hex {
			return nil, fmt.Errorf("blob %s: content does not match its digest: %w", d, ErrBadStore)
		}
	}
	return data, nil
}

// storeImage is a partial.CompressedImageCore over a store.
type storeImage struct {
	bs        blobs
	manifest  []byte
	mediaType types.MediaType
}

func (s *storeImage) RawManifest() ([]byte, error) { return s.manifest, nil }

func (s *storeImage) MediaType() (types.MediaType, error) {
	if s.mediaType != "" {
		return s.mediaType, nil
	}
	return types.OCIManifestSchema1, nil
}

func (s *storeImage) RawConfigFile() ([]byte, error) {
	m, err := v1.ParseManifest(bytes.NewReader(s.manifest))
	if err != nil {
		return nil, err
	}
	return s.bs.read(m.Config.Digest)
}

func (s *storeImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	m, err := v1.ParseManifest(bytes.NewReader(s.manifest))
	if err != nil {
		return nil, err
	}
	if h == m.Config.Digest {
		return &storeLayer{bs: s.bs, desc: m.Config}, nil
	}
	for _, l := range m.Layers {
		if l.Digest == h {
			return &storeLayer{bs: s.bs, desc: l}, nil
		}
	}
	return nil, fmt.Errorf("layer %s: not in the manifest", h)
}

// storeLayer streams one layer blob from the store.
type storeLayer struct {
	bs   blobs
	desc v1.Descriptor
}

func (l *storeLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *storeLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *storeLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }

func (l *storeLayer) Compressed() (io.ReadCloser, error) {
	rc, _, err := l.bs.st.open(l.bs.ctx, l.desc.Digest)
	return rc, err
}
