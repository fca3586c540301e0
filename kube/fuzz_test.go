package kube

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/nsscope/nsscope/model"
)

// FuzzPodDNS feeds arbitrary node files and dnsConfig values through the
// kubelet emulation: it never panics and always respects the limits.
func FuzzPodDNS(f *testing.F) {
	f.Add("nameserver 1.1.1.1\nsearch a b.\noptions ndots:2\n", "ClusterFirst", "x.example", "ndots", "3", false, uint8(0))
	f.Add("nameserver\n", "None", "", "", "", true, uint8(21))
	f.Add("search "+strings.Repeat("abcdefghij.", 40)+"\n", "Default", ".", "edns0", "", false, uint8(25))
	f.Fuzz(func(t *testing.T, node, policy, search, optName, optValue string, hostNet bool, minor uint8) {
		k := testNode().Kubelet
		k.ResolvConf.Data = []byte(node)
		k.Version = model.V(1, int(minor%40), 0)
		pod := &corev1.Pod{Spec: corev1.PodSpec{DNSPolicy: corev1.DNSPolicy(policy), HostNetwork: hostNet,
			DNSConfig: &corev1.PodDNSConfig{Nameservers: []string{"9.9.9.9", node}, Searches: []string{search, search + "x"},
				Options: []corev1.PodDNSConfigOption{{Name: optName, Value: &optValue}, {Name: optName}}},
			Containers: []corev1.Container{{Name: "c"}}}}
		pod.Namespace = "ns"
		d, err := k.PodDNSConfig(pod)
		if err != nil {
			return
		}
		paths, chars, _ := k.SearchLimits()
		if len(d.Servers) > MaxNameservers || len(d.Searches) > paths || len(joinValues(d.Searches)) > chars {
			t.Fatalf("limits broken: %d servers, %d searches, %d chars", len(d.Servers), len(d.Searches), len(joinValues(d.Searches)))
		}
		for _, s := range d.Searches {
			if len(s.Value) > MaxSearchEntry {
				t.Fatalf("search entry of %d characters kept", len(s.Value))
			}
		}
		_ = d.ResolvConf()
		h := hostsFor(pod, &pod.Spec.Containers[0], []string{"10.0.0.1"}, "cluster.local", model.File{Data: []byte(node)}, "")
		_ = h.Content()
	})
}

// FuzzNodeFacts parses arbitrary node facts and applies them.
func FuzzNodeFacts(f *testing.F) {
	f.Add([]byte(`{"schema_version":1,"node":"n","files":{"/etc/resolv.conf":{"path":"/etc/resolv.conf","content":"nameserver 1.1.1.1"}},"kubelet":{"resolvConf":"","clusterDNS":["x","10.0.0.1"]},"interfaces":[{"prefix":"::1/128"}],"disable_ipv6":"absent","static_pods":[{"path":"a","content":"kind: Pod"}]}`))
	f.Add([]byte(`{"schema_version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		nf, err := ParseNodeFacts(data)
		if err != nil {
			return
		}
		n := nf.Apply(testNode())
		_ = n.Kubelet
		_ = nf.StaticPodWorkloads()
	})
}

// FuzzNamesAndFlags: env values and apiserver flags of any shape.
func FuzzNamesAndFlags(f *testing.F) {
	f.Add("DB_URL", "postgres://db:5432/x", "--bind-address=0.0.0.0")
	f.Add("X_HOST", "a b,c;d:99", "--secure-port")
	f.Fuzz(func(t *testing.T, name, value, arg string) {
		c := &corev1.Container{Env: []corev1.EnvVar{{Name: name, Value: value}}, Command: []string{"kube-apiserver", arg, value}}
		for _, n := range NamesFromEnv(c) {
			if n.Name == "" || len(n.Name) > 253 {
				t.Fatalf("bad name %q", n.Name)
			}
		}
		if fl, err := ParseAPIServerFlags(c); err == nil {
			_ = LoopbackHost(model.Version{}, fl, []IfAddr{{Prefix: netip.MustParsePrefix("127.0.0.1/8")}}, IPv6Off)
		}
		_, _ = VersionFromImage(value)
	})
}
