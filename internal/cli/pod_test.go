package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/internal/golden"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/report"
)

// kubeTestdata is the kube package's test data (manifests, node files).
const kubeTestdata = "../../kube/testdata"

func podRun(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb}, nil)
	return out.String(), errb.String(), code
}

func kubeTD(p ...string) string { return filepath.Join(append([]string{kubeTestdata}, p...)...) }

// nodeArgs are the flags that pin the node so results do not depend on
// this machine.
func podNodeArgs(conf string) []string {
	return []string{"--node-resolv-conf", kubeTD("nodes", conf), "--node-hosts", kubeTD("nodes", "hosts-typical"), "--ip-addr", kubeTD("ip-addr-ipv6-on.json")}
}

// TestPodResolvConfGolden runs `nsscope pod --format resolvconf` on every
// case of libc-k8s-resolver.md part B and compares with
// testdata/pod/<case>.resolvconf (go test -update rewrites them).
func TestPodResolvConfGolden(t *testing.T) {
	t.Parallel()
	rc := func(manifest, conf string, extra ...string) []string {
		a := append([]string{"pod", "--format", "resolvconf", "-f", kubeTD("resolvconf", manifest)}, podNodeArgs(conf)...)
		return append(a, extra...)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"cluster-first", rc("cluster-first.yaml", "typical.conf")},
		{"policy-unset", rc("policy-unset.yaml", "typical.conf")},
		{"invalid-policy", rc("invalid-policy.yaml", "typical.conf")},
		{"hostnet-cluster-first", rc("hostnet-cluster-first.yaml", "incident-3-silent.conf")},
		{"hostnet-cluster-first-with-hostnet", rc("hostnet-cluster-first-with-hostnet.yaml", "incident-3-silent.conf")},
		{"default-policy-parse", rc("default-policy.yaml", "parse.conf")},
		{"cluster-first-parse", rc("cluster-first.yaml", "parse.conf")},
		{"none-policy", rc("none-policy.yaml", "typical.conf")},
		{"dnsconfig-merge", rc("dnsconfig-merge.yaml", "typical.conf")},
		{"nameserver-limit", rc("nameserver-limit.yaml", "parse.conf")},
		{"search-paths-1.21", rc("search-limit.yaml", "long-search.conf", "--kubelet-version", "1.21.14")},
		{"search-paths-1.25", rc("search-limit.yaml", "long-search.conf", "--kubelet-version", "v1.25.3")},
		{"search-paths-1.25-gate-on", rc("search-limit.yaml", "long-search.conf", "--kubelet-version", "1.25.3", "--expanded-dns-config", "true")},
		{"search-paths-1.26", rc("search-limit.yaml", "long-search.conf", "--kubelet-version", "1.26.0")},
		{"search-chars-1.21", rc("cluster-first.yaml", "long-chars.conf", "--kubelet-version", "1.21.0")},
		{"search-chars-1.28", rc("cluster-first.yaml", "long-chars.conf", "--kubelet-version", "1.28.0")},
		{"search-long-entry", rc("cluster-first.yaml", "long-entry.conf")},
		{"no-cluster-dns", rc("cluster-first.yaml", "typical.conf", "--cluster-dns", "")},
		{"no-cluster-domain", rc("cluster-first.yaml", "typical.conf", "--cluster-domain", "")},
		{"two-cluster-dns", rc("cluster-first.yaml", "typical.conf", "--cluster-dns", "10.96.0.10,fd00::a")},
		{"resolv-conf-empty", []string{"pod", "--format", "resolvconf", "-f", kubeTD("resolvconf", "default-policy.yaml"), "--node-resolv-conf=", "--node-ip", "10.0.0.10,fd00::10", "--ip-addr", kubeTD("ip-addr-ipv6-on.json")}},
		{"node-file-bad-nameserver", rc("cluster-first.yaml", "bad-nameserver.conf")},
		{"all-cases-multi", []string{"pod", "--format", "resolvconf", "-f", kubeTD("resolvconf", "cluster-first.yaml"), "-f", kubeTD("resolvconf", "hostnet-cluster-first.yaml"), "--ip-addr", kubeTD("ip-addr-ipv6-on.json"), "--node-resolv-conf", kubeTD("nodes", "typical.conf")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The exit code reflects the lookups of the typical programs
			// (1 when Go 1.15 without nsswitch.conf fails); the file is
			// what is compared here.
			out, stderr, code := podRun(t, "", tc.args...)
			if code != 0 && code != 1 {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			podGolden(t, filepath.Join("testdata", "pod", tc.name+".resolvconf"), out)
		})
	}
}

