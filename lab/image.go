package lab

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/nsscope/nsscope/inspect/target"
)

// The lab's --root takes what explain --root and scan take, told apart by
// the same rule (target.ClassifyPath): a directory, a root file system
// tarball (.tar, .tar.gz, .tar.zst), a `docker save` archive, or an OCI
// image layout (a directory or a tarball of one). An image's layers are
// merged, whiteouts applied, by go-containerregistry (mutate.Extract) and
// unpacked like a root tarball.

// imageFS returns the merged file system of the image at p (of kind), as
// a tar stream. scratch is a directory in the run's tmpfs where an OCI
// layout tarball is unpacked to be read.
func imageFS(p string, kind target.Kind, scratch string, limit int64) (io.ReadCloser, error) {
	var img v1.Image
	var err error
	switch kind {
	case target.KindDockerSave:
		img, err = tarball.ImageFromPath(p, nil)
	case target.KindOCILayout:
		img, err = layoutImage(p)
	case target.KindOCIArchive:
		if err := os.Mkdir(scratch, 0o700); err != nil {
			return nil, err
		}
		if err := unpackRoot(scratch, p, limit); err != nil {
			return nil, err
		}
		img, err = layoutImage(scratch)
	default:
		return nil, fmt.Errorf("%s is not an image", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return mutate.Extract(img), nil
}

// layoutImage picks the image of an OCI layout for this machine's
// platform (linux and the running architecture), or its only image.
func layoutImage(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	for depth := 0; depth < 4; depth++ {
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		var pick *v1.Descriptor
		for i, d := range im.Manifests {
			if d.Platform == nil || (d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH) || len(im.Manifests) == 1 {
				pick = &im.Manifests[i]
				break
			}
		}
		if pick == nil {
			return nil, fmt.Errorf("no image for linux/%s in the layout", runtime.GOARCH)
		}
		if pick.MediaType.IsIndex() {
			if idx, err = idx.ImageIndex(pick.Digest); err != nil {
				return nil, err
			}
			continue
		}
		return idx.Image(pick.Digest)
	}
	return nil, errors.New("image index nested too deep")
}

// unpackImage unpacks the merged file system of the image at src into
// dir, within limit bytes of the run's tmpfs.
func unpackImage(dir, src string, kind target.Kind, scratch string, limit int64) error {
	rc, err := imageFS(src, kind, scratch, limit)
	if err != nil {
		return inputErrorf("root %s: %v", src, err)
	}
	defer rc.Close()
	r, err := openRootFS(dir)
	if err != nil {
		return err
	}
	defer r.close()
	if err := extractTar(r, rc, limit); err != nil {
		return inputErrorf("root %s (%s): %v", src, kind, err)
	}
	if scratch != "" {
		os.RemoveAll(scratch) //nolint:errcheck // frees the tmpfs; it vanishes with the run anyway
	}
	return nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// refuseImageArchive fails when the compressed tarball src, unpacked into
// dir as a root file system, was an image archive (target.IsImageArchiveTop):
// explain and scan refuse it the same way.
func refuseImageArchive(dir, src, compression string) error {
	has := func(name string) bool {
		_, err := os.Lstat(filepath.Join(dir, name))
		return err == nil
	}
	if target.IsImageArchiveTop(has) {
		return inputErrorf("root %v", target.CompressedImageError(src, compression))
	}
	return nil
}
