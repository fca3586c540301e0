package kubeio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

// fixtureSize is the generated cluster: at least 2,000 pods over at least
// 200 images.
const (
	fixtureNodes  = 25
	fixtureImages = 200
)

func digest(i int) string { return fmt.Sprintf("sha256:%064x", i+1) }

// generateCluster builds a cluster of n pods: Deployments of 1-20
// replicas, DaemonSets on every node, StatefulSets, CronJob pods and a
// kube-apiserver static pod on each of 3 control-plane nodes, with
// containers spread over fixtureImages images.
func generateCluster(n int) ([]runtime.Object, int) {
	var objs []runtime.Object
	tru := true
	for i := 0; i < fixtureNodes; i++ {
		objs = append(objs, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%02d", i)},
			Status: corev1.NodeStatus{
				Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.0.0.%d", 10+i)}},
				NodeInfo:  corev1.NodeSystemInfo{KubeletVersion: "v1.20.15"},
			},
		})
	}
	pods := 0
	img := 0
	nextImage := func() (string, string) {
		i := img % fixtureImages
		img++
		return fmt.Sprintf("registry.example/team%d/app%d:v%d", i%17, i, i%5), digest(i)
	}
	mkPod := func(ns, name string, owner metav1.OwnerReference, labels map[string]string, node int, hostNet bool, containers int) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, OwnerReferences: []metav1.OwnerReference{owner}},
			Spec:       corev1.PodSpec{NodeName: fmt.Sprintf("node-%02d", node), HostNetwork: hostNet},
			Status:     corev1.PodStatus{PodIP: fmt.Sprintf("10.244.%d.%d", node, pods%250+2)},
		}
		if hostNet {
			p.Status.PodIP = fmt.Sprintf("10.0.0.%d", 10+node)
		}
		for c := 0; c < containers; c++ {
			ref, dg := nextImage()
			cname := fmt.Sprintf("c%d", c)
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: cname, Image: ref,
				Env: []corev1.EnvVar{{Name: "UPSTREAM_URL", Value: fmt.Sprintf("http://svc-%d:8080/", pods%40)}}})
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: cname, Image: ref, ImageID: ref[:strings.LastIndex(ref, ":")] + "@" + dg})
		}
		pods++
		return p
	}
	// Control plane: kube-apiserver static pods (owned by their kube.Node).
	for i := 0; i < 3; i++ {
		node := fmt.Sprintf("node-%02d", i)
		p := mkPod("kube-system", "kube-apiserver-"+node, metav1.OwnerReference{Kind: "Node", Name: node, Controller: &tru}, nil, i, true, 0)
		p.Spec.Containers = []corev1.Container{{Name: "kube-apiserver", Image: "registry.example/easystack/kube-apiserver:v1.20.15-alpine3.13",
			Command: []string{"kube-apiserver", "--bind-address=0.0.0.0"}}}
		objs = append(objs, p)
	}
	// DaemonSets on every node.
	for d := 0; d < 4 && pods < n; d++ {
		for i := 0; i < fixtureNodes && pods < n; i++ {
			objs = append(objs, mkPod("monitoring", fmt.Sprintf("agent%d-%05d", d, i), metav1.OwnerReference{Kind: "DaemonSet", Name: fmt.Sprintf("agent%d", d), Controller: &tru}, nil, i, d == 0, 1))
		}
	}
	// StatefulSets.
	for s := 0; s < 10 && pods < n; s++ {
		for r := 0; r < 3 && pods < n; r++ {
			p := mkPod("data", fmt.Sprintf("db%d-%d", s, r), metav1.OwnerReference{Kind: "StatefulSet", Name: fmt.Sprintf("db%d", s), Controller: &tru}, nil, (s+r)%fixtureNodes, false, 2)
			p.Spec.Hostname, p.Spec.Subdomain = p.Name, fmt.Sprintf("db%d-hl", s)
			objs = append(objs, p)
		}
	}
	// CronJob pods.
	for c := 0; c < 20 && pods < n; c++ {
		objs = append(objs, mkPod("batch", fmt.Sprintf("report%d-29012345-x%d", c, c), metav1.OwnerReference{Kind: "Job", Name: fmt.Sprintf("report%d-29012345", c), Controller: &tru}, nil, c%fixtureNodes, false, 1))
	}
	// Deployments fill the rest.
	for d := 0; pods < n; d++ {
		replicas := d%20 + 1
		hash := fmt.Sprintf("%010x", d)
		for r := 0; r < replicas && pods < n; r++ {
			objs = append(objs, mkPod(fmt.Sprintf("team%d", d%12), fmt.Sprintf("web%d-%s-%05d", d, hash, r),
				metav1.OwnerReference{Kind: "ReplicaSet", Name: fmt.Sprintf("web%d-%s", d, hash), Controller: &tru},
				map[string]string{"pod-template-hash": hash}, (d+r)%fixtureNodes, false, 1+r%2))
		}
	}
	return objs, pods
}

