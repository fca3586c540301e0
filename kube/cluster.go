package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

// listPageSize is how many objects one list call asks for.
const listPageSize = 500

// ListPods lists the pods of namespace ("" for all) page by page.
func ListPods(ctx context.Context, cs kubernetes.Interface, namespace string) ([]corev1.Pod, error) {
	var out []corev1.Pod
	opts := metav1.ListOptions{Limit: listPageSize}
	for {
		l, err := cs.CoreV1().Pods(namespace).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing pods: %w", err)
		}
		out = append(out, l.Items...)
		if l.Continue == "" {
			return out, nil
		}
		opts.Continue = l.Continue
	}
}

// ListNodes lists the cluster's nodes page by page.
func ListNodes(ctx context.Context, cs kubernetes.Interface) ([]corev1.Node, error) {
	var out []corev1.Node
	opts := metav1.ListOptions{Limit: listPageSize}
	for {
		l, err := cs.CoreV1().Nodes().List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing nodes: %w", err)
		}
		out = append(out, l.Items...)
		if l.Continue == "" {
			return out, nil
		}
		opts.Continue = l.Continue
	}
}

var (
	// jobFromCronJob matches the names the CronJob controller gives Jobs
	// (<cronjob>-<scheduled time in minutes>).
	jobFromCronJob = regexp.MustCompile(`^(.+)-\d{8,}$`)
)

// OwnerOf names the workload that owns a pod: a Deployment for a pod of a
// ReplicaSet carrying the pod-template-hash label, a CronJob for a Job
// named like the CronJob controller names them, a static pod for a pod
// owned by its Node, else the owner itself, else the pod.
func OwnerOf(pod *corev1.Pod) (kind, name string) {
	for _, o := range pod.OwnerReferences {
		if o.Controller != nil && !*o.Controller {
			continue
		}
		switch o.Kind {
		case "ReplicaSet":
			if h := pod.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(o.Name, "-"+h) {
				return "Deployment", strings.TrimSuffix(o.Name, "-"+h)
			}
		case "Job":
			if m := jobFromCronJob.FindStringSubmatch(o.Name); m != nil {
				return "CronJob", m[1]
			}
		case "Node":
			return "StaticPod", pod.Name
		}
		return o.Kind, o.Name
	}
	return "Pod", pod.Name
}

// ImageKey is what groups containers running the same image: the digest
// the runtime reports (status.containerStatuses[].imageID), else the image
// reference as written.
func ImageKey(pod *corev1.Pod, container string) (key, ref string) {
	ref = ""
	for _, c := range append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...) {
		if c.Name == container {
			ref = c.Image
		}
	}
	for _, st := range append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if st.Name != container {
			continue
		}
		if i := strings.Index(st.ImageID, "sha256:"); i >= 0 {
			return st.ImageID[i:], ref
		}
	}
	if i := strings.Index(ref, "@sha256:"); i >= 0 {
		return ref[i+1:], ref
	}
	return ref, ref
}

// ImageGroup is one image and the containers that run it.
type ImageGroup struct {
	Key        string   `json:"key"`
	Ref        string   `json:"ref"`
	Containers []string `json:"containers"` // namespace/pod/container
}

// GroupByImage groups every container of pods by ImageKey, sorted by key.
func GroupByImage(pods []corev1.Pod) []ImageGroup {
	idx := map[string]int{}
	var out []ImageGroup
	for i := range pods {
		p := &pods[i]
		for _, c := range append(append([]corev1.Container(nil), p.Spec.InitContainers...), p.Spec.Containers...) {
			key, ref := ImageKey(p, c.Name)
			j, ok := idx[key]
			if !ok {
				j = len(out)
				idx[key] = j
				out = append(out, ImageGroup{Key: key, Ref: ref})
			}
			out[j].Containers = append(out[j].Containers, p.Namespace+"/"+p.Name+"/"+c.Name)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Key < out[b].Key })
	return out
}

// ImageFacts is what inspecting an image yields for name resolution; it is
// what the cache stores.
type ImageFacts struct {
	Key string `json:"key"`
	Ref string `json:"ref"`
	// NSSwitch is the image's /etc/nsswitch.conf: Missing, or its content.
	NSSwitchMissing bool            `json:"nsswitch_missing"`
	NSSwitch        string          `json:"nsswitch,omitempty"`
	Programs        []model.Program `json:"programs"`
	Source          string          `json:"source"`
}

