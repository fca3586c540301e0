package kube

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

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

// ClusterInput is what a cluster check reads.
type ClusterInput struct {
	Pods  []corev1.Pod
	Nodes []corev1.Node
	// NodeFacts are the DaemonSet's reports, by node name.
	NodeFacts map[string]*NodeFacts
	// Default is the node assumed where no facts were collected.
	Default Node
	// NodeResults are images' facts from `nsscope node --images` on the
	// nodes, used instead of reading those images again.
	NodeResults *NodeResults
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
	// Images are the images of the pods; Inspected counts those whose
	// facts were asked for (cache hits included).
	Images    []ImageGroup `json:"images"`
	Inspected int          `json:"inspected"`
	// FromNodes counts the images whose facts came from node results.
	FromNodes int      `json:"from_nodes"`
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
// workload analysed on one pod per node it runs on. Images are described
// by the Analyzer's Image function (kubeio.Cluster inspects them first).
func (a *Analyzer) Cluster(ctx context.Context, in ClusterInput) (*ClusterResult, error) {
	res := &ClusterResult{}
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
