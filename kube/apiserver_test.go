package kube

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/nsscope/nsscope/model"
)

func addrs(ss ...string) []IfAddr {
	var out []IfAddr
	for _, s := range ss {
		out = append(out, IfAddr{Interface: "lo", Prefix: netip.MustParsePrefix(s)})
	}
	return out
}

func TestLoopbackHost(t *testing.T) {
	t.Parallel()
	both := addrs("127.0.0.1/8", "::1/128", "10.0.0.10/24")
	v4only := addrs("127.0.0.1/8", "10.0.0.10/24")
	v6first := addrs("::1/128", "127.0.0.1/8")
	def := APIServerFlags{BindAddress: "0.0.0.0", SecurePort: 6443}
	bind := func(a string) APIServerFlags {
		return APIServerFlags{BindAddress: a, BindAddressSet: true, SecurePort: 6443}
	}
	for _, tc := range []struct {
		name     string
		v        string
		f        APIServerFlags
		addrs    []IfAddr
		st       IPv6State
		host     string
		listener string
	}{
		{"1.6 plain localhost", "1.6.13", def, both, IPv6On, "localhost", "0.0.0.0:6443"},
		{"1.6 concrete bind", "1.6.13", bind("10.0.0.10"), both, IPv6On, "10.0.0.10", "10.0.0.10:6443"},
		{"1.7 first loopback any family", "1.7.0", def, v6first, IPv6On, "::1", "0.0.0.0:6443"},
		{"1.8 ipv6 off", "1.8.15", def, both, IPv6Off, "127.0.0.1", "0.0.0.0:6443"},
		{"1.8 no loopback at all", "1.8.15", def, addrs("10.0.0.10/24"), IPv6On, "localhost", "0.0.0.0:6443"},
		{"1.8 bind :: as given", "1.8.15", bind("::"), both, IPv6On, "::", "[::]:6443"},
		{"1.9 listener [::], any family", "1.9.0", def, both, IPv6Off, "127.0.0.1", "[::]:6443"},
		{"1.11 listener [::], any family", "1.11.10", def, both, IPv6On, "127.0.0.1", "[::]:6443"},
		{"1.12 family must match, ::1 present", "1.12.3", def, both, IPv6On, "::1", "[::]:6443"},
		{"1.12 family must match, ipv6 off", "1.12.3", def, both, IPv6Off, "localhost", "[::]:6443"},
		{"1.20 incident", "1.20.15", def, v4only, IPv6On, "localhost", "[::]:6443"},
		{"1.20 ipv6 absent: listener is IPv4", "1.20.15", def, both, IPv6Absent, "127.0.0.1", "0.0.0.0:6443"},
		{"1.20 bind 127.0.0.1", "1.20.15", bind("127.0.0.1"), v4only, IPv6On, "127.0.0.1", "127.0.0.1:6443"},
		{"1.20 bind node IP", "1.20.15", bind("10.0.0.10"), v4only, IPv6On, "10.0.0.10", "10.0.0.10:6443"},
		{"1.20 bind ::", "1.20.15", bind("::"), both, IPv6Off, "localhost", "[::]:6443"},
		{"current ipv6 off", "", def, both, IPv6Off, "localhost", "[::]:6443"},
		{"current ipv6 on", "", def, both, IPv6On, "::1", "[::]:6443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v model.Version
			if tc.v != "" {
				v, _ = model.ParseVersion(tc.v)
			}
			lb := LoopbackHost(v, tc.f, tc.addrs, tc.st)
			if lb.Host != tc.host || lb.Listener != tc.listener {
				t.Errorf("host %q listener %q, want %q %q\nsteps: %+v", lb.Host, lb.Listener, tc.host, tc.listener, lb.Steps)
			}
			if lb.Lookup != (tc.host == "localhost") {
				t.Errorf("lookup %v for host %q", lb.Lookup, lb.Host)
			}
		})
	}
}

