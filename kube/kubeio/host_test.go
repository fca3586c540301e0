package kubeio

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/kube"
)

// writeTree writes files (path → content) under a new temp root.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestHostNode: on a node, the node is what its files say (the
// incident's three nameservers, IPv6 off), cited by path, never a typical
// node; the kubelet's choice of --resolv-conf follows its config, then
// systemd-resolved's upstream file behind the stub, then /etc/resolv.conf.
func TestHostNode(t *testing.T) {
	t.Parallel()
	three := "nameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 192.0.2.55\n"
	for _, tc := range []struct {
		name     string
		files    map[string]string
		wantFile string
		wantWhy  string
	}{
		{"plain", map[string]string{"etc/resolv.conf": three}, "/etc/resolv.conf", "kubelet's default --resolv-conf"},
		{"resolved stub", map[string]string{"etc/resolv.conf": "nameserver 127.0.0.53\noptions edns0\n", "run/systemd/resolve/resolv.conf": three},
			"/run/systemd/resolve/resolv.conf", "systemd-resolved's upstream file"},
		{"stub without upstream", map[string]string{"etc/resolv.conf": "nameserver 127.0.0.53\n"}, "/etc/resolv.conf", "kubelet's default"},
		{"kubelet config", map[string]string{"etc/resolv.conf": "nameserver 127.0.0.53\n", "run/systemd/resolve/resolv.conf": "nameserver 9.9.9.9\n",
			"var/lib/kubelet/config.yaml": "resolvConf: /etc/kubelet-resolv.conf\nclusterDNS: [10.32.0.10]\n", "etc/kubelet-resolv.conf": three},
			"/etc/kubelet-resolv.conf", "sets resolvConf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.files["etc/hosts"] = "127.0.0.1 localhost\n"
			root := writeTree(t, tc.files)
			proc := writeTree(t, map[string]string{kube.PathDisableIPv6: "1\n"})
			spec := NodeSpec{Host: &Host{Root: root, Proc: proc, Name: "cp-1", Addrs: []kube.IfAddr{}}}
			n, assumed, err := spec.Node()
			if err != nil {
				t.Fatal(err)
			}
			if n.Kubelet.ResolvConfUnknown != "" || n.HostsUnknown != "" {
				t.Errorf("node files unknown: %q %q", n.Kubelet.ResolvConfUnknown, n.HostsUnknown)
			}
			if n.Kubelet.ResolvConf.Path != tc.wantFile || n.Kubelet.ResolvConf.Name() != "cp-1:"+tc.wantFile {
				t.Errorf("resolv.conf %s (%s), want %s", n.Kubelet.ResolvConf.Path, n.Kubelet.ResolvConf.Name(), tc.wantFile)
			}
			if n.IPv6 != kube.IPv6Off {
				t.Errorf("IPv6 %s, want off (disable_ipv6=1)", n.IPv6)
			}
			all := strings.Join(assumed, "\n")
			if !strings.Contains(all, "this host's "+tc.wantFile) || !strings.Contains(all, tc.wantWhy) || !strings.Contains(all, "disable_ipv6: 1") {
				t.Errorf("assumptions do not cite %s (%s):\n%s", tc.wantFile, tc.wantWhy, all)
			}
			if strings.Contains(all, "typical") {
				t.Errorf("assumptions invent a typical node:\n%s", all)
			}
		})
	}
}

// TestRemoteNodeUnknown: a node nsscope is not on, with no facts, has
// unknown files, and a hostNetwork pod on it cannot be derived.
func TestRemoteNodeUnknown(t *testing.T) {
	t.Parallel()
	n, assumed, err := NodeSpec{}.Node()
	if err != nil {
		t.Fatal(err)
	}
	if n.Kubelet.ResolvConfUnknown == "" || n.HostsUnknown == "" || !strings.Contains(strings.Join(assumed, "\n"), "unknown") {
		t.Fatalf("remote node without facts is known: %+v %q", n.Kubelet, assumed)
	}
	pod := kube.AssumedPod("", true)
	if _, err := n.PodDNS(pod); err == nil {
		t.Error("hostNetwork pod on an unknown node derived")
	} else if u := (*kube.UnknownError)(nil); !errors.As(err, &u) {
		t.Errorf("error %v is not an UnknownError", err)
	}
	if _, err := n.PodDNS(kube.AssumedPod("", false)); err != nil {
		t.Errorf("cluster DNS pod on an unknown node: %v", err)
	}
}

// TestInspectImagesCancel: cancelling stops InspectImages even while the
// inspections ignore the context (a fetch stuck in a reader that never
// checks it), so Ctrl-C ends a cluster scan.
func TestInspectImagesCancel(t *testing.T) {
	t.Parallel()
	stuck := make(chan struct{})
	defer close(stuck)
	started := make(chan struct{}, 64)
	insp := func(ctx context.Context, key, ref string) (*kube.ImageFacts, error) {
		started <- struct{}{}
		<-stuck // ignores ctx
		return nil, errors.New("released")
	}
	var groups []kube.ImageGroup
	for i := range 3 * InspectParallel {
		groups = append(groups, kube.ImageGroup{Key: digest(i), Ref: "img"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := InspectImages(ctx, insp, groups)
		done <- err
	}()
	for range InspectParallel {
		<-started // the semaphore is full, the next image waits
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("InspectImages did not return after cancel")
	}
}

// A kubelet config with a value of the wrong kind is a note naming the
// JSON kinds and the field, never Go types.
func TestKubeletConfigOfWrongKind(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{"var/lib/kubelet/config.yaml": "clusterDNS: 10.32.0.10\n"})
	nf := CollectNodeFacts(os.DirFS(root), "n1", []kube.IfAddr{})
	all := strings.Join(nf.Notes, "\n")
	if !strings.Contains(all, "a JSON string where an array is expected, at clusterDNS") || strings.Contains(all, "Go ") {
		t.Errorf("notes:\n%s", all)
	}
}