// Image turns the facts into what the Analyzer uses.
func (f *ImageFacts) Image() Image {
	img := Image{Programs: f.Programs, Source: f.Source}
	if f.NSSwitchMissing {
		img.NSSwitch = model.File{Path: "/etc/nsswitch.conf", Origin: f.Ref + ":/etc/nsswitch.conf", Missing: true}
	} else {
		img.NSSwitch = model.File{Path: "/etc/nsswitch.conf", Origin: f.Ref + ":/etc/nsswitch.conf", Data: []byte(f.NSSwitch)}
	}
	return img
}

// Inspector returns the facts of one image (fetching it is its business).
type Inspector func(ctx context.Context, key, ref string) (*ImageFacts, error)

// Cache keeps image facts on disk, one JSON file per image digest, so that
// later runs inspect each image once.
type Cache struct {
	Dir string
}

func (c Cache) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.Dir, hex.EncodeToString(sum[:])+".json")
}

// Cacheable reports whether key is a content digest: facts about a tag
// can change, so only digests are cached.
func Cacheable(key string) bool { return strings.HasPrefix(key, "sha256:") }

// Get returns the cached facts for key, and false when there are none (or
// the entry is unreadable, which then counts as a miss).
func (c Cache) Get(key string) (*ImageFacts, bool) {
	if c.Dir == "" || !Cacheable(key) {
		return nil, false
	}
	data, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, false
	}
	var f ImageFacts
	if err := json.Unmarshal(data, &f); err != nil || f.Key != key {
		return nil, false
	}
	return &f, true
}

// Put stores facts (atomically: a reader never sees half a file).
func (c Cache) Put(f *ImageFacts) error {
	if c.Dir == "" || !Cacheable(f.Key) {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("image cache: %w", err)
	}
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.Dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("image cache: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("image cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("image cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path(f.Key)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("image cache: %w", err)
	}
	return nil
}

// CachedInspector wraps insp with the cache: a digest seen before (in
// this run or an earlier one) is not inspected again.
func CachedInspector(c Cache, insp Inspector) Inspector {
	return func(ctx context.Context, key, ref string) (*ImageFacts, error) {
		if f, ok := c.Get(key); ok {
			return f, nil
		}
		f, err := insp(ctx, key, ref)
		if err != nil {
			return nil, err
		}
		f.Key, f.Ref = key, ref
		if err := c.Put(f); err != nil {
			return f, err
		}
		return f, nil
	}
}

// ClusterInput is what a cluster check reads.
type ClusterInput struct {
	Pods  []corev1.Pod
	Nodes []corev1.Node
	// NodeFacts are the DaemonSet's reports, by node name.
	NodeFacts map[string]*NodeFacts
	// Default is the node assumed where no facts were collected.
	Default Node
	// Inspect returns the facts of an image; nil means the Analyzer's
	// Image function (flags or typical programs) for every container.
	Inspect Inspector
}

// WorkloadResult is the check of one workload.
type WorkloadResult struct {
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Pods      int    `json:"pods"`
	// Nodes are the nodes its pods run on (sorted).
	Nodes []string `json:"nodes"`
	// Containers are analysed on one pod per node configuration.
	Containers []*Container `json:"-"`
}

// ClusterResult is a whole cluster's check.
type ClusterResult struct {
	Workloads []*WorkloadResult `json:"workloads"`
	Images    []ImageGroup      `json:"images"`
	// Inspected counts the images whose facts were asked for (cache hits
	// included); Errors are images that could not be inspected.
	Inspected int      `json:"inspected"`
	Notes     []string `json:"notes,omitempty"`
	// fixes are the remedies of failing kube-apiserver start-ups, by the
	// container's subject.
	fixes map[string][]StartupFix
}

// nodeFor returns the node a pod runs on: from the DaemonSet facts, else
// the default with the Node object's addresses and kubelet version.
func nodeFor(in *ClusterInput, nodes map[string]*corev1.Node, name string, cache map[string]Node) Node {
	if n, ok := cache[name]; ok {
		return n
	}
	n := in.Default
	if name != "" {
		n.Name = name
	}
	if obj, ok := nodes[name]; ok {
		var ips []string
		var addrs []netip.Addr
		for _, a := range obj.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				if ip, err := netip.ParseAddr(a.Address); err == nil {
					ips = append(ips, ip.String())
					addrs = append(addrs, ip)
				}
			}
		}
		if len(ips) > 0 {
			n.IPs, n.Kubelet.NodeIPs = ips, addrs
		}
		if v, err := model.ParseVersion(strings.TrimPrefix(obj.Status.NodeInfo.KubeletVersion, "v")); err == nil && n.Kubelet.Version.IsZero() {
			n.Kubelet.Version = v
		}
	}
	if nf, ok := in.NodeFacts[name]; ok {
		n = nf.Apply(n)
	}
	cache[name] = n
	return n
}

