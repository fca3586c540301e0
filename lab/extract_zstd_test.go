package lab

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// A zstd root tarball is extracted as explain --root and scan read it
// (issue 10: lab --root x.tar.zst failed): one tar reader for all.
func TestExtractZstd(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "etc/hosts", Mode: 0o644, Size: 20, Typeflag: tar.TypeReg})
	tw.Write([]byte("127.0.0.1 localhost\n"))
	tw.Close()
	zw, _ := zstd.NewWriter(nil)
	data := zw.EncodeAll(buf.Bytes(), nil)
	root := t.TempDir()
	r, err := openRootFS(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if err := extractTar(r, bytes.NewReader(data), DefaultTmpfsSize); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(root, "etc", "hosts")); err != nil || string(got) != "127.0.0.1 localhost\n" {
		t.Errorf("etc/hosts: %q %v", got, err)
	}
}
