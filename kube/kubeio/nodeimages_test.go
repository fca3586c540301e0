package kubeio

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/nsscope/nsscope/grade"
	"github.com/nsscope/nsscope/inspect/imagestore"
	"github.com/nsscope/nsscope/inspect/target"
	tc "github.com/nsscope/nsscope/internal/testcontainerd"
	ti "github.com/nsscope/nsscope/internal/testimage"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

// nodeTestImages are two docker save archives: Alpine 3.13 with a Go
// 1.15 program as entrypoint (hosts order decided by Go's own rules),
// and a busybox (musl) image under a Docker Hub short name.
func nodeTestImages(t testing.TB) (app, short string) {
	t.Helper()
	alpine := ti.RootfsLayer(t, ti.Rootfs(t, ti.Alpine313))
	prog := ti.FileLayer(t, map[string]ti.File{"usr/local/bin/esbuild": {FromFile: ti.Binary(t, ti.Esbuild115), Mode: 0o755}})
	app = ti.DockerSave(t, ti.Image(t, ti.Config{Entrypoint: []string{"/usr/local/bin/esbuild"}}, alpine, prog), t.TempDir(), "nsscope.test/app:1")
	bb := ti.Image(t, ti.Config{Cmd: []string{"sh"}}, ti.RootfsLayer(t, ti.Rootfs(t, ti.BusyboxMusl)))
	short = ti.DockerSave(t, bb, t.TempDir(), "busybox-test:2")
	return app, short
}

var testRuntime = grade.Runtime{Kind: grade.Kubernetes, Namespace: kube.DefaultNamespace, ClusterDomain: kube.DefaultClusterDomain, ClusterDNS: kube.DefaultClusterDNS}