// Cluster checks every pod: pods are grouped by owning workload, each
// workload analysed on one pod per node it runs on; images are inspected
// once per digest.
func (a *Analyzer) Cluster(ctx context.Context, in ClusterInput) (*ClusterResult, error) {
	res := &ClusterResult{Images: GroupByImage(in.Pods)}
	facts := map[string]*ImageFacts{}
	if in.Inspect != nil {
		if err := inspectAll(ctx, in.Inspect, res, facts); err != nil {
			return nil, err
		}
	}
	nodes := map[string]*corev1.Node{}
	for i := range in.Nodes {
		nodes[in.Nodes[i].Name] = &in.Nodes[i]
	}
	nodeCache := map[string]Node{}

	type wkey struct{ ns, kind, name string }
	byW := map[wkey]*WorkloadResult{}
	var order []wkey
	seen := map[wkey]map[string]bool{}
	an := a
	if in.Inspect != nil {
		base := a.opts.Image
		o := a.opts
		o.Image = func(pod *corev1.Pod, c *corev1.Container) Image {
			key, _ := ImageKey(pod, c.Name)
			if f, ok := facts[key]; ok {
				img := f.Image()
				if len(img.Programs) == 0 && base != nil {
					img.Programs = base(pod, c).Programs
				}
				return img
			}
			if base != nil {
				return base(pod, c)
			}
			return Image{}
		}
		an = &Analyzer{opts: o, memo: a.memo}
	}
	for i := range in.Pods {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := &in.Pods[i]
		if p.Namespace == "" {
			p.Namespace = "default"
		}
		kind, name := OwnerOf(p)
		k := wkey{p.Namespace, kind, name}
		w, ok := byW[k]
		if !ok {
			w = &WorkloadResult{Namespace: p.Namespace, Kind: kind, Name: name}
			byW[k] = w
			order = append(order, k)
			seen[k] = map[string]bool{}
		}
		w.Pods++
		nodeName := p.Spec.NodeName
		if nodeName != "" && !seen[k]["node:"+nodeName] {
			seen[k]["node:"+nodeName] = true
			w.Nodes = append(w.Nodes, nodeName)
		}
		// One pod is analysed per distinct node configuration: nodes
		// without facts differ only by kubelet version (and, for
		// hostNetwork pods, by their addresses).
		nk := nodeName
		if _, ok := in.NodeFacts[nodeName]; !ok && !p.Spec.HostNetwork {
			nk = "default"
			if obj, ok := nodes[nodeName]; ok {
				nk += ":" + obj.Status.NodeInfo.KubeletVersion
			}
		}
		if seen[k]["cfg:"+nk] {
			continue
		}
		seen[k]["cfg:"+nk] = true
		if len(p.Spec.Containers) == 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("pod %s/%s has no containers", p.Namespace, p.Name))
			continue
		}
		wl := &Workload{Source: Source{File: "cluster", Item: -1}, Kind: kind, Name: name, Namespace: p.Namespace, Pod: p}
		if nodeName != "" {
			wl.Source.File = "node " + nodeName
		}
		w.Containers = append(w.Containers, an.Workload(wl, nodeFor(&in, nodes, nodeName, nodeCache))...)
	}
	for _, k := range order {
		w := byW[k]
		sort.Strings(w.Nodes)
		res.Workloads = append(res.Workloads, w)
	}

	// Static pods the DaemonSet found but the API does not list (no mirror
	// pod yet) are checked too.
	var names []string
	for n := range in.NodeFacts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := in.NodeFacts[n].StaticPodWorkloads()
		for _, e := range d.Errors {
			res.Notes = append(res.Notes, e.Error())
		}
		for _, wl := range d.Workloads {
			k := wkey{wl.Namespace, "StaticPod", wl.Pod.Name}
			if _, ok := byW[k]; ok {
				continue
			}
			w := &WorkloadResult{Namespace: wl.Namespace, Kind: "StaticPod", Name: wl.Pod.Name, Pods: 1, Nodes: []string{n}}
			byW[k] = w
			w.Containers = an.Workload(wl, nodeFor(&in, nodes, n, nodeCache))
			res.Workloads = append(res.Workloads, w)
		}
	}
	an.attachStartupFixes(res)
	return res, nil
}

