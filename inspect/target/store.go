package target

import (
	"context"
	"fmt"

	"github.com/nsscope/nsscope/inspect/imagestore"
)

// Target kinds of images read where they are stored.
const (
	KindContainerd   Kind = "containerd image"
	KindDockerDaemon Kind = "Docker daemon image"
)

// isStoreSpec reports a spec read from an image store: "containerd://REF",
// "docker://REF", "docker-daemon:REF", or any spec when
// Options.Images.Source is set. A malformed one is taken too, so that
// openStore reports it.
func (t *Tree) isStoreSpec(spec string) bool {
	_, ok, err := imagestore.ParseSpec(spec, t.opts.Images.Source)
	return ok || err != nil
}

// openStore opens an image from containerd's content store or a Docker
// daemon (package imagestore) and sets up its layers to stream from there.
func (t *Tree) openStore(ctx context.Context, spec string) error {
	s, _, err := imagestore.ParseSpec(spec, t.opts.Images.Source)
	if err != nil {
		return err
	}
	o := t.opts.Images
	o.Platform, o.TempDir, o.MaxMetadata = t.opts.Platform, t.opts.TempDir, t.limits.MaxMetadata
	img, err := imagestore.Open(ctx, s, o)
	if err != nil {
		return err
	}
	t.desc.Kind = KindContainerd
	if s.Source == imagestore.Docker {
		t.desc.Kind = KindDockerDaemon
	}
	t.desc.Ref = img.Name
	t.notes = append(t.notes, img.Notes...)
	if err := t.useImage(storeRef(img.Name), img.Image, img.LayersUncompressed); err != nil {
		img.Close()
		return fmt.Errorf("%s (%s): %w", s, img.Where, err)
	}
	t.layers[0].close = img.Close
	return nil
}

// storeRef names an image in useImage's messages.
type storeRef string

func (r storeRef) String() string { return string(r) }