func podGolden(t *testing.T, path, got string) {
	t.Helper()
	golden.Check(t, path, []byte(got))
}

// TestPodIncident is the incident through `nsscope pod` and `nsscope
// apiserver`: it fails at 30 s, and each documented fix makes it safe.
func TestPodIncident(t *testing.T) {
	t.Parallel()
	manifest := kubeTD("incident", "kube-apiserver.yaml")
	base := func(conf, ip string) []string {
		return []string{"-f", manifest, "--node-resolv-conf", kubeTD("nodes", conf), "--node-hosts", kubeTD("nodes", "hosts-typical"), "--ip-addr", kubeTD(ip)}
	}
	nss := filepath.Join(t.TempDir(), "nsswitch.conf")
	if err := os.WriteFile(nss, []byte("hosts: files dns\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"incident", base("incident-3-silent.conf", "ip-addr-ipv6-off.json"), 1,
			`kube-apiserver start-up: exits 33 s after start: Unable to perform initial IP allocation check: unable to refresh the service IP block: Get "https://localhost:6443/api/v1/services": dial tcp: lookup localhost: i/o timeout (12 DNS queries)`},
		{"incident, --ipv6 off on a host file with ::1", append(base("incident-3-silent.conf", "ip-addr-ipv6-on.json"), "--ipv6", "off"), 1,
			"exits 33 s after start"},
		{"::1 present", base("incident-3-silent.conf", "ip-addr-ipv6-on.json"), 0,
			"kube-apiserver start-up: safe: the loopback client dials https://[::1]:6443, an address; no name lookup happens"},
		{"nsswitch.conf added", append(base("incident-3-silent.conf", "ip-addr-ipv6-off.json"), "--nsswitch", nss), 0,
			"kube-apiserver start-up: safe: localhost resolves from hosts after 0 s (0 DNS queries), within the 30 s dial timeout"},
		{"2 nameservers", base("incident-2-silent.conf", "ip-addr-ipv6-off.json"), 0,
			"kube-apiserver start-up: ready 24.5 s after start: the loopback client waits for localhost to resolve (8 DNS queries)"},
		{"kubernetes 1.21 (Go 1.16)", append(base("incident-3-silent.conf", "ip-addr-ipv6-off.json"), "--kube-version", "1.21.0"), 0,
			"kube-apiserver start-up: safe: localhost resolves from hosts after 0 s"},
		{"--go 1.15 given explicitly", append(base("incident-3-silent.conf", "ip-addr-ipv6-off.json"), "--go", "1.15"), 1,
			"exits 33 s after start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, verb := range []string{"pod", "apiserver"} {
				out, stderr, code := podRun(t, "", append([]string{verb}, tc.args...)...)
				if code != tc.code {
					t.Errorf("%s: exit %d, want %d; stderr:\n%s\nstdout:\n%s", verb, code, tc.code, stderr, out)
				}
				if !strings.Contains(out, tc.want) {
					t.Errorf("%s: output lacks %q:\n%s", verb, tc.want, out)
				}
			}
		})
	}
	// ClusterFirstWithHostNet does not help (§0.7): the cluster DNS is as
	// silent, and the search list makes localhost four names.
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	withHostNet := filepath.Join(t.TempDir(), "apiserver.yaml")
	if err := os.WriteFile(withHostNet, []byte(strings.Replace(string(data), "  hostNetwork: true\n", "  hostNetwork: true\n  dnsPolicy: ClusterFirstWithHostNet\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := podRun(t, "", "apiserver", "-f", withHostNet, "--node-resolv-conf", kubeTD("nodes", "incident-3-silent.conf"), "--ip-addr", kubeTD("ip-addr-ipv6-off.json"))
	if code != 1 || !strings.Contains(out, "search kube-system.svc.cluster.local svc.cluster.local cluster.local") || !strings.Contains(out, "exits 33 s after start") || !strings.Contains(out, "DNS alone would take 40 s") {
		t.Errorf("ClusterFirstWithHostNet: exit %d\n%s", code, out)
	}
	// apiserver without a manifest, 1.26: the start-up waits up to a minute.
	out, _, code = podRun(t, "", "apiserver", "--kube-version", "1.26.3", "--go", "1.15", "--node-resolv-conf", kubeTD("nodes", "incident-3-silent.conf"), "--ip-addr", kubeTD("ip-addr-ipv6-off.json"))
	if code != 1 || !strings.Contains(out, `exits 63 s after start: PostStartHook "start-service-ip-repair-controllers" failed: unable to perform initial IP and Port allocation check (timeout)`) {
		t.Errorf("1.26: exit %d\n%s", code, out)
	}
	// The JSON report carries the remedies with their numbers.
	out, _, code = podRun(t, "", append([]string{"apiserver", "--format", "json"}, base("incident-3-silent.conf", "ip-addr-ipv6-off.json")...)...)
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("json: exit %d, %v\n%s", code, err, out)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].RuleID != "NSS101" || len(rep.Findings[0].Fixes) != 4 {
		t.Fatalf("findings %+v", rep.Findings)
	}
}

// TestPodBadInput: clear one-line errors naming the item, the rest still
// reported, exit 2, never a panic.
func TestPodBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mixed := filepath.Join(dir, "mixed.yaml")
	if err := os.WriteFile(mixed, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec: {containers: [{name: c, image: i}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: [\n---\napiVersion: x/v1\nkind: Thing\nmetadata: {name: t}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badFlags := filepath.Join(dir, "apiserver.yaml")
	if err := os.WriteFile(badFlags, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: kube-apiserver, namespace: kube-system}\nspec:\n  hostNetwork: true\n  containers:\n  - name: kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.20.15\n    command: [kube-apiserver, --bind-address=not-an-ip]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{"no manifest", "", []string{"pod"}, 2, "no manifest", ""},
		{"bad flag inside a manifest", "", []string{"pod", "-f", badFlags, "--node-resolv-conf", kubeTD("nodes", "typical.conf"), "--node-hosts", kubeTD("nodes", "hosts-typical")}, 2,
			`apiserver.yaml:1: container kube-apiserver: --bind-address="not-an-ip" is not an IP address`, "kube-system/kube-apiserver/kube-apiserver"},
		{"apiserver: bad flag inside a manifest", "", []string{"apiserver", "-f", badFlags, "--node-resolv-conf", kubeTD("nodes", "typical.conf"), "--node-hosts", kubeTD("nodes", "hosts-typical")}, 2,
			`--bind-address="not-an-ip" is not an IP address`, ""},
		{"missing file", "", []string{"pod", "-f", filepath.Join(dir, "nope.yaml")}, 2, "no such file", ""},
		{"bad format", "", []string{"pod", "-f", mixed, "--format", "xml"}, 2, "--format", ""},
		{"bad flag", "", []string{"pod", "--bogus"}, 2, "unknown flag --", ""},
		{"bad cluster dns", "", []string{"pod", "-f", mixed, "--cluster-dns", "ten"}, 2, "--cluster-dns", ""},
		{"bad kubelet version", "", []string{"pod", "-f", mixed, "--kubelet-version", "x"}, 2, "--kubelet-version", ""},
		{"bad ip json", "", []string{"pod", "-f", mixed, "--ip-addr", mixed}, 2, "not `ip -j addr` output", ""},
		{"bad ipv6", "", []string{"pod", "-f", mixed, "--ipv6", "maybe"}, 2, "--ipv6", ""},
		{"missing node file", "", []string{"pod", "-f", mixed, "--node-resolv-conf", filepath.Join(dir, "none.conf")}, 2, "--node-resolv-conf", ""},
		{"bad gate", "", []string{"pod", "-f", mixed, "--expanded-dns-config", "maybe"}, 2, "--expanded-dns-config", ""},
		{"bad deadline", "", []string{"pod", "-f", mixed, "--deadline", "-1s"}, 2, "--deadline", ""},
		{"bad image source", "", []string{"pod", "-f", mixed, "--image-source", "noequals"}, 2, "REF=TARGET", ""},
		{"mixed: errors named, rest reported", "", []string{"pod", "--format", "resolvconf", "-f", mixed, "--ip-addr", kubeTD("ip-addr-ipv6-on.json")}, 2,
			"mixed.yaml:6 (document 2): malformed YAML", "# default/ok/c\n"},
		{"stdin list with a broken item", `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c"}]}},{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"},"spec":{"containers":7}}]}`,
			[]string{"pod", "--format", "resolvconf", "-f", "-", "--ip-addr", kubeTD("ip-addr-ipv6-on.json")}, 2, `<stdin> items[1]: Pod "b": cannot decode`, "# default/a/c\n"},
		{"nothing in it", "# empty\n", []string{"pod", "-f", "-", "--ip-addr", kubeTD("ip-addr-ipv6-on.json")}, 2, "no pods or workloads", ""},
		{"apiserver without kube-apiserver", "", []string{"apiserver", "-f", kubeTD("resolvconf", "cluster-first.yaml"), "--ip-addr", kubeTD("ip-addr-ipv6-on.json")}, 2, "no kube-apiserver container", ""},
		{"apiserver flags with -f", "", []string{"apiserver", "-f", mixed, "--bind-address", "1.2.3.4"}, 2, "cannot be combined with -f", ""},
		{"apiserver without version", "", []string{"apiserver", "--ip-addr", kubeTD("ip-addr-ipv6-on.json")}, 2, "--kube-version", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, stderr, code := podRun(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, tc.stderr)
			}
			if tc.stdout != "" && !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout %q lacks %q", out, tc.stdout)
			}
			if strings.Contains(stderr, "internal error") {
				t.Errorf("panic: %s", stderr)
			}
		})
	}
}