// fakeInspector stands in for image inspection (no fetch): facts derived
// from the digest, counting calls.
func fakeInspector(calls *int64) Inspector {
	return func(ctx context.Context, key, ref string) (*kube.ImageFacts, error) {
		atomic.AddInt64(calls, 1)
		var i int
		fmt.Sscanf(strings.TrimPrefix(key, "sha256:"), "%x", &i)
		f := &kube.ImageFacts{Source: "fake inspection of " + ref, NSSwitch: model.File{Path: model.PathNSSwitch, Missing: i%3 == 0}}
		if !f.NSSwitch.Missing {
			f.NSSwitch.Data = []byte("hosts: files dns\n")
		}
		v := model.V(1, 15+i%10, 0)
		f.Programs = []model.Program{{Label: "Go " + v.String() + " static", Impl: model.ImplGo, Go: model.GoBuild{Version: v}}}
		return f, nil
	}
}

// controlPlaneFacts are the node facts of the generated control plane:
// the incident's nodes (IPv6 off, three silent upstream nameservers).
func controlPlaneFacts() map[string]*kube.NodeFacts {
	out := map[string]*kube.NodeFacts{}
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("node-%02d", i)
		out[name] = &kube.NodeFacts{SchemaVersion: kube.NodeFactsVersion, Node: name,
			Files: map[string]model.File{
				model.PathResolvConf: {Path: model.PathResolvConf, Data: model.Text("nameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 192.0.2.55\n")},
				model.PathHosts:      {Path: model.PathHosts, Data: model.Text("127.0.0.1 localhost\n")},
			},
			Interfaces:  []kube.IfAddr{{Interface: "lo", Prefix: netip.MustParsePrefix("127.0.0.1/8")}, {Interface: "eth0", Prefix: netip.MustParsePrefix(fmt.Sprintf("10.0.0.%d/24", 10+i))}},
			DisableIPv6: "1",
		}
	}
	return out
}

func clusterFromFake(t testing.TB, objs []runtime.Object) kube.ClusterInput {
	t.Helper()
	cs := fake.NewSimpleClientset(objs...)
	ctx := context.Background()
	pods, err := ListPods(ctx, cs, "")
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := ListNodes(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	def := kube.UnknownNode("node", "test: no node facts")
	def.Addrs = []kube.IfAddr{{Interface: "lo", Prefix: netip.MustParsePrefix("127.0.0.1/8")}}
	def.IPv6 = kube.IPv6Off
	return kube.ClusterInput{Pods: pods, Nodes: nodes, Default: def}
}

// TestClusterGenerated checks a generated cluster of 2,000 pods over 200
// images through client-go's fake clientset: each image inspected once,
// again zero times from the cache, workloads grouped, the control-plane
// incident found.
func TestClusterGenerated(t *testing.T) {
	t.Parallel()
	objs, n := generateCluster(2000)
	if n < 2000 {
		t.Fatalf("generated %d pods", n)
	}
	in := clusterFromFake(t, objs)
	if len(in.Pods) != n || len(in.Nodes) != fixtureNodes {
		t.Fatalf("listed %d pods, %d nodes", len(in.Pods), len(in.Nodes))
	}
	in.NodeFacts = controlPlaneFacts()
	var calls int64
	cache := Cache{Dir: t.TempDir()}
	insp := CachedInspector(cache, fakeInspector(&calls))
	res, err := Cluster(context.Background(), kube.Options{Predict: model.Predict}, kube.ImageSpec{}, insp, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Images) != fixtureImages+1 {
		t.Errorf("%d image groups, want %d", len(res.Images), fixtureImages+1)
	}
	if calls != fixtureImages+1 || res.Inspected != fixtureImages+1 {
		t.Errorf("inspected %d times (%d asked), want %d", calls, res.Inspected, fixtureImages+1)
	}
	kinds := map[string]int{}
	for _, w := range res.Workloads {
		kinds[w.Kind]++
	}
	if kinds["Deployment"] < 100 || kinds["DaemonSet"] != 4 || kinds["StatefulSet"] != 10 || kinds["CronJob"] != 20 || kinds["StaticPod"] != 3 {
		t.Errorf("workload kinds %v", kinds)
	}
	rep := res.Report("generated")
	crit := 0
	for _, f := range rep.Findings {
		if f.RuleID == report.RuleAPIServerLoopback && f.Severity == report.Critical {
			crit++
			if !strings.Contains(f.Message, "exits 33 s after start: Unable to perform initial IP allocation check") {
				t.Errorf("apiserver finding %q", f.Message)
			}
		}
	}
	if crit != 3 {
		t.Errorf("%d failing apiservers, want 3", crit)
	}
	// A second run hits the cache for every digest (the apiserver image
	// has no digest status and is inspected again).
	calls = 0
	in.NodeFacts = nil
	if _, err := Cluster(context.Background(), kube.Options{Predict: model.Predict}, kube.ImageSpec{}, insp, in); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("second run inspected %d images, want 1 (the one without a digest)", calls)
	}
}

