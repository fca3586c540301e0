package kube

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/nsscope/nsscope/internal/golden"
	"github.com/nsscope/nsscope/model"
)

// goldenCase is one kubelet situation of libc-k8s-resolver.md part B.
type goldenCase struct {
	name     string
	manifest string
	node     string // file under testdata/nodes ("" = typical.conf)
	hosts    string // node /etc/hosts under testdata/nodes ("" = hosts-typical)
	tweak    func(k *Kubelet)
}

func goldenCases() []goldenCase {
	tru, fals := true, false
	v := func(s string) func(k *Kubelet) {
		return func(k *Kubelet) { k.Version, _ = model.ParseVersion(s) }
	}
	return []goldenCase{
		{name: "cluster-first", manifest: "cluster-first.yaml"},
		{name: "policy-unset", manifest: "policy-unset.yaml"},
		{name: "invalid-policy", manifest: "invalid-policy.yaml"},
		{name: "hostnet-cluster-first", manifest: "hostnet-cluster-first.yaml", node: "incident-3-silent.conf"},
		{name: "hostnet-cluster-first-with-hostnet", manifest: "hostnet-cluster-first-with-hostnet.yaml", node: "incident-3-silent.conf"},
		{name: "default-policy-parse", manifest: "default-policy.yaml", node: "parse.conf"},
		{name: "cluster-first-parse", manifest: "cluster-first.yaml", node: "parse.conf"},
		{name: "none-policy", manifest: "none-policy.yaml"},
		{name: "none-without-config", manifest: "none-without-config.yaml"},
		{name: "dnsconfig-merge", manifest: "dnsconfig-merge.yaml"},
		{name: "nameserver-limit", manifest: "nameserver-limit.yaml", node: "parse.conf"},
		{name: "search-paths-1.21", manifest: "search-limit.yaml", node: "long-search.conf", tweak: v("1.21")},
		{name: "search-paths-1.25", manifest: "search-limit.yaml", node: "long-search.conf", tweak: v("1.25.3")},
		{name: "search-paths-1.25-gate-on", manifest: "search-limit.yaml", node: "long-search.conf", tweak: func(k *Kubelet) { k.Version = model.V(1, 25, 3); k.ExpandedDNSConfig = &tru }},
		{name: "search-paths-1.26", manifest: "search-limit.yaml", node: "long-search.conf", tweak: v("1.26.0")},
		{name: "search-paths-1.28-gate-off", manifest: "search-limit.yaml", node: "long-search.conf", tweak: func(k *Kubelet) { k.Version = model.V(1, 28, 0); k.ExpandedDNSConfig = &fals }},
		{name: "search-chars-1.21", manifest: "cluster-first.yaml", node: "long-chars.conf", tweak: v("1.21.14")},
		{name: "search-chars-1.28", manifest: "cluster-first.yaml", node: "long-chars.conf", tweak: v("1.28.0")},
		{name: "search-long-entry", manifest: "cluster-first.yaml", node: "long-entry.conf"},
		{name: "no-cluster-dns", manifest: "cluster-first.yaml", tweak: func(k *Kubelet) { k.ClusterDNS = nil }},
		{name: "no-cluster-domain", manifest: "cluster-first.yaml", tweak: func(k *Kubelet) { k.ClusterDomain = "" }},
		{name: "resolv-conf-empty-default", manifest: "default-policy.yaml", tweak: func(k *Kubelet) {
			k.ResolvConfDisabled = true
			k.NodeIPs = []netip.Addr{netip.MustParseAddr("10.0.0.10"), netip.MustParseAddr("fd00::10")}
		}},
		{name: "resolv-conf-empty-cluster", manifest: "cluster-first.yaml", tweak: func(k *Kubelet) { k.ResolvConfDisabled = true }},
		{name: "node-file-missing", manifest: "cluster-first.yaml", tweak: func(k *Kubelet) { k.ResolvConf.Missing = true; k.ResolvConf.Data = nil }},
		{name: "node-file-bad-nameserver", manifest: "cluster-first.yaml", node: "bad-nameserver.conf"},
		{name: "hostaliases", manifest: "hostaliases.yaml"},
		{name: "hostnet-hostaliases", manifest: "hostnet-hostaliases.yaml", hosts: "hosts-no-localhost"},
	}
}

func loadNode(t testing.TB, conf, hosts string) Node {
	t.Helper()
	if conf == "" {
		conf = "typical.conf"
	}
	if hosts == "" {
		hosts = "hosts-typical"
	}
	n := testNode()
	data, err := os.ReadFile(filepath.Join("testdata", "nodes", conf))
	if err != nil {
		t.Fatal(err)
	}
	n.Kubelet.ResolvConf = model.File{Path: "/etc/resolv.conf", Origin: conf, Data: data}
	hdata, err := os.ReadFile(filepath.Join("testdata", "nodes", hosts))
	if err != nil {
		t.Fatal(err)
	}
	n.Hosts = model.File{Path: "/etc/hosts", Origin: hosts, Data: hdata}
	n.Name = "node-1"
	return n
}

// TestResolvConfGolden derives every part-B case and compares the
// resolvconf and hosts renderings and the explained derivation with
// testdata/resolvconf/<case>.golden (go test -update rewrites them).
func TestResolvConfGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			node := loadNode(t, tc.node, tc.hosts)
			if tc.tweak != nil {
				tc.tweak(&node.Kubelet)
			}
			data, err := os.ReadFile(filepath.Join("testdata", "resolvconf", tc.manifest))
			if err != nil {
				t.Fatal(err)
			}
			dec := Decode(tc.manifest, data)
			if len(dec.Errors) > 0 {
				t.Fatalf("decode: %v", dec.Errors)
			}
			a := NewAnalyzer(Options{})
			var cs []*Container
			for _, w := range dec.Workloads {
				cs = append(cs, a.Workload(w, node)...)
			}
			var b bytes.Buffer
			b.WriteString("== resolvconf ==\n")
			if err := WriteResolvConf(&b, cs); err != nil {
				t.Fatal(err)
			}
			b.WriteString("== hosts ==\n")
			if err := WriteHosts(&b, cs); err != nil {
				t.Fatal(err)
			}
			b.WriteString("== derivation ==\n")
			for _, c := range cs {
				if err := WriteDerivation(&b, c); err != nil {
					t.Fatal(err)
				}
			}
			compareGolden(t, filepath.Join("testdata", "resolvconf", tc.name+".golden"), b.Bytes())
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	golden.Check(t, path, got)
}
