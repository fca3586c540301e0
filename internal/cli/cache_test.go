package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/internal/testimage"
)

// TestScanCache: a second scan of an image through the layer cache gives
// the same report, its layers filed in DIR/layers; with the image's layer
// blobs deleted only the cache can have answered.
func TestScanCache(t *testing.T) {
	img := buildImage(t, testimage.Alpine316, testimage.Esbuild116)
	layout := writeOCILayout(t, img)
	cache := t.TempDir()
	args := []string{"scan", "--runtime", "none", "--format", "json", "--cache-dir", cache, layout}
	cold, stderr, code := runCLI(t, args...)
	if code != 0 && code != 1 {
		t.Fatalf("cold scan: exit %d\n%s", code, stderr)
	}
	ents, _ := filepath.Glob(filepath.Join(cache, "layers", "*.entry"))
	if len(ents) != 2 {
		t.Fatalf("%d layer entries, want 2", len(ents))
	}
	layers, _ := img.Layers()
	for _, l := range layers {
		d, _ := l.Digest()
		os.Remove(filepath.Join(layout, "blobs", d.Algorithm, d.Hex))
	}
	warm, stderr, code2 := runCLI(t, args...)
	if code2 != code || warm != cold {
		t.Fatalf("warm scan (exit %d) differs from the cold one (exit %d):\n%s\n%s", code2, code, stderr, diffText(cold, warm))
	}
	if !strings.Contains(warm, "esbuild") {
		t.Fatal("the report does not name esbuild")
	}
}

// diffText shows the first differing lines of two texts.
func diffText(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "- " + al[i] + "\n+ " + bl[i]
		}
	}
	return "(one is a prefix of the other)"
}
