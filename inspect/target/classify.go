package target

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/nsscope/nsscope/inspect"
)

// What a root given as a path is, decided once for every verb that takes
// one (explain, scan and inspect through Open, the lab through
// ClassifyPath): a directory or an OCI layout directory; a tar file that
// is a root file system, a docker save archive or an OCI layout, told
// apart by its top-level members; compressed, always read as a root file
// system, which IsImageArchiveTop then checks once it is unpacked.

// ClassifyPath says what the root at p is and, for a tarball, its
// compression ("gzip", "zstd" or "none"). For an uncompressed tarball it
// reads the member headers (skipping through their data); a compressed
// one is not read past its first bytes. Its errors do not repeat p.
func ClassifyPath(p string, lim Limits) (Kind, string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", "", err
	}
	if st.IsDir() {
		if isOCILayoutDir(p) {
			return KindOCILayout, "", nil
		}
		return KindDir, "", nil
	}
	f, err := inspect.OpenRegular(p)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	comp, err := sniffTarball(f)
	switch {
	case err != nil:
		return "", "", err
	case comp != "none":
		return KindRootfsTar, comp, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", "", err
	}
	top := map[string]bool{}
	tr := tar.NewReader(f)
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", "", describeReadErr(err)
		}
		if n >= lim.withDefaults().MaxEntries {
			return "", "", fmt.Errorf("more than %d entries: %w", lim.withDefaults().MaxEntries, ErrLimit)
		}
		if h.Typeflag == tar.TypeReg {
			top[path.Clean(strings.TrimPrefix(h.Name, "./"))] = true
		}
	}
	return archiveKind(func(n string) bool { return top[n] }), "none", nil
}

// sniffTarball reads the first bytes of f and names its compression; an
// uncompressed file must be a tar archive (else ErrNotTar).
func sniffTarball(f io.Reader) (string, error) {
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	comp := sniffCompression(head)
	if comp == "none" && !(n >= 262 && string(head[257:262]) == "ustar") {
		return comp, ErrNotTar
	}
	return comp, nil
}

// ErrNotTar says a file given as a root is none of the things a root may be.
var ErrNotTar = errors.New("not a tar archive, directory or image reference")

// archiveKind tells an image archive from a root file system tarball by
// the regular files at its top level (has): an OCI layout has oci-layout
// and index.json, a docker save archive manifest.json.
func archiveKind(has func(name string) bool) Kind {
	switch {
	case has("index.json") && has("oci-layout"):
		return KindOCIArchive
	case has("manifest.json"):
		return KindDockerSave
	}
	return KindRootfsTar
}

// IsImageArchiveTop reports whether a compressed tarball, unpacked as a
// root file system, was in fact an image archive: its top level (has) has
// an image archive's metadata and none of a root's directories.
func IsImageArchiveTop(has func(name string) bool) bool {
	return (has("manifest.json") || has("oci-layout")) && !has("etc") && !has("usr") && !has("bin")
}

// CompressedImageError is the error for a compressed image archive given
// where a root is expected: its layers would be read as the root's files.
func CompressedImageError(spec, compression string) error {
	return fmt.Errorf("%s: a %s-compressed image archive (docker save or OCI layout); decompress it first", spec, compression)
}
