package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tc "github.com/nsscope/nsscope/internal/testcontainerd"
	ti "github.com/nsscope/nsscope/internal/testimage"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/report"
)

// findingsOf returns a JSON report's findings, the target's spec
// replaced by TARGET (it differs by design).
func findingsOf(t *testing.T, name string, doc []byte, spec string) string {
	t.Helper()
	rep, err := report.ReadJSON(strings.NewReader(string(doc)))
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, doc)
	}
	return sameFindings(t, name, rep.Findings, spec)
}

func sameFindings(t *testing.T, name string, fs []report.Finding, spec string) string {
	t.Helper()
	if len(fs) == 0 {
		t.Fatalf("%s: no findings: the comparison would prove nothing", name)
	}
	data, err := json.MarshalIndent(fs, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(data), spec, "TARGET")
}

// `nsscope node --images` against a real containerd (started by the test
// with its own socket and root; images imported with ctr from docker save
// archives): each image's findings are those of `nsscope scan` on the
// archive and on containerd://REF, through the socket and from the
// files; the JSON validates; text, SARIF and the progress lines render;
// and `nsscope cluster --node-results` gives the pods whose imageID names
// those images the findings that inspecting the archives gives.
func TestNodeImagesCLI(t *testing.T) {
	alpine := ti.RootfsLayer(t, ti.Rootfs(t, ti.Alpine313))
	prog := ti.FileLayer(t, map[string]ti.File{"usr/local/bin/esbuild": {FromFile: ti.Binary(t, ti.Esbuild115), Mode: 0o755}})
	app := ti.DockerSave(t, ti.Image(t, ti.Config{Entrypoint: []string{"/usr/local/bin/esbuild"}}, alpine, prog), t.TempDir(), "nsscope.test/app:1")
	short := ti.DockerSave(t, ti.Image(t, ti.Config{Cmd: []string{"sh"}}, ti.RootfsLayer(t, ti.Rootfs(t, ti.BusyboxMusl))), t.TempDir(), "busybox-test:2")
	c := tc.Start(t)
	c.Import(t, app)
	c.Import(t, short)

	out, stderr, code := runCLI(t, "node", "--images", "--containerd-address", c.Sock, "--node-name", "n1", "--format", "json", "--progress", "lines")
	if code != ExitFindings {
		t.Fatalf("node --images: exit %d (want 1: a critical image): %s", code, stderr)
	}
	validate(t, schemas(t), "node-images.json", "node --images", out)
	if !strings.Contains(stderr, "scanned image 2 of 2 (nsscope.test/app:1): ") || !strings.Contains(stderr, " executables, ") {
		t.Errorf("progress lines: %q", stderr)
	}
	var doc kube.NodeImages
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Images) != 2 || doc.Node != "n1" {
		t.Fatalf("images %+v", doc.Images)
	}
	archives := map[string]string{"nsscope.test/app:1": app, "docker.io/library/busybox-test:2": short}
	for _, img := range doc.Images {
		archive := archives[img.Ref]
		aout, aerr, _ := runCLI(t, "scan", archive, "--format", "json")
		want := findingsOf(t, "scan "+archive, []byte(aout+aerr), archive)
		got := sameFindings(t, "node --images "+img.Ref, img.Findings, "containerd://"+img.Ref)
		if got != want {
			t.Errorf("%s: node --images:\n%s\nscan of the archive:\n%s", img.Ref, got, want)
		}
		spec := "containerd://" + img.Ref
		sout, serr, _ := runCLI(t, "scan", spec, "--containerd-address", c.Sock, "--format", "json")
		if s := findingsOf(t, "scan "+spec, []byte(sout+serr), spec); s != got {
			t.Errorf("%s: scan containerd://:\n%s", img.Ref, s)
		}
	}

	// From the files under the node's root, into a file.
	dir := t.TempDir()
	file := filepath.Join(dir, "n1.images.json")
	_, stderr, code = runCLI(t, "node", "--images", "--root", c.NodeRoot, "--node-name", "n1", "--format", "json", "--compact", "--output", file)
	if code != ExitFindings {
		t.Fatalf("node --images --root: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var fdoc kube.NodeImages
	if err := json.Unmarshal(data, &fdoc); err != nil || strings.Count(string(data), "\n") != 1 {
		t.Fatalf("--compact file: %v", err)
	}
	a, _ := json.Marshal(doc.Images)
	b, _ := json.Marshal(fdoc.Images)
	if string(a) != string(b) || !strings.Contains(fdoc.Store, "containerd's files under "+c.NodeRoot) {
		t.Errorf("from the files (%s):\n%s\nvia the socket:\n%s", fdoc.Store, b, a)
	}

	// Through the layer cache, cold then warm: the same images.
	cacheDir := t.TempDir()
	for _, round := range []string{"cold", "warm"} {
		out, stderr, _ := runCLI(t, "node", "--images", "--containerd-address", c.Sock, "--node-name", "n1", "--format", "json", "--cache-dir", cacheDir)
		var cdoc kube.NodeImages
		if err := json.Unmarshal([]byte(out), &cdoc); err != nil {
			t.Fatalf("%s cache: %v %s", round, err, stderr)
		}
		if got, _ := json.Marshal(cdoc.Images); string(got) != string(a) {
			t.Errorf("%s cache:\n%s\nwithout:\n%s", round, got, a)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(cacheDir, "layers")); len(ents) == 0 {
		t.Error("the layer cache is empty after node --images --cache-dir")
	}

	// Text: one verdict per image; SARIF parses.
	out, _, code = runCLI(t, "node", "--images", "--containerd-address", c.Sock, "--node-name", "n1", "--fail-on", "warning")
	appImg, bbImg := doc.Images[1], doc.Images[0]
	for _, want := range []string{"# node n1: 2 image(s) in containerd at unix://" + c.Sock,
		"\ncritical  nsscope.test/app:1  " + appImg.Digest[:19] + "  ", "\n" + bbImg.Verdict + " "} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if code != ExitFindings || strings.Count(out, "\n") != 3 {
		t.Errorf("text: exit %d, %d lines", code, strings.Count(out, "\n"))
	}
	out, _, _ = runCLI(t, "node", "--images", "--containerd-address", c.Sock, "--node-name", "n1", "--format", "sarif")
	var sarif struct {
		Runs []struct {
			Results []json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &sarif); err != nil || len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) == 0 {
		t.Errorf("sarif: %v %s", err, out)
	}

	out, _, code = runCLI(t, "node", "--images", "--containerd-address", c.Sock, "--node-name", "n1", "--format", "html")
	if code != ExitFindings || !strings.Contains(out, "<html") || !strings.Contains(out, "nsscope.test/app:1") {
		t.Errorf("html: exit %d, %d bytes", code, len(out))
	}

	// cluster --node-results: the pods' images are not read again.
	pods := filepath.Join(dir, "pods.json")
	podList := `{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app", "namespace": "default"},
  "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "nsscope.test/app:1"}]},
  "status": {"containerStatuses": [{"name": "c", "image": "nsscope.test/app:1", "imageID": "nsscope.test/app@` + appImg.Digest + `"}]}},
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bb", "namespace": "default"},
  "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox-test:2"}]},
  "status": {"containerStatuses": [{"name": "c", "image": "busybox-test:2", "imageID": "` + bbImg.Config + `"}]}}]}`
	if err := os.WriteFile(pods, []byte(podList), 0o644); err != nil {
		t.Fatal(err)
	}
	nout, nerr, ncode := runCLI(t, "cluster", "--pods-file", pods, "--node-results", dir, "--format", "json", "--no-cache")
	iout, ierr, icode := runCLI(t, "cluster", "--pods-file", pods, "--image-source", "nsscope.test/app:1="+app, "--image-source", "busybox-test:2="+short, "--format", "json", "--no-cache")
	if ncode != icode || ncode != ExitFindings {
		t.Fatalf("cluster: exit %d with node results (%s), %d inspecting the archives (%s)", ncode, nerr, icode, ierr)
	}
	nrep, err := report.ReadJSON(strings.NewReader(nout))
	if err != nil {
		t.Fatal(err)
	}
	irep, err := report.ReadJSON(strings.NewReader(iout))
	if err != nil {
		t.Fatal(err)
	}
	if len(nrep.Findings) == 0 || len(nrep.Findings) != len(irep.Findings) {
		t.Fatalf("%d findings from node results, %d inspecting", len(nrep.Findings), len(irep.Findings))
	}
	for i, f := range nrep.Findings {
		g := irep.Findings[i]
		if f.Subject != g.Subject || f.Severity != g.Severity || f.Message != g.Message || f.Time != g.Time {
			t.Errorf("finding %d: %s %s %s; inspecting: %s %s %s", i, f.Subject, f.Severity, f.Message, g.Subject, g.Severity, g.Message)
		}
	}
	notes := strings.Join(nrep.Notes, "\n")
	if !strings.Contains(notes, "image nsscope.test/app:1 ("+appImg.Digest+"): facts from node n1's image results") ||
		!strings.Contains(notes, "node results of n1: 2 of 2 image(s)") {
		t.Errorf("notes: %s", notes)
	}
	out, _, _ = runCLI(t, "cluster", "--pods-file", pods, "--node-results", file, "--no-cache")
	if !strings.Contains(out, "2 image(s) (2 from node results)") {
		t.Errorf("cluster text header: %s", out)
	}
}
