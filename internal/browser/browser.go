// Package browser opens HTML files in the system's headless Chromium
// (Debian's chromium package) through the DevTools protocol, for tests
// that check nsscope's HTML pages in a real browser. It is imported only
// by tests.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path returns the Chromium binary, or "" when none is installed.
func Path() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Open starts a headless Chromium and loads the HTML file at path. It
// skips the test when no Chromium is installed, unless CI is set, when a
// missing browser is a failure. The browser is closed when the test ends.
//
// Chromium is started with its background networking off, so it sends
// nothing anywhere: the page is a local file and needs no network.
func Open(t testing.TB, path string) context.Context {
	t.Helper()
	bin := Path()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed (apt-get install --no-install-recommends chromium)")
		}
		t.Skip("chromium is not installed; apt-get install --no-install-recommends chromium")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	// Chromium keeps its singleton socket in a directory of its own under
	// $TMPDIR (org.chromium.Chromium.XXXXXX) and leaves it behind when
	// chromedp ends it: give it the test's temp dir, removed with the test.
	tmp := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.WindowSize(1200, 900),
		chromedp.Env("TMPDIR=" + tmp),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// A generous bound: the browser's start-up on a loaded 2-core machine
	// is slow, and this is not a speed test.
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+abs), chromedp.WaitReady("body")); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("chromium did not load %s within the time allowed", abs)
		}
		t.Fatalf("chromium: loading %s: %v", abs, err)
	}
	return ctx
}

// Eval evaluates a JavaScript expression in the page and returns its
// value decoded as T.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// Screenshot writes a PNG of the whole page to path.
func Screenshot(t testing.TB, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Run runs chromedp actions in the page.
func Run(t testing.TB, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(fmt.Errorf("browser: %w", err))
	}
}