// TestClusterRecorded reads a recorded `kubectl get pods -A -o json` and
// node facts as `nsscope node` writes them, through the fake clientset.
func TestClusterRecorded(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "cluster", "pods.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := kube.Decode("pods.json", data)
	if len(dec.Errors) != 0 {
		t.Fatal(dec.Errors)
	}
	var objs []runtime.Object
	for _, w := range dec.Workloads {
		objs = append(objs, w.Pod)
	}
	in := clusterFromFake(t, objs)
	facts, errs := ReadNodeFactsDir(filepath.Join("..", "testdata", "cluster", "facts"))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	in.NodeFacts = facts
	go115 := kube.ImageSpec{
		Programs: []model.Program{{Label: "Go 1.15 static", Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 15, 15)}}},
		NSSwitch: &model.File{Path: "/etc/nsswitch.conf", Origin: "alpine-3.13:/etc/nsswitch.conf", Missing: true},
	}
	res, err := Cluster(context.Background(), kube.Options{Predict: model.Predict, Names: []string{"localhost"}}, go115, nil, in)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report("recorded")
	var got []string
	for _, f := range rep.Findings {
		if f.Severity >= report.Warning {
			got = append(got, fmt.Sprintf("%s %s %s", f.Severity, f.RuleID, f.Subject))
		}
	}
	// Every program here is Go 1.15 on an image without nsswitch.conf: a
	// localhost dial goes to DNS first everywhere. The start-up fails only
	// on cp-1 (IPv6 off: the loopback host is "localhost"); cp-2 has ::1.
	want := []string{
		"critical NSS001 kube-system/coredns/coredns",                    // dnsPolicy Default: 3 silent upstreams, 30 s
		"critical NSS101 kube-system/kube-apiserver-cp-1/kube-apiserver", // the incident
		"critical NSS001 kube-system/kube-apiserver-cp-1/kube-apiserver",
		"critical NSS001 kube-system/kube-apiserver-cp-2/kube-apiserver",
		"critical NSS001 shop/web/web", // ClusterFirst, ndots:5: 4 names x 2 x 5 s = 40 s
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range rep.Findings {
		if f.Subject == "kube-system/kube-apiserver-cp-2/kube-apiserver" && f.RuleID == report.RuleAPIServerLoopback && !strings.Contains(f.Message, "dials https://[::1]:6443") {
			t.Errorf("cp-2: %s", f.Message)
		}
		if f.RuleID == report.RuleAPIServerLoopback && f.Severity == report.Critical && len(f.Fixes) != 4 {
			t.Errorf("%s: %d remedies, want 4: %+v", f.Subject, len(f.Fixes), f.Fixes)
		}
	}
	var buf strings.Builder
	if err := report.WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal([]byte(buf.String()), &back); err != nil {
		t.Fatal(err)
	}
}

func TestCache(t *testing.T) {
	t.Parallel()
	c := Cache{Dir: filepath.Join(t.TempDir(), "images")}
	if _, ok := c.Get(digest(1)); ok {
		t.Fatal("hit in an empty cache")
	}
	f := &kube.ImageFacts{Key: digest(1), Ref: "a:1", NSSwitch: model.File{Path: model.PathNSSwitch, Missing: true}, Programs: []model.Program{{Impl: model.ImplMusl, Libc: model.Libc{Kind: "musl"}}}}
	if err := c.Put(f); err != nil {
		t.Fatal(err)
	}
	got, ok := c.Get(digest(1))
	if !ok || got.Ref != "a:1" || !got.NSSwitch.Missing || len(got.Programs) != 1 {
		t.Fatalf("got %+v %v", got, ok)
	}
	// Tags are never cached; a corrupt entry is a miss.
	if err := c.Put(&kube.ImageFacts{Key: "a:latest"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get("a:latest"); ok {
		t.Error("tag cached")
	}
	if err := os.WriteFile(c.path(digest(2)), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(digest(2)); ok {
		t.Error("corrupt entry hit")
	}
	// An entry of the earlier shape (nsswitch_missing, nsswitch a string)
	// is read again, not taken as an image with an empty nsswitch.conf.
	old := `{"key":"` + digest(3) + `","ref":"a:3","nsswitch_missing":true,"programs":[],"source":"s"}`
	if err := os.WriteFile(c.path(digest(3)), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, ok := c.Get(digest(3)); ok {
		t.Errorf("entry of the earlier shape hit: %+v", got)
	}
}

// BenchmarkCluster measures the check of the generated 2,000-pod,
// 200-image cluster (listing through the fake clientset, grouping, pod
// DNS, the model, the report; image inspection is the fake one, cached).
// Peak RSS of the process is reported as peak-MB.
func BenchmarkCluster(b *testing.B) {
	objs, _ := generateCluster(2000)
	var calls int64
	dir := b.TempDir()
	for b.Loop() {
		in := clusterFromFake(b, objs)
		in.NodeFacts = controlPlaneFacts()
		insp := CachedInspector(Cache{Dir: dir}, fakeInspector(&calls))
		res, err := Cluster(context.Background(), kube.Options{Predict: model.Predict}, kube.ImageSpec{}, insp, in)
		if err != nil {
			b.Fatal(err)
		}
		if err := report.WriteJSON(io.Discard, res.Report("bench")); err != nil {
			b.Fatal(err)
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-MB")
	}
}
