package imagestore

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Stored is one image of a containerd namespace: every name the store
// keeps for one target, and the digests a pod's status or a registry may
// name it by.
type Stored struct {
	// Names are the store's names of this target, sorted, the
	// kubelet's by-ID names ("sha256:…") last.
	Names []string `json:"names"`
	// Digest is the target's digest: the index (or manifest) the image
	// was pulled as, the repository digest of a pod's imageID.
	Digest    string `json:"digest"`
	MediaType string `json:"media_type"`
	// Manifest is the digest of the manifest chosen for the platform;
	// Config that of its configuration (the image ID).
	Manifest string `json:"manifest,omitempty"`
	Config   string `json:"config,omitempty"`
	// Err says why the manifest or configuration could not be read (a
	// blob missing, another platform only); the image is still listed.
	Err string `json:"error,omitempty"`
}

// Ref is the name to open the image by: its first name that is not a
// by-ID name, else the target's digest.
func (s Stored) Ref() string {
	for _, n := range s.Names {
		if !isByID(n) {
			return n
		}
	}
	return s.Digest
}

// isByID reports the kubelet's by-ID image names ("sha256:<image ID>").
func isByID(name string) bool { return strings.HasPrefix(name, "sha256:") }

// groupRecords folds records naming the same target into one Stored each,
// sorted by their Ref.
func groupRecords(recs []Record) []Stored {
	idx := map[string]int{}
	var out []Stored
	for _, r := range recs {
		i, ok := idx[r.Digest]
		if !ok {
			i = len(out)
			idx[r.Digest] = i
			out = append(out, Stored{Digest: r.Digest, MediaType: r.MediaType})
		}
		out[i].Names = append(out[i].Names, r.Name)
	}
	for i := range out {
		sort.Slice(out[i].Names, func(a, b int) bool {
			na, nb := out[i].Names[a], out[i].Names[b]
			if isByID(na) != isByID(nb) {
				return !isByID(na)
			}
			return na < nb
		})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Ref() < out[b].Ref() })
	return out
}

// Images lists the images of containerd's namespace (through the socket,
// or from the files under Options.NodeRoot), one per target, each with
// the manifest and configuration digests for Options.Platform. where
// names the store read.
func Images(ctx context.Context, opts Options) (imgs []Stored, where string, err error) {
	opts = opts.withDefaults()
	plat, err := v1.ParsePlatform(opts.Platform)
	if err != nil {
		return nil, "", fmt.Errorf("platform %q: %w", opts.Platform, err)
	}
	st, err := openContainerd(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	defer st.close()
	recs, err := st.list(ctx)
	if err != nil {
		return nil, st.where(), err
	}
	imgs = groupRecords(recs)
	bs := blobs{ctx: ctx, st: st, limit: opts.MaxMetadata}
	for i := range imgs {
		if err := ctx.Err(); err != nil {
			return nil, st.where(), err
		}
		imgs[i].Manifest, imgs[i].Config, err = digestsOf(bs, imgs[i], *plat)
		if err != nil {
			imgs[i].Err = err.Error()
		}
	}
	return imgs, st.where(), nil
}

// digestsOf follows an image's target to its platform manifest and reads
// the configuration's digest from it.
func digestsOf(bs blobs, s Stored, plat v1.Platform) (manifest, config string, err error) {
	d, err := v1.NewHash(s.Digest)
	if err != nil {
		return "", "", fmt.Errorf("target digest %q: %w", s.Digest, ErrBadStore)
	}
	desc, _, err := chooseManifest(bs, v1.Descriptor{Digest: d, MediaType: types.MediaType(s.MediaType)}, plat, 0)
	if err != nil {
		return "", "", err
	}
	raw, err := bs.read(desc.Digest)
	if err != nil {
		return desc.Digest.String(), "", fmt.Errorf("manifest: %w", err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return desc.Digest.String(), "", fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	return desc.Digest.String(), m.Config.Digest.String(), nil
}
