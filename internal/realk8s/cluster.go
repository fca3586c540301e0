package realk8s

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/kube/kubeio"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

// ClusterReport is what the cluster proof saw, for the test to check.
type ClusterReport struct {
	// Applied lists deploy/rbac.yaml's objects created for real.
	Applied []string `json:"applied"`
	// DryRun maps every deploy/ object ("file kind/name") to the server's
	// verdict on a server-side dry run ("" = accepted).
	DryRun map[string]string `json:"dry_run"`
	// Pods and Nodes are what the nsscope service account could list.
	Pods  []string `json:"pods"`
	Nodes []string `json:"nodes"`
	// Workloads are `nsscope cluster`'s workloads ("Kind ns/name") and
	// Critical its critical findings' subjects.
	Workloads []string `json:"workloads"`
	Critical  []string `json:"critical"`
	// Denied is the error of a list by a service account without a
	// binding (deploy/'s nsscope-node): it must be a permission error.
	Denied string `json:"denied"`
}

// gvrs maps the kinds in deploy/ to their resources.
var gvrs = map[string]schema.GroupVersionResource{
	"Namespace":             {Version: "v1", Resource: "namespaces"},
	"ServiceAccount":        {Version: "v1", Resource: "serviceaccounts"},
	"PersistentVolumeClaim": {Version: "v1", Resource: "persistentvolumeclaims"},
	"ClusterRole":           {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding":    {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	"Job":                   {Group: "batch", Version: "v1", Resource: "jobs"},
	"CronJob":               {Group: "batch", Version: "v1", Resource: "cronjobs"},
	"DaemonSet":             {Group: "apps", Version: "v1", Resource: "daemonsets"},
}

// ClusterProof runs inside the lab next to a ready apiserver (dir is the
// run's directory, deployDir the repository's deploy/): it applies
// deploy/rbac.yaml, creates a node, a pod and a static pod's mirror with
// the admin token, lists pods and nodes as the nsscope service account
// (a token from the TokenRequest API), runs the cluster check on them,
// tries the same list as a service account without a binding, and
// dry-runs every manifest of deploy/ on the server.
func ClusterProof(ctx context.Context, dir, deployDir string) (*ClusterReport, error) {
	tok, err := os.ReadFile(filepath.Join(dir, AdminTokenFile))
	if err != nil {
		return nil, err
	}
	admin := &rest.Config{Host: Server, BearerToken: strings.TrimSpace(string(tok)), TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(admin)
	if err != nil {
		return nil, err
	}
	rep := &ClusterReport{DryRun: map[string]string{}}

	rbac, err := readObjects(filepath.Join(deployDir, "rbac.yaml"))
	if err != nil {
		return nil, err
	}
	for _, o := range rbac {
		if err := create(ctx, dyn, o, false); err != nil {
			return nil, fmt.Errorf("apply rbac.yaml %s/%s: %w", o.GetKind(), o.GetName(), err)
		}
		rep.Applied = append(rep.Applied, o.GetKind()+"/"+o.GetName())
	}
	if err := seed(ctx, cs); err != nil {
		return nil, err
	}

	sa, err := saClient(ctx, cs, admin, "nsscope")
	if err != nil {
		return nil, err
	}
	pods, err := kubeio.ListPods(ctx, sa, "")
	if err != nil {
		return nil, fmt.Errorf("list pods as nsscope: %w", err)
	}
	nodes, err := kubeio.ListNodes(ctx, sa)
	if err != nil {
		return nil, fmt.Errorf("list nodes as nsscope: %w", err)
	}
	for _, p := range pods {
		rep.Pods = append(rep.Pods, p.Namespace+"/"+p.Name)
	}
	for _, n := range nodes {
		rep.Nodes = append(rep.Nodes, n.Name)
	}
	an := kube.NewAnalyzer(kube.Options{Predict: model.Predict, Names: []string{"localhost"}})
	res, err := an.Cluster(ctx, kube.ClusterInput{Pods: pods, Nodes: nodes, Default: incidentNode()})
	if err != nil {
		return nil, err
	}
	for _, w := range res.Workloads {
		rep.Workloads = append(rep.Workloads, w.Kind+" "+w.Namespace+"/"+w.Name)
	}
	for _, f := range res.Report("realk8s").Findings {
		if f.Severity == report.Critical {
			rep.Critical = append(rep.Critical, f.Subject)
		}
	}
	sort.Strings(rep.Critical)

	nobody, err := saClient(ctx, cs, admin, "nsscope-node")
	if err != nil {
		return nil, err
	}
	if _, err := kubeio.ListPods(ctx, nobody, ""); err != nil {
		rep.Denied = err.Error()
	}

	files, err := filepath.Glob(filepath.Join(deployDir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		objs, err := readObjects(f)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if strings.HasPrefix(o.GetAPIVersion(), "kustomize.config.k8s.io/") {
				continue // read by kubectl -k, never sent to the server
			}
			key := filepath.Base(f) + " " + o.GetKind() + "/" + o.GetName()
			rep.DryRun[key] = ""
			if err := create(ctx, dyn, o, true); err != nil {
				rep.DryRun[key] = err.Error()
			}
		}
	}
	return rep, nil
}

// incidentNode is the node the cluster check assumes: IPv6 off, three
// silent nameservers (the incident's).
func incidentNode() kube.Node {
	n := kube.UnknownNode("cp-1", "")
	n.Hosts = model.File{Path: model.PathHosts, Origin: "realk8s", Data: []byte("127.0.0.1 localhost\n::1 localhost\n")}
	n.HostsUnknown = ""
	n.Kubelet.ResolvConfUnknown = ""
	n.IPv6 = kube.IPv6Off
	n.Addrs = []kube.IfAddr{{Interface: "lo", Prefix: netip.MustParsePrefix("127.0.0.1/8")}}
	n.Kubelet.ResolvConf = model.File{Path: "/etc/resolv.conf", Origin: "realk8s",
		Data: []byte("nameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 192.0.2.55\n")}
	return n
}

// seed creates what a kubelet and the controllers would: a node, the
// default service accounts (no controller manager runs), a pod, and the
// mirror of a static kube-apiserver pod (owned by its Node, with the
// kubelet's config.mirror annotation).
func seed(ctx context.Context, cs kubernetes.Interface) error {
	node, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "cp-1"}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create node: %w", err)
	}
	for _, ns := range []string{"default", "kube-system"} {
		if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s/default service account: %w", ns, err)
		}
	}
	web := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       corev1.PodSpec{NodeName: "cp-1", Containers: []corev1.Container{{Name: "web", Image: "alpine:3.13", Command: []string{"sleep", "3600"}}}},
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, web, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create pod: %w", err)
	}
	yes := true
	mirror := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "kube-apiserver-cp-1", Namespace: "kube-system",
			Annotations:     map[string]string{"kubernetes.io/config.mirror": "0123456789abcdef", "kubernetes.io/config.source": "file"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: &yes}},
		},
		Spec: corev1.PodSpec{
			NodeName: "cp-1", HostNetwork: true,
			Containers: []corev1.Container{{Name: "kube-apiserver", Image: "registry.k8s.io/kube-apiserver:v1.20.15",
				Command: []string{"kube-apiserver", "--bind-address=0.0.0.0", "--secure-port=6443"}}},
		},
	}
	if _, err := cs.CoreV1().Pods("kube-system").Create(ctx, mirror, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create mirror pod: %w", err)
	}
	return nil
}