// attachStartupFixes re-predicts each failing kube-apiserver start-up with
// the documented remedies.
func (a *Analyzer) attachStartupFixes(res *ClusterResult) {
	res.fixes = map[string][]StartupFix{}
	for _, w := range res.Workloads {
		for _, c := range w.Containers {
			if c.Startup == nil || !c.Startup.Fails || c.node == nil || c.Workload == nil {
				continue
			}
			for k, v := range a.APIServerFixes(c.Workload, *c.node) {
				if k == c.Subject {
					res.fixes[c.Subject] = v
				}
			}
		}
	}
}

// InspectParallel is how many images are inspected at once (fetching
// dominates, so a few in flight help).
const InspectParallel = 4

// inspectAll asks for the facts of every image group, InspectParallel at
// a time; failures become notes, in group order.
func inspectAll(ctx context.Context, insp Inspector, res *ClusterResult, facts map[string]*ImageFacts) error {
	type result struct {
		f   *ImageFacts
		err error
	}
	results := make([]result, len(res.Images))
	sem := make(chan struct{}, InspectParallel)
	var wg sync.WaitGroup
	for i, g := range res.Images {
		if err := ctx.Err(); err != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f, err := insp(ctx, g.Key, g.Ref)
			results[i] = result{f, err}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, g := range res.Images {
		res.Inspected++
		if r := results[i]; r.err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("image %s (%s) not inspected: %v", g.Ref, g.Key, r.err))
		} else if r.f != nil {
			facts[g.Key] = r.f
		}
	}
	return nil
}

// Report turns a cluster result into a report: findings per workload and
// container (identical findings from several nodes are merged).
func (r *ClusterResult) Report(target string) *report.Report {
	rep := &report.Report{Tool: "nsscope", Target: target, Rules: report.KubernetesRules(), Notes: r.Notes}
	for _, w := range r.Workloads {
		seen := map[string]bool{}
		fs := Findings(w.Containers)
		AttachFixes(fs, r.fixes)
		for _, f := range fs {
			parts := strings.SplitN(f.Subject, "/", 3)
			cname := parts[len(parts)-1]
			f.Subject = fmt.Sprintf("%s/%s/%s", w.Namespace, w.Name, cname)
			f.Location = report.Location{Path: fmt.Sprintf("%s %s/%s", w.Kind, w.Namespace, w.Name), Message: fmt.Sprintf("%d pod(s) on %s", w.Pods, nodeList(w.Nodes))}
			key := f.RuleID + "\x00" + f.Subject + "\x00" + f.Name + "\x00" + f.Message
			if seen[key] {
				continue
			}
			seen[key] = true
			if f.Severity == report.Info {
				// Safe findings keep their numbers but not the whole
				// prediction: a cluster report stays small.
				f.Predict = nil
			}
			rep.Findings = append(rep.Findings, f)
		}
	}
	return rep
}

func nodeList(ns []string) string {
	switch {
	case len(ns) == 0:
		return "no node"
	case len(ns) <= 3:
		return strings.Join(ns, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ns[:3], ", "), len(ns)-3)
}

// ReadNodeFactsDir reads every *.json file of dir as node facts, keyed by
// node name.
func ReadNodeFactsDir(dir string) (map[string]*NodeFacts, []error) {
	out := map[string]*NodeFacts{}
	var errs []error
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, []error{err}
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		st, err := e.Info()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.Size() > 64<<20 {
			errs = append(errs, fmt.Errorf("%s: larger than 64 MB", p))
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		nf, err := ParseNodeFacts(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		if _, ok := out[nf.Node]; ok {
			errs = append(errs, fmt.Errorf("%s: a second report for node %s (the first one is kept)", p, nf.Node))
			continue
		}
		out[nf.Node] = nf
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no node facts (*.json written by nsscope node)", dir))
	}
	return out, errs
}
