package lab

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The lab's --root takes what explain --root and scan take: a directory,
// a root file system tarball (.tar, .tar.gz, .tar.zst), a `docker save`
// archive, or an OCI image layout (a directory or a tarball of one). An
// image's layers are merged, whiteouts applied, by go-containerregistry
// (mutate.Extract) and unpacked like a root tarball.

// Root kinds the lab unpacks.
const (
	rootKindDir        = "directory"
	rootKindOCIDir     = "OCI image layout"
	rootKindTar        = "root file system tarball"
	rootKindDockerSave = "docker save archive"
	rootKindOCITar     = "OCI image layout tarball"
)

// rootKind says what the --root at p is. For a tar file it reads the
// member names only (an uncompressed image archive is skipped through,
// not read).
func rootKind(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		if isFile(filepath.Join(p, "oci-layout")) && isFile(filepath.Join(p, "index.json")) {
			return rootKindOCIDir, nil
		}
		return rootKindDir, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, compressed, closeFn, err := decompressRoot(f)
	if err != nil {
		return "", err
	}
	closeFn()
	if compressed {
		return rootKindTar, nil // image archives are plain tar
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	tr := tar.NewReader(f)
	members := map[string]bool{}
	for n := 0; n < maxTarEntries; n++ {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if name := path.Clean(h.Name); !strings.Contains(name, "/") {
			members[name] = true
		}
	}
	switch {
	case members["oci-layout"] && members["index.json"]:
		return rootKindOCITar, nil
	case members["manifest.json"]:
		return rootKindDockerSave, nil
	}
	return rootKindTar, nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// imageFS returns the merged file system of the image at p (of kind), as
// a tar stream. scratch is a directory in the run's tmpfs where an OCI
// layout tarball is unpacked to be read.
func imageFS(p, kind, scratch string, limit int64) (io.ReadCloser, error) {
	var img v1.Image
	var err error
	switch kind {
	case rootKindDockerSave:
		img, err = tarball.ImageFromPath(p, nil)
	case rootKindOCIDir:
		img, err = layoutImage(p)
	case rootKindOCITar:
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
func unpackImage(dir, src, kind, scratch string, limit int64) error {
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