// TestPodNamesFromEnv: the default names are localhost plus the Service
// names in the env, each with its cost.
func TestPodNamesFromEnv(t *testing.T) {
	t.Parallel()
	in := `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: shop/api:1
        env:
        - {name: DB_URL, value: "postgres://db.shop:5432/orders"}
        - {name: CACHE_HOST, value: redis}
        - {name: UPSTREAM, value: "http://pricing:8080/v1"}
        - {name: KUBERNETES_SERVICE_HOST, value: 10.96.0.1}
        - {name: GREETING, value: hello}
`
	out, stderr, code := podRun(t, in, "pod", "-f", "-", "--go", "1.21", "--nsswitch", "missing", "--ip-addr", kubeTD("ip-addr-ipv6-on.json"), "--node-resolv-conf", kubeTD("nodes", "typical.conf"))
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, out)
	}
	for _, want := range []string{"localhost  Go 1.21", "db.shop    Go 1.21", "redis      Go 1.21", "pricing    Go 1.21"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hello") || strings.Contains(out, "10.96.0.1 ") {
		t.Errorf("non-host env values taken as names:\n%s", out)
	}
}

// TestPodUnknownImage: a pod whose image was not inspected and whose
// programs no flag names is never critical, in pod and in cluster
// --pods-file: a warning names the missing input and the condition.
func TestPodUnknownImage(t *testing.T) {
	t.Parallel()
	pods := `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop"},"spec":{"containers":[{"name":"app","image":"alpine:3.13"}]},"status":{"podIP":"10.244.1.5"}}]}`
	for _, args := range [][]string{
		{"cluster", "--pods-file", "-", "--format", "json"},
		{"pod", "-f", "-", "--format", "json", "--node-resolv-conf", kubeTD("nodes", "incident-3-silent.conf"), "--node-hosts", kubeTD("nodes", "hosts-typical")},
	} {
		out, stderr, code := podRun(t, pods, args...)
		if code != 0 {
			t.Errorf("%s: exit %d, want 0 (no critical)\nstderr: %s", args[0], code, stderr)
		}
		r := jsonReport(t, out)
		if c := r.Counts(); c[report.Critical] != 0 || c[report.Warning] == 0 {
			t.Errorf("%s: counts %v, want no critical and a warning", args[0], c)
		}
		for _, f := range r.Findings {
			if f.Name == "localhost" && !strings.Contains(f.Message, "alpine:3.13 not inspected") {
				t.Errorf("%s: %s", args[0], f.Message)
			}
		}
	}
}

// TestPodReportLimit: a report format refuses, clearly and as bad input,
// a run larger than it can hold, instead of growing without bound.
func TestPodReportLimit(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	r := &podChecker{format: "json", out: &b, maxReport: 2, an: kube.NewAnalyzer(kube.Options{Names: []string{}})}
	dec := kube.DecodeEach("list.json", []byte(`{"apiVersion":"v1","kind":"PodList","items":[`+
		`{"metadata":{"name":"a"},"spec":{"containers":[{"name":"c"}]}},`+
		`{"metadata":{"name":"b"},"spec":{"containers":[{"name":"c"}]}},`+
		`{"metadata":{"name":"c"},"spec":{"containers":[{"name":"c"}]}}]}`), func(w *kube.Workload) { r.check(w, kube.UnknownNode("n", "test")) })
	if len(dec.Errors) > 0 {
		t.Fatal(dec.Errors)
	}
	var ee *ExitError
	if !errors.As(r.err, &ee) || ee.Code != ExitUsage || !strings.Contains(r.err.Error(), "more than 2 pods") {
		t.Errorf("err %v, want an exit-2 refusal naming the limit", r.err)
	}
}
