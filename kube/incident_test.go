package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/nsscope/nsscope/model"
)

// incidentNode is the incident's node: IPv6 disabled by sysctl (no ::1 on
// lo), three nameservers that drop every query, localhost in /etc/hosts.
func incidentNode(t testing.TB, resolv string, ipJSON string, st IPv6State) Node {
	t.Helper()
	n := loadNode(t, resolv, "hosts-typical")
	data, err := os.ReadFile(filepath.Join("testdata", ipJSON))
	if err != nil {
		t.Fatal(err)
	}
	as, err := ParseIPJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	n.Addrs, n.IPv6 = as, st
	return n
}

func alpineImage(nsswitch string) ImageFunc {
	return func(*corev1.Pod, *corev1.Container) Image {
		f := model.File{Path: "/etc/nsswitch.conf", Origin: "alpine-3.13:/etc/nsswitch.conf", Missing: true}
		if nsswitch != "" {
			f = model.File{Path: "/etc/nsswitch.conf", Origin: "image:/etc/nsswitch.conf", Data: []byte(nsswitch)}
		}
		return Image{NSSwitch: f, Source: "test image (Alpine 3.13 base)"}
	}
}

// TestIncident predicts the incident's start-up with the real model and
// each documented fix.
func TestIncident(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "incident", "kube-apiserver.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := Decode("kube-apiserver.yaml", data)
	if len(dec.Errors) != 0 || len(dec.Workloads) != 1 {
		t.Fatalf("decode: %v", dec.Errors)
	}
	w := dec.Workloads[0]
	for _, tc := range []struct {
		name     string
		node     Node
		nsswitch string
		fails    bool
		summary  string
		dial     time.Duration
		queries  int
	}{
		{"incident", incidentNode(t, "incident-3-silent.conf", "ip-addr-ipv6-off.json", IPv6Off), "", true,
			`exits 33 s after start: Unable to perform initial IP allocation check: unable to refresh the service IP block: Get "https://localhost:6443/api/v1/services": dial tcp: lookup localhost: i/o timeout (12 DNS queries)`, 30 * time.Second, 12},
		{"fix: ::1 back on lo", incidentNode(t, "incident-3-silent.conf", "ip-addr-ipv6-on.json", IPv6On), "", false,
			"safe: the loopback client dials https://[::1]:6443, an address; no name lookup happens; ready 4.5 s after start", 0, 0},
		{"fix: nsswitch.conf added", incidentNode(t, "incident-3-silent.conf", "ip-addr-ipv6-off.json", IPv6Off), "hosts: files dns\n", false,
			"safe: localhost resolves from hosts after 0 s (0 DNS queries), within the 30 s dial timeout; ready 4.5 s after start", 0, 0},
		{"fix: 2 nameservers", incidentNode(t, "incident-2-silent.conf", "ip-addr-ipv6-off.json", IPv6Off), "", false,
			"ready 24.5 s after start: the loopback client waits for localhost to resolve (8 DNS queries)", 20 * time.Second, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAnalyzer(Options{Predict: model.Predict, Image: alpineImage(tc.nsswitch), Names: []string{"localhost"}})
			cs := a.Workload(w, tc.node)
			if len(cs) != 1 {
				t.Fatalf("%d containers", len(cs))
			}
			c := cs[0]
			if c.StartErr != "" {
				t.Fatal(c.StartErr)
			}
			s := c.Startup
			if s == nil {
				t.Fatal("no start-up prediction")
			}
			if s.Fails != tc.fails || s.Summary != tc.summary || s.DialTime != tc.dial || s.Queries != tc.queries {
				t.Errorf("got fails=%v dial=%s queries=%d\n  %s\nwant fails=%v dial=%s queries=%d\n  %s", s.Fails, s.DialTime, s.Queries, s.Summary, tc.fails, tc.dial, tc.queries, tc.summary)
				for _, r := range s.Reasons {
					t.Log(r)
				}
			}
			if tc.fails {
				chain := strings.Join(s.Reasons, "\n")
				for _, want := range []string{"hostNetwork pod with dnsPolicy ClusterFirst", "listener [::]", "host localhost", "dns,files", "Fatalf"} {
					if !strings.Contains(chain, want) {
						t.Errorf("reason chain lacks %q:\n%s", want, chain)
					}
				}
			}
		})
	}
}

// TestAPIServers checks what the apiserver verb reports: only the
// kube-apiserver containers, and remedies only for a start-up that fails,
// attached to its critical finding.
func TestAPIServers(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "incident", "kube-apiserver.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := Decode("kube-apiserver.yaml", data)
	other := StaticAPIServer("0.0.0.0", DefaultSecurePort, "kube-apiserver:v1.20.15")
	other.Pod.Spec.Containers[0] = corev1.Container{Name: "sidecar", Image: "busybox", Command: []string{"sleep", "1d"}}
	ws := append(dec.Workloads, other)
	for _, tc := range []struct {
		name  string
		node  Node
		fails bool
	}{
		{"incident", incidentNode(t, "incident-3-silent.conf", "ip-addr-ipv6-off.json", IPv6Off), true},
		{"::1 on lo", incidentNode(t, "incident-3-silent.conf", "ip-addr-ipv6-on.json", IPv6On), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAnalyzer(Options{Predict: model.Predict, Image: alpineImage(""), Names: []string{}})
			cs, fs, fixes := a.APIServers(ws, tc.node)
			if len(cs) != 1 || cs[0].Startup == nil {
				t.Fatalf("got %d containers, want the one kube-apiserver with a start-up", len(cs))
			}
			if got := cs[0].Startup.Fails; got != tc.fails {
				t.Fatalf("fails = %v, want %v", got, tc.fails)
			}
			if tc.fails != (len(fixes[cs[0].Subject]) > 0) {
				t.Errorf("fails=%v but %d remedies", tc.fails, len(fixes[cs[0].Subject]))
			}
			attached := 0
			for _, f := range fs {
				attached += len(f.Fixes)
			}
			if attached != len(fixes[cs[0].Subject]) {
				t.Errorf("%d remedies attached to findings, want %d", attached, len(fixes[cs[0].Subject]))
			}
		})
	}
}
