package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	sigsyaml "sigs.k8s.io/yaml"
)

// decodeAll decodes every document of a manifest strictly (unknown or
// duplicate fields are errors) into the API types.
func decodeAll(t *testing.T, path string) []runtime.Object {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	var out []runtime.Object
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		js, err := sigsyaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("%s document %d: %v", path, i+1, err)
		}
		if string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		obj, _, err := dec.Decode(js, nil, nil)
		if err != nil {
			t.Fatalf("%s document %d: %v", path, i+1, err)
		}
		out = append(out, obj)
	}
	return out
}

func TestManifestsParse(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// kustomization.yaml is kustomize's, not a manifest: it names the
	// image once (internal/selfimage checks it).
	files = slices.DeleteFunc(files, func(f string) bool { return f == "kustomization.yaml" })
	sort.Strings(files)
	if strings.Join(files, " ") != "cronjob.yaml daemonset.yaml job.yaml rbac.yaml" {
		t.Fatalf("manifests %v", files)
	}
	kinds := map[string]int{}
	var podSpecs []struct {
		name string
		spec corev1.PodSpec
	}
	for _, f := range files {
		for _, obj := range decodeAll(t, f) {
			kinds[obj.GetObjectKind().GroupVersionKind().Kind]++
			switch o := obj.(type) {
			case *batchv1.Job:
				podSpecs = append(podSpecs, struct {
					name string
					spec corev1.PodSpec
				}{f, o.Spec.Template.Spec})
			case *batchv1.CronJob:
				podSpecs = append(podSpecs, struct {
					name string
					spec corev1.PodSpec
				}{f, o.Spec.JobTemplate.Spec.Template.Spec})
			case *appsv1.DaemonSet:
				s := o.Spec.Template.Spec
				if !s.HostNetwork || s.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
					t.Errorf("%s: the node agent must be hostNetwork (the node's interfaces) with ClusterFirstWithHostNet", f)
				}
				if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
					t.Errorf("%s: the node agent needs no API token", f)
				}
				if len(s.Containers) != 2 {
					t.Fatalf("%s: %d containers, want node facts and node images", f, len(s.Containers))
				}
				for _, c := range s.Containers {
					if c.Args[0] != "node" || !contains(c.Args, "--root") || !contains(c.Args, "--repeat") {
						t.Errorf("%s: args %v", f, c.Args)
					}
					for _, m := range c.VolumeMounts {
						// Only nsscope's own temporary directory (an
						// emptyDir) is writable; the node is only read.
						if !m.ReadOnly && m.MountPath != "/tmp" {
							t.Errorf("%s: mount %s is writable", f, m.MountPath)
						}
					}
				}
				// The images container reads containerd's files: no
				// socket, no registry.
				img := s.Containers[1]
				if !contains(img.Args, "--images") || contains(img.Args, "--containerd-address") {
					t.Errorf("%s: images container args %v", f, img.Args)
				}
				mounted := map[string]string{}
				for _, m := range img.VolumeMounts {
					mounted[m.MountPath] = m.Name
				}
				for _, v := range s.Volumes {
					switch n := mounted["/host/var/lib/containerd"]; {
					case v.Name == n && (v.HostPath == nil || v.HostPath.Path != "/var/lib/containerd"):
						t.Errorf("%s: /host/var/lib/containerd is not the node's /var/lib/containerd", f)
					case v.Name == mounted["/tmp"] && v.EmptyDir == nil:
						t.Errorf("%s: /tmp is not an emptyDir", f)
					}
				}
				if mounted["/host/var/lib/containerd"] == "" || mounted["/tmp"] == "" {
					t.Errorf("%s: images container mounts %v", f, mounted)
				}
			case *rbacv1.ClusterRole:
				for _, r := range o.Rules {
					sort.Strings(r.Resources)
					sort.Strings(r.Verbs)
					if strings.Join(r.APIGroups, ",") != "" || strings.Join(r.Resources, ",") != "nodes,pods" || strings.Join(r.Verbs, ",") != "get,list" {
						t.Errorf("%s: rule %+v is more than get/list on pods and nodes", f, r)
					}
				}
			}
		}
	}
	for k, n := range map[string]int{"Namespace": 1, "ServiceAccount": 2, "ClusterRole": 1, "ClusterRoleBinding": 1, "Job": 1, "CronJob": 1, "DaemonSet": 1, "PersistentVolumeClaim": 1} {
		if kinds[k] != n {
			t.Errorf("%d %s, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
	for _, p := range podSpecs {
		if p.spec.ServiceAccountName != "nsscope" {
			t.Errorf("%s: service account %q", p.name, p.spec.ServiceAccountName)
		}
		c := p.spec.Containers[0]
		if c.Args[0] != "cluster" || !contains(c.Args, "-A") {
			t.Errorf("%s: args %v", p.name, c.Args)
		}
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: container security context %+v", p.name, sc)
		}
		if p.spec.SecurityContext == nil || p.spec.SecurityContext.RunAsNonRoot == nil || !*p.spec.SecurityContext.RunAsNonRoot {
			t.Errorf("%s: must run as non-root", p.name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
