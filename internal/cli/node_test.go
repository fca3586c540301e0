package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/report"
)

// fakeNodeRoot builds a node's root: /etc/resolv.conf an absolute symbolic
// link to systemd-resolved's stub file (resolved inside the root), the
// kubelet config pointing at the upstream file with three nameservers, the
// incident's kube-apiserver static pod, and a proc dir with IPv6 disabled.
func fakeNodeRoot(t *testing.T) (root, proc string) {
	t.Helper()
	root = t.TempDir()
	w := func(p, content string) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w("etc/hosts", "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n")
	w("run/systemd/resolve/stub-resolv.conf", "nameserver 127.0.0.53\noptions edns0 trust-ad\n")
	w("run/systemd/resolve/resolv.conf", "nameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 192.0.2.55\n")
	if err := os.Symlink("/run/systemd/resolve/stub-resolv.conf", filepath.Join(root, "etc", "resolv.conf")); err != nil {
		t.Fatal(err)
	}
	w("etc/hostname", "cp-9\n")
	w("var/lib/kubelet/config.yaml", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nclusterDNS: [10.96.0.10]\nclusterDomain: cluster.local\nresolvConf: /run/systemd/resolve/resolv.conf\n")
	data, err := os.ReadFile(kubeTD("incident", "kube-apiserver.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	w("etc/kubernetes/manifests/kube-apiserver.yaml", string(data))
	w("etc/kubernetes/manifests/.swp", "ignored")
	// A link escaping the root must stay inside it.
	if err := os.Symlink("../../../../../etc/passwd", filepath.Join(root, "etc", "nsswitch.conf")); err != nil {
		t.Fatal(err)
	}
	proc = t.TempDir()
	p := filepath.Join(proc, "sys", "net", "ipv6", "conf", "all")
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "disable_ipv6"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, proc
}

// TestNodeToCluster: `nsscope node` reports the facts of a node root and
// `nsscope cluster --node-facts` consumes them: the node's static
// kube-apiserver (no mirror pod in the list) is found failing.
func TestNodeToCluster(t *testing.T) {
	t.Parallel()
	root, proc := fakeNodeRoot(t)
	facts := t.TempDir()
	out, stderr, code := podRun(t, "", "node", "--root", root, "--proc", proc, "--ip-addr", kubeTD("ip-addr-ipv6-off.json"), "--output", filepath.Join(facts, "cp-9.json"))
	if code != 0 || out != "" {
		t.Fatalf("node: exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	data, err := os.ReadFile(filepath.Join(facts, "cp-9.json"))
	if err != nil {
		t.Fatal(err)
	}
	nf, err := kube.ParseNodeFacts(data)
	if err != nil {
		t.Fatal(err)
	}
	if nf.Node != "cp-9" || nf.DisableIPv6 != "1" || len(nf.StaticPods) != 1 || nf.Kubelet == nil || *nf.Kubelet.ResolvConf != "/run/systemd/resolve/resolv.conf" {
		t.Errorf("facts %+v", nf)
	}
	if rc := nf.Files["/etc/resolv.conf"]; rc.Target != "/run/systemd/resolve/stub-resolv.conf" || !strings.Contains(string(rc.Data), "127.0.0.53") {
		t.Errorf("resolv.conf %+v", rc)
	}
	if ns := nf.Files["/etc/nsswitch.conf"]; !ns.Missing || len(ns.Data) != 0 {
		t.Errorf("a link out of the root was followed: %+v", ns)
	}
	// Compact output is one line.
	out, _, code = podRun(t, "", "node", "--root", root, "--proc", proc, "--node-name", "x", "--ip-addr", kubeTD("ip-addr-ipv6-off.json"), "--compact")
	if code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("compact: exit %d, %d lines", code, strings.Count(out, "\n"))
	}

	pods := filepath.Join(t.TempDir(), "pods.json")
	if err := os.WriteFile(pods, []byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"shop"},"spec":{"nodeName":"cp-9","containers":[{"name":"web","image":"shop/web:1"}]},"status":{"podIP":"10.244.0.5"}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = podRun(t, "", "cluster", "--pods-file", pods, "--node-facts-dir", facts, "--format", "json", "--no-cache")
	if code != 1 {
		t.Fatalf("cluster: exit %d, stderr %s\n%s", code, stderr, out)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, f := range rep.Findings {
		if f.RuleID == report.RuleAPIServerLoopback {
			found = true
			if f.Severity != report.Critical || f.Subject != "kube-system/kube-apiserver-cp-9/kube-apiserver" || !strings.Contains(f.Message, "exits 33 s after start") {
				t.Errorf("apiserver finding %+v", f)
			}
		}
	}
	if !found {
		t.Errorf("no apiserver finding:\n%s", out)
	}
}

func TestNodeAndClusterBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"schema_version": 99, "node": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"node: root missing", []string{"node", "--root", filepath.Join(dir, "none")}, "--root"},
		{"node: root is a file", []string{"node", "--root", bad}, "not a directory"},
		{"node: argument", []string{"node", "extra"}, "unexpected argument"},
		{"node: bad ip json", []string{"node", "--root", dir, "--node-name", "n", "--ip-addr", bad}, "not `ip -j addr` output"},
		{"cluster: -A and -n", []string{"cluster", "-A", "-n", "x"}, "contradict"},
		{"cluster: pods-file and context", []string{"cluster", "--pods-file", bad, "--context", "c"}, "contradict"},
		{"cluster: bad facts", []string{"cluster", "--pods-file", bad, "--node-facts", bad}, "schema_version 99"},
		{"cluster: no kubeconfig", []string{"cluster", "--kubeconfig", filepath.Join(dir, "none"), "--no-cache"}, "kubeconfig"},
		{"cluster: pods-file not pods", []string{"cluster", "--pods-file", kubeTD("resolvconf", "none-policy.yaml"), "--node-facts", filepath.Join(dir, "nothing")}, "--node-facts"},
		{"cluster: bad format", []string{"cluster", "--format", "xml"}, "--format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, code := podRun(t, "", tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q, want 2 and %q", code, stderr, tc.stderr)
			}
		})
	}
}