// scanArchive scans an archive as `nsscope scan` does: its findings (the
// spec replaced by TARGET) and the facts cluster would inspect.
func scanArchive(t *testing.T, spec string) (string, *kube.ImageFacts) {
	t.Helper()
	tg, err := target.Open(context.Background(), spec, target.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	in, err := grade.FromTarget(context.Background(), tg, spec)
	if err != nil {
		t.Fatal(err)
	}
	nss, err := in.Root.File(model.PathNSSwitch)
	if err != nil {
		t.Fatal(err)
	}
	facts := ImageFacts(spec, in.Programs, nss)
	in.Runtime = testRuntime
	rep, err := grade.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	return findingsJSON(t, rep.Findings, spec), facts
}

func findingsJSON(t *testing.T, fs []report.Finding, spec string) string {
	t.Helper()
	if len(fs) == 0 {
		t.Fatalf("%s: no findings: a comparison would prove nothing", spec)
	}
	data, err := json.MarshalIndent(fs, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(data), spec, "TARGET")
}

// `node --images` against a real containerd: each image listed once with
// its digests, the same findings as scanning its docker save archive,
// through the socket and from the files; then `cluster` takes those
// results (written and read back as files) for the pods whose imageID
// names them, through client-go's fake clientset, with the same findings
// as inspecting the archives, and inspects only the image no node has.
func TestNodeImagesContainerd(t *testing.T) {
	app, short := nodeTestImages(t)
	c := tc.Start(t)
	c.Import(t, app)
	c.Import(t, short)

	ctx := context.Background()
	ns := NodeScan{Node: "n1", Runtime: testRuntime,
		Target: target.Options{TempDir: t.TempDir(), Images: imagestore.Options{ContainerdAddress: c.Sock}}}
	var seen []string
	ns.Each = func(i, n int, ref string) { seen = append(seen, ref) }
	doc, err := ScanNodeImages(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Images) != 2 || strings.Join(seen, " ") != "docker.io/library/busybox-test:2 nsscope.test/app:1" {
		t.Fatalf("images %+v (seen %v)", doc.Images, seen)
	}
	if !strings.Contains(doc.Store, c.Sock) || len(doc.Assumptions) == 0 {
		t.Errorf("store %q, assumptions %v", doc.Store, doc.Assumptions)
	}
	archives := map[string]string{"nsscope.test/app:1": app, "docker.io/library/busybox-test:2": short}
	archiveFacts := map[string]*kube.ImageFacts{}
	for _, img := range doc.Images {
		archive := archives[img.Ref]
		want, facts := scanArchive(t, archive)
		archiveFacts[img.Ref] = facts
		if got := findingsJSON(t, img.Findings, "containerd://"+img.Ref); got != want {
			t.Errorf("%s: findings via the socket:\n%s\nwant (archive):\n%s", img.Ref, got, want)
		}
		// An image imported from a docker save archive has no index: its
		// target is its manifest, and the image ID a second key.
		if img.Digest != img.Manifest || img.Config == "" || img.Verdict == kube.VerdictError || img.Facts == nil || len(img.Keys()) != 2 {
			t.Errorf("%s: verdict %s, keys %v, facts %v", img.Ref, img.Verdict, img.Keys(), img.Facts != nil)
		}
		if img.Facts != nil && (len(img.Facts.Programs) != len(facts.Programs) || img.Facts.NSSwitch.Missing != facts.NSSwitch.Missing || string(img.Facts.NSSwitch.Data) != string(facts.NSSwitch.Data)) {
			t.Errorf("%s: facts %+v, archive %+v", img.Ref, img.Facts, facts)
		}
	}
	if doc.Images[1].Verdict != "critical" {
		t.Errorf("Go 1.15 on Alpine 3.13 without nsswitch.conf: verdict %s, want critical", doc.Images[1].Verdict)
	}

	// From the files, while the daemon runs: the same images and findings.
	fs := ns
	fs.Each = nil
	fs.Target.Images = imagestore.Options{NodeRoot: c.NodeRoot}
	fdoc, err := ScanNodeImages(ctx, fs)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(doc.Images)
	b, _ := json.Marshal(fdoc.Images)
	if string(a) != string(b) {
		t.Errorf("from the files:\n%s\nvia the socket:\n%s", b, a)
	}

	// A later round (node --repeat) reads no image that is unchanged; an
	// image whose earlier result failed is read again.
	again := fs
	again.Previous = doc
	again.Target.Counts = &target.Counts{}
	rdoc, err := ScanNodeImages(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := json.Marshal(rdoc.Images); string(r) != string(a) || again.Target.Counts.Bytes.Load() != 0 {
		t.Errorf("second round: %d bytes read; images\n%s", again.Target.Counts.Bytes.Load(), r)
	}
	failed := *doc
	failed.Images = append([]kube.NodeImage(nil), doc.Images...)
	failed.Images[1].Verdict, failed.Images[1].Facts = kube.VerdictError, nil
	again.Previous, again.Target.Counts = &failed, &target.Counts{}
	if _, err := ScanNodeImages(ctx, again); err != nil || again.Target.Counts.Bytes.Load() == 0 || again.Target.Counts.Executables.Load() == 0 {
		t.Errorf("an image that failed before was not read again: %v, %d bytes", err, again.Target.Counts.Bytes.Load())
	}

	// The results as node --images writes them, read back by cluster.
	dir := t.TempDir()
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "n1"+NodeImagesSuffix), data, 0o644); err != nil {
		t.Fatal(err)
	}
	nr, errs := ReadNodeResults(dir)
	if len(errs) != 0 || nr.Len() != 4 {
		t.Fatalf("read results: %v, %d digests", errs, nr.Len())
	}
	appImg, bbImg := doc.Images[1], doc.Images[0]
	pod := func(name, image, imageID string) runtime.Object {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: image}}}}
		if imageID != "" {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", ImageID: imageID}}
		}
		return p
	}
	objs := []runtime.Object{
		// containerd's CRI reports the repository digest...
		pod("app", "nsscope.test/app:1", "nsscope.test/app@"+appImg.Digest),
		// ...or, for an image without one (kind load), the image ID.
		pod("bb", "busybox-test:2", bbImg.Config),
		pod("other", "registry.example/other:1", ""),
	}
	var mu sync.Mutex
	var asked []string
	sources := map[string]string{"nsscope.test/app:1": app, "busybox-test:2": short}
	insp := func(ctx context.Context, key, ref string) (*kube.ImageFacts, error) {
		mu.Lock()
		asked = append(asked, ref)
		mu.Unlock()
		spec, ok := sources[ref]
		if !ok {
			return nil, errNoSource
		}
		_, f := scanArchive(t, spec)
		f.Key, f.Ref = key, ref
		return f, nil
	}
	opts := kube.Options{Predict: model.Predict}
	withNodes := clusterFromFake(t, objs)
	withNodes.NodeResults = nr
	res, err := Cluster(ctx, opts, kube.ImageSpec{}, insp, withNodes)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(asked, " ") != "registry.example/other:1" || res.FromNodes != 2 {
		t.Errorf("inspected %v, %d from node results", asked, res.FromNodes)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{"node results of n1: 2 of 3 image(s)", "image nsscope.test/app:1 (" + appImg.Digest + "): facts from node n1's image results",
		"image busybox-test:2 (" + bbImg.Config + "): facts from node n1's image results", "registry.example/other:1"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	asked = nil
	res2, err := Cluster(ctx, opts, kube.ImageSpec{}, insp, clusterFromFake(t, objs))
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 3 {
		t.Errorf("without node results: inspected %v", asked)
	}
	got, want := res.Report("c").Findings, res2.Report("c").Findings
	if len(got) == 0 || len(got) != len(want) {
		t.Fatalf("%d findings with node results, %d inspecting the archives", len(got), len(want))
	}
	for i := range got {
		if got[i].Subject != want[i].Subject || got[i].Severity != want[i].Severity || got[i].Message != want[i].Message || got[i].Time != want[i].Time {
			t.Errorf("finding %d:\n %s %s %s\nwant\n %s %s %s", i, got[i].Subject, got[i].Severity, got[i].Message, want[i].Subject, want[i].Severity, want[i].Message)
		}
	}
}

var errNoSource = os.ErrNotExist

func TestNodeResultsIndex(t *testing.T) {
	d := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	doc := &kube.NodeImages{SchemaVersion: kube.NodeImagesSchemaVersion, Node: "n1", Store: "containerd's files under /host/var/lib/containerd, namespace k8s.io", Images: []kube.NodeImage{
		{Names: []string{"a:1"}, Ref: "a:1", Digest: d("a"), Manifest: d("b"), Config: d("c"), Verdict: "critical", Facts: &kube.ImageFacts{Source: "image containerd://a:1"}},
		{Names: []string{"e:1"}, Ref: "e:1", Digest: d("e"), Verdict: kube.VerdictError, Error: "blob missing"},
		{Names: []string{"m:1"}, Ref: "m:1", Digest: d("a"), Verdict: "info", Facts: &kube.ImageFacts{Source: "other"}},
	}}
	var nr kube.NodeResults
	nr.Add(doc, "n1.images.json")
	for _, k := range []string{d("a"), d("b"), d("c")} {
		r, ok := nr.Lookup(k)
		if !ok || r.Facts.Key != k || r.Facts.Ref != "a:1" || !strings.HasPrefix(r.Facts.Source, "from node n1's image results: image containerd://a:1") {
			t.Errorf("lookup %s: %+v %v", k, r, ok)
		}
	}
	if _, ok := nr.Lookup(d("e")); ok {
		t.Error("an image that could not be read gave facts")
	}
	if nr.Len() != 3 || strings.Join(nr.Nodes(), ",") != "n1" {
		t.Errorf("len %d nodes %v", nr.Len(), nr.Nodes())
	}
	groups := []kube.ImageGroup{{Key: d("b"), Ref: "a:1"}, {Key: "x:1", Ref: "x:1"}}
	facts, rest, notes := splitByNodeResults(groups, &nr)
	if len(facts) != 1 || len(rest) != 1 || rest[0].Ref != "x:1" || len(notes) != 2 {
		t.Errorf("split: %v %v %q", facts, rest, notes)
	}
	if _, rest, notes := splitByNodeResults(groups, nil); len(rest) != 2 || notes != nil {
		t.Errorf("no results: %v %v", rest, notes)
	}
	rep := doc.Report()
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "image e:1 not read: blob missing") {
		t.Errorf("report notes %q", rep.Notes)
	}
}

