package cli

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/nsscope/nsscope/internal/testimage"
)

// A Ctrl-C (the context cancelled) during a registry fetch stops inspect:
// the registry here never answers, so only the cancellation ends the run
// (issue 15.8: inspect used to drop its context).
func TestInspectCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/app:1"
	for _, args := range [][]string{
		{"inspect", "--insecure", "--in", ref},
		{"scan", "--insecure", ref},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		var out, errb bytes.Buffer
		done := make(chan int)
		go func() {
			done <- Main(ctx, args, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, []string{"TMPDIR=" + t.TempDir()})
		}()
		select {
		case code := <-done:
			if code == ExitOK || !strings.Contains(errb.String(), "context canceled") {
				t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
			}
		case <-time.After(2 * time.Minute):
			t.Fatalf("%v: still running two minutes after the cancellation", args)
		}
		cancel()
	}
}

// stallingRegistry is go-containerregistry's in-process registry holding
// img, except that a GET of the image's layer sends the first bytes of the
// blob and then stalls until the client goes away; stalled is closed once
// a fetch is stuck there, mid-layer.
func stallingRegistry(t *testing.T, img v1.Image) (ref string, stalled <-chan struct{}) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) == 0 {
		t.Fatalf("layers: %v", err)
	}
	ld, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	blob, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	ch := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+ld.String()) {
			inner.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(blob)))
		w.Header().Set("Docker-Content-Digest", ld.String())
		w.WriteHeader(http.StatusOK)
		w.Write(blob[:len(blob)/8])
		w.(http.Flusher).Flush()
		once.Do(func() { close(ch) })
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	ref = strings.TrimPrefix(srv.URL, "http://") + "/app:1"
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	return ref, ch
}

// A Ctrl-C while a layer is half fetched from a registry (the registry
// sends part of the blob, then nothing) stops inspect, scan and a cluster
// scan of a pod using the image: the context is cancelled once the fetch
// is stuck, and only the cancellation can end the run (issue 15.8; the
// two-minute bound only keeps a broken build from hanging).
func TestRegistryFetchCancel(t *testing.T) {
	alpine := sharedRootfs(t, "alpine-minirootfs-3.13.12-x86_64.tar.gz")
	img := testimage.Image(t, testimage.Config{Entrypoint: []string{"/bin/sh"}}, testimage.RootfsLayer(t, alpine))
	for _, verb := range []string{"inspect", "scan", "cluster"} {
		t.Run(verb, func(t *testing.T) {
			ref, stalled := stallingRegistry(t, img)
			dir := t.TempDir()
			var args []string
			switch verb {
			case "inspect":
				args = []string{"inspect", "--insecure", "--in", ref}
			case "scan":
				args = []string{"scan", "--insecure", ref}
			case "cluster":
				pods := filepath.Join(dir, "pods.yaml")
				pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\nspec:\n  containers:\n  - {name: c, image: \"" + ref + "\"}\n"
				if err := os.WriteFile(pods, []byte(pod), 0o644); err != nil {
					t.Fatal(err)
				}
				args = []string{"cluster", "--pods-file", pods, "--image-scan", "--insecure", "--no-cache"}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out, errb bytes.Buffer
			done := make(chan int, 1)
			go func() {
				done <- Main(ctx, args, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, []string{"TMPDIR=" + dir, "XDG_CACHE_HOME=" + dir})
			}()
			select {
			case <-stalled:
			case code := <-done:
				t.Fatalf("%v ended (exit %d) before fetching the layer: %s", args, code, errb.String())
			}
			cancel()
			select {
			case code := <-done:
				if code == ExitOK || !strings.Contains(errb.String(), "context canceled") {
					t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
				}
			case <-time.After(2 * time.Minute):
				t.Fatalf("%v: still running two minutes after the cancellation", args)
			}
		})
	}
}