// saClient is a client authenticated as nsscope/NAME with a token from
// the TokenRequest API.
func saClient(ctx context.Context, cs kubernetes.Interface, base *rest.Config, name string) (kubernetes.Interface, error) {
	tr, err := cs.CoreV1().ServiceAccounts("nsscope").CreateToken(ctx, name, &authv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token for nsscope/%s: %w", name, err)
	}
	cfg := rest.CopyConfig(base)
	cfg.BearerToken = tr.Status.Token
	return kubernetes.NewForConfig(cfg)
}

func create(ctx context.Context, dyn dynamic.Interface, o *unstructured.Unstructured, dryRun bool) error {
	gvr, ok := gvrs[o.GetKind()]
	if !ok {
		return fmt.Errorf("kind %s not known to the proof", o.GetKind())
	}
	opts := metav1.CreateOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var ri dynamic.ResourceInterface = dyn.Resource(gvr)
	if ns := o.GetNamespace(); ns != "" {
		ri = dyn.Resource(gvr).Namespace(ns)
	}
	_, err := ri.Create(ctx, o, opts)
	if dryRun && err != nil && strings.Contains(err.Error(), "already exists") {
		return nil // rbac.yaml was applied for real
	}
	return err
}

func readObjects(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		js, err := sigsyaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("%s document %d: %w", path, i+1, err)
		}
		if string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("%s document %d: %w", path, i+1, err)
		}
		out = append(out, o)
	}
	return out, nil
}
