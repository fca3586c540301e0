package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/internal/browser"
	"github.com/nsscope/nsscope/internal/golden"
)

// TestLabCheckHTMLInBrowser runs the real Go 1.15.7 esbuild on Alpine 3.13
// in the lab with three silent nameservers (timeout:1 attempts:1), checks
// it against the model with --format html, and reads the page in headless
// Chromium: the predicted and the observed waterfalls on one axis, six
// rows each, none flagged as a difference. With -update it writes the
// README's screenshot.
func TestLabCheckHTMLInBrowser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create namespaces")
	}
	data := filepath.Join("..", "..", "..", "shared", "data")
	alpine := filepath.Join(data, "rootfs", "alpine-minirootfs-3.13.12-x86_64.tar.gz")
	esbuild := filepath.Join(data, "binaries", "esbuild-0.8.40-linux-amd64")
	for _, p := range []string{alpine, esbuild} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s not found (../shared/data is absent)", p)
		}
	}
	page := filepath.Join(t.TempDir(), "lab.html")
	args := []string{"lab", "--tmp", t.TempDir(), "--root", alpine, "--add", esbuild + ":/usr/local/bin/esbuild",
		"--servers", "silent", "--options", "timeout:1 attempts:1", "--until", "http://|error",
		"--check", "--go", "1.15.7", "--name", "localhost", "--network", "tcp", "--op", "listen",
		"--format", "html", "--output", page, "--", "esbuild", "--serve=localhost:8000"}
	var out, errb bytes.Buffer
	// A loaded machine can make the run late beyond the lab's timing
	// tolerance (exit 1, MISMATCH); the page must be right either way.
	code := Main(context.Background(), args, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, nil)
	if code != ExitOK && code != ExitFindings {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	ctx := browser.Open(t, page)
	rows := browser.Eval[map[string]int](t, ctx, `(() => {
	  const n = s => document.querySelectorAll('#check [data-series="' + s + '"] [data-kind="exchange"]').length;
	  return {predicted: n('predicted'), observed: n('observed'), diff: document.querySelectorAll('#check [data-diff="true"]').length,
	    results: document.querySelectorAll('#check [data-kind="result"]').length};
	})()`)
	if rows["predicted"] != 6 || rows["observed"] != 6 || rows["diff"] != 0 || rows["results"] != 2 {
		t.Errorf("check waterfall: %v; want 6 predicted and 6 observed rows, no difference, two end marks", rows)
	}
	verdict := browser.Eval[string](t, ctx, `document.querySelector('#check .verdict').textContent`)
	if want := map[int]string{ExitOK: "MATCH", ExitFindings: "MISMATCH"}[code]; verdict != want {
		t.Errorf("verdict %q with exit %d, want %s", verdict, code, want)
	}
	shot := filepath.Join(t.TempDir(), "lab.png")
	if golden.Update() {
		shot = filepath.Join("..", "..", "docs", "img", "lab-check.png")
	}
	browser.Screenshot(t, ctx, shot)
}