func TestParseNodeImages(t *testing.T) {
	for in, want := range map[string]string{
		`{}`: "no schema_version",
		`{"schema_version": 9, "node": "n", "store": "s", "images": []}`:                        "newer",
		`{"schema_version": 1, "node": "n1", "files": {}, "interfaces": [], "static_pods": []}`: "node facts go to --node-facts-dir",
		`{"schema_version": 2, "node": "n1", "files": {}, "interfaces": [], "static_pods": []}`: "these are node facts",
		`[1]`:                          "not the JSON of 'nsscope node --images': a JSON array where an object is expected",
		`{"node": "x", "images": "y"}`: "a JSON string where an array is expected, at images",
		`{"schema_version": 2, "node": "n", "store": "s", "images": [{"ref": "a", "verdict": "info"}]}`: "",
		// The earlier shape, whose nsswitch.conf was a string, is named as
		// such before its fields fail to decode.
		`{"schema_version": 1, "node": "n", "store": "s", "images": [{"ref": "a", "verdict": "info", "facts": {"nsswitch": "hosts: files"}}]}`: "schema_version 1 is an older shape than this tool's 2: collect them again",
	} {
		_, err := ParseNodeImages([]byte(in))
		if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("ParseNodeImages(%s) = %v, want %q", in, err, want)
		}
	}
	dir := t.TempDir()
	if _, errs := ReadNodeResults(dir); len(errs) != 1 || !strings.Contains(errs[0].Error(), "no *.images.json") {
		t.Errorf("empty dir: %v", errs)
	}
}

