package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/internal/testimage"
	"github.com/nsscope/nsscope/report"
)

const scanDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: shop}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - name: app
        image: %s
`

// TestPodImageScan: with --image-source / --image-scan the program is the
// image's main process and the nsswitch.conf is the image's own: Go 1.15.7
// on Alpine 3.13 fails on a ClusterFirst pod; Go 1.16.3 on the same base
// does not.
func TestPodImageScan(t *testing.T) {
	t.Parallel()
	testimage.DataDir(t) // skips without the shared data
	go115 := buildImage(t, "alpine-minirootfs-3.13.12-x86_64.tar.gz", "esbuild-0.8.40-linux-amd64")
	go116 := buildImage(t, "alpine-minirootfs-3.13.12-x86_64.tar.gz", "esbuild-0.11.23-linux-amd64")
	dir := t.TempDir()
	manifest := filepath.Join(dir, "app.yaml")
	if err := os.WriteFile(manifest, []byte(fmt.Sprintf(scanDeployment, "nsscope.test/app:1")), 0o644); err != nil {
		t.Fatal(err)
	}
	node := []string{"--node-resolv-conf", kubeTD("nodes", "typical.conf"), "--ip-addr", kubeTD("ip-addr-ipv6-on.json"), "--no-cache"}

	out, stderr, code := podRun(t, "", append([]string{"pod", "-f", manifest, "--format", "json", "--image-source", "nsscope.test/app:1=" + writeDockerTarball(t, go115)}, node...)...)
	rep := podFinding(t, out, stderr, code, 1)
	if f := rep.Findings[0]; f.RuleID != "NSS001" || !strings.Contains(f.Message, "/usr/local/bin/esbuild") || !strings.Contains(f.Message, "dial tcp: i/o timeout") {
		t.Errorf("Go 1.15 image: %+v", f)
	}

	out, stderr, code = podRun(t, "", append([]string{"pod", "-f", manifest, "--format", "json", "--image-source", "nsscope.test/app:1=" + writeOCILayout(t, go116)}, node...)...)
	rep = podFinding(t, out, stderr, code, 0)
	if f := rep.Findings[0]; f.RuleID != "NSS004" || !strings.Contains(f.Message, "/usr/local/bin/esbuild") {
		t.Errorf("Go 1.16 image: %+v", f)
	}

	// From a registry on loopback, with --image-scan.
	ref := pushToRegistry(t, go115)
	if err := os.WriteFile(manifest, []byte(fmt.Sprintf(scanDeployment, ref)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = podRun(t, "", append([]string{"pod", "-f", manifest, "--format", "json", "--image-scan", "--insecure"}, node...)...)
	rep = podFinding(t, out, stderr, code, 1)
	if f := rep.Findings[0]; f.RuleID != "NSS001" {
		t.Errorf("registry image: %+v", f)
	}
}

func podFinding(t *testing.T, out, stderr string, code, wantCode int) *report.Report {
	t.Helper()
	if code != wantCode {
		t.Fatalf("exit %d, want %d\nstderr: %s\n%s", code, wantCode, stderr, out)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Findings) == 0 {
		t.Fatalf("no findings:\n%s", out)
	}
	return &rep
}

// TestClusterImageCache: cluster inspects each digest once and a second
// run takes the facts from the cache (the image source is gone by then).
func TestClusterImageCache(t *testing.T) {
	t.Parallel()
	testimage.DataDir(t)
	img := buildImage(t, "alpine-minirootfs-3.13.12-x86_64.tar.gz", "esbuild-0.8.40-linux-amd64")
	tarball := writeDockerTarball(t, img)
	dg, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	pods := filepath.Join(t.TempDir(), "pods.json")
	var items []string
	for i := 0; i < 3; i++ {
		items = append(items, fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"app-%d","namespace":"shop"},"spec":{"nodeName":"n%d","containers":[{"name":"app","image":"nsscope.test/app:1"}]},"status":{"podIP":"10.244.0.%d","containerStatuses":[{"name":"app","image":"nsscope.test/app:1","imageID":"nsscope.test/app@%s"}]}}`, i, i, i+2, dg))
	}
	if err := os.WriteFile(pods, []byte(`{"apiVersion":"v1","kind":"List","items":[`+strings.Join(items, ",")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	args := []string{"cluster", "--pods-file", pods, "--cache-dir", cache, "--format", "json", "--node-resolv-conf", kubeTD("nodes", "typical.conf")}
	out, stderr, code := podRun(t, "", append(args, "--image-source", "nsscope.test/app:1="+tarball)...)
	rep := podFinding(t, out, stderr, code, 1)
	if rep.Findings[0].RuleID != "NSS001" {
		t.Fatalf("first run: %+v", rep.Findings[0])
	}
	ents, _ := os.ReadDir(filepath.Join(cache, "images"))
	if len(ents) != 1 {
		t.Fatalf("%d cache entries, want 1", len(ents))
	}
	out, stderr, code = podRun(t, "", append(args, "--image-source", "nsscope.test/app:1="+filepath.Join(t.TempDir(), "gone.tar"))...)
	rep2 := podFinding(t, out, stderr, code, 1)
	if rep2.Findings[0].Message != rep.Findings[0].Message {
		t.Errorf("cached run differs:\n%s\n%s", rep2.Findings[0].Message, rep.Findings[0].Message)
	}
}