func TestParseAPIServerFlags(t *testing.T) {
	t.Parallel()
	c := &corev1.Container{Command: []string{"kube-apiserver", "--advertise-address=10.0.0.10", "--bind-address", "0.0.0.0", "--secure-port=8443", "--etcd-servers=https://127.0.0.1:2379"}}
	f, err := ParseAPIServerFlags(c)
	if err != nil {
		t.Fatal(err)
	}
	if f.BindAddress != "0.0.0.0" || !f.BindAddressSet || f.SecurePort != 8443 || f.AdvertiseAddress != "10.0.0.10" {
		t.Errorf("%+v", f)
	}
	if !IsAPIServer(c) {
		t.Error("not recognised as kube-apiserver")
	}
	for _, bad := range [][]string{{"kube-apiserver", "--bind-address=localhost"}, {"kube-apiserver", "--secure-port=http"}, {"kube-apiserver", "--bind-address"}} {
		if _, err := ParseAPIServerFlags(&corev1.Container{Command: bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	sh := &corev1.Container{Command: []string{"/bin/sh", "-c", "exec /usr/local/bin/kube-apiserver --bind-address=127.0.0.1 --secure-port 7443 \"$@\""}}
	if f, err := ParseAPIServerFlags(sh); err != nil || !IsAPIServer(sh) || f.BindAddress != "127.0.0.1" || f.SecurePort != 7443 {
		t.Errorf("sh -c: %+v %v %v", f, err, IsAPIServer(sh))
	}
	if !IsAPIServer(&corev1.Container{Image: "registry.k8s.io/kube-apiserver:v1.29.0"}) || IsAPIServer(&corev1.Container{Image: "nginx", Command: []string{"nginx"}}) {
		t.Error("image-based detection")
	}
}

func TestVersionFromImage(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"registry.k8s.io/kube-apiserver:v1.20.15":             "1.20.15",
		"k8s.gcr.io/kube-apiserver-amd64:v1.9.3":              "1.9.3",
		"my.reg:5000/kube-apiserver:v1.19.3-alpine@sha256:ab": "1.19.3",
		"my.reg:5000/kube-apiserver":                          "",
		"kube-apiserver:latest":                               "",
	} {
		v, ok := VersionFromImage(in)
		if (want == "") == ok || (ok && v.String() != want) {
			t.Errorf("%s: %v %v, want %q", in, v, ok, want)
		}
	}
	if g, _ := GoForKubernetes(model.V(1, 20, 15)); g.String() != "1.15" {
		t.Errorf("1.20 built with Go %s", g)
	}
	if g, _ := GoForKubernetes(model.V(1, 21, 0)); g.String() != "1.16" {
		t.Errorf("1.21 built with Go %s", g)
	}
}

// fakePredict stands in for the model where only the plumbing is tested:
// a name lookup that takes 10 s per nameserver (and fails when that
// reaches the deadline) when DNS is asked first.
func fakePredict(env model.Env, prog model.Program, req model.Request, sc model.Scenario) (*model.Prediction, error) {
	n := strings.Count(string(env.ResolvConf.Data), "nameserver ")
	dnsFirst := env.NSSwitch.Missing && prog.Impl == model.ImplGo && prog.Go.Version.Less(model.V(1, 16, 0))
	p := &model.Prediction{Program: prog, Request: req, AnsweredFrom: model.FromHosts, Order: "files,dns"}
	if !dnsFirst {
		return p, nil
	}
	p.Order = "dns,files"
	p.Queries = n * 4
	p.DNS = model.Seconds(time.Duration(n) * 10 * time.Second)
	p.Total = p.DNS
	if req.Deadline > 0 && p.Total >= req.Deadline {
		p.Total = req.Deadline
		p.AnsweredFrom = model.FromNone
		p.Error = "dial tcp: i/o timeout"
		p.DeadlineExceeded = true
	}
	return p, nil
}

func TestPredictStartupPlumbing(t *testing.T) {
	t.Parallel()
	env := model.Env{ResolvConf: model.File{Data: []byte("nameserver 1\nnameserver 2\nnameserver 3\n")}, NSSwitch: model.File{Missing: true}}
	prog, _, _ := ProgramForAPIServer(model.V(1, 20, 15))
	lb := LoopbackHost(model.V(1, 20, 15), APIServerFlags{BindAddress: "0.0.0.0", SecurePort: 6443}, addrs("127.0.0.1/8"), IPv6On)
	s, err := PredictStartup(model.V(1, 20, 15), lb, env, prog, SilentScenario(), fakePredict)
	if err != nil {
		t.Fatal(err)
	}
	// The fake lookup takes 30 s; the repair joins it when the server
	// serves (3 s) and its 30 s dial deadline passes first.
	if !s.Fails || s.FailsAt != 33*time.Second || !strings.HasPrefix(s.Summary, "exits 33 s after start: Unable to perform initial IP allocation check: unable to refresh the service IP block: Get \"https://localhost:6443/api/v1/services\": dial tcp: lookup localhost: i/o timeout") {
		t.Errorf("summary %q", s.Summary)
	}
	// 1.25+ waits up to a minute after the hooks start.
	s, _ = PredictStartup(model.V(1, 26, 0), lb, env, prog, SilentScenario(), fakePredict)
	if !s.Fails || s.FailsAt != 63*time.Second || !strings.Contains(s.Summary, "unable to perform initial IP and Port allocation check (timeout)") {
		t.Errorf("1.26: %q", s.Summary)
	}
	// A literal loopback needs no model.
	lb6 := LoopbackHost(model.V(1, 20, 15), APIServerFlags{BindAddress: "0.0.0.0", SecurePort: 6443}, addrs("127.0.0.1/8", "::1/128"), IPv6On)
	s, _ = PredictStartup(model.V(1, 20, 15), lb6, env, prog, SilentScenario(), nil)
	if s.Fails || !strings.HasPrefix(s.Summary, "safe: the loopback client dials https://[::1]:6443") {
		t.Errorf("::1: %q", s.Summary)
	}
}

func TestParseIPJSON(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "ip-addr-ipv6-off.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseIPJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if FormatAddrs(got) != "127.0.0.1/8 (lo), 10.0.0.10/24 (eth0)" || HasIPv6Loopback(got) {
		t.Errorf("got %s", FormatAddrs(got))
	}
	for _, bad := range []string{"", "{}", `[{"ifname":"lo","addr_info":[{"family":"inet","local":"x","prefixlen":8}]}]`, `[{"addr_info":[{"family":"inet6","local":"::1","prefixlen":200}]}]`} {
		if _, err := ParseIPJSON([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	// Errors name JSON kinds, never Go types.
	for bad, want := range map[string]string{
		`{}`:                "not `ip -j addr` output: a JSON object where an array is expected",
		`[{"ifname":5}]`:    "not `ip -j addr` output: a JSON number where a string is expected, at ifname",
		`[{"addr_info":1}]`: "not `ip -j addr` output: a JSON number where an array is expected, at addr_info",
	} {
		if _, err := ParseIPJSON([]byte(bad)); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", bad, err, want)
		}
	}
	// An explicit empty list is no interfaces, not "unknown" (nil, which
	// reads as this host's).
	if got, err := ParseIPJSON([]byte("[]")); err != nil || got == nil || len(got) != 0 {
		t.Errorf("[]: %#v, %v; want an empty, non-nil list", got, err)
	}
}

func FuzzParseIPJSON(f *testing.F) {
	f.Add([]byte(`[{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8},{"family":"inet6","local":"::1","prefixlen":128}]}]`))
	f.Add([]byte(`[{"addr_info":[{"family":"inet6","local":"fe80::1%eth0","prefixlen":64}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		as, err := ParseIPJSON(data)
		if err == nil {
			_ = LoopbackHost(model.Version{}, APIServerFlags{BindAddress: "0.0.0.0", SecurePort: 6443}, as, IPv6On)
		}
	})
}