// FuzzParseNodeImages: any input gives a document or an error, never a
// panic, and an indexed document answers lookups.
func FuzzParseNodeImages(f *testing.F) {
	f.Add([]byte(`{"schema_version": 2, "node": "n", "store": "s", "images": [{"ref": "a", "digest": "sha256:` + strings.Repeat("a", 64) + `", "verdict": "info", "facts": {"key": "k", "nsswitch": {"path": "/etc/nsswitch.conf", "missing": true}, "programs": []}}]}`))
	f.Add([]byte(`{"schema_version": 2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseNodeImages(data)
		if err != nil {
			return
		}
		var nr kube.NodeResults
		nr.Add(doc, "f")
		for _, img := range doc.Images {
			for _, k := range img.Keys() {
				nr.Lookup(k)
			}
		}
		_ = doc.Report()
	})
}

// BenchmarkNodeImages times `node --images` over the two test images
// (list, then open and scan each) through a real containerd's socket and
// from its files:
//
//	go test ./kube/kubeio -run '^$' -bench NodeImages -benchtime 10x -benchmem
func BenchmarkNodeImages(b *testing.B) {
	app, short := nodeTestImages(b)
	c := tc.Start(b)
	c.Import(b, app)
	c.Import(b, short)
	for _, bc := range []struct {
		name   string
		stores imagestore.Options
	}{
		{"socket", imagestore.Options{ContainerdAddress: c.Sock}},
		{"files", imagestore.Options{NodeRoot: c.NodeRoot}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ns := NodeScan{Node: "n1", Runtime: testRuntime, Target: target.Options{TempDir: b.TempDir(), Images: bc.stores}}
			for b.Loop() {
				doc, err := ScanNodeImages(context.Background(), ns)
				if err != nil || len(doc.Images) != 2 {
					b.Fatalf("%v %d", err, len(doc.Images))
				}
			}
		})
	}
}
