package model

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func resolvEnv(nsswitch, resolv string) Env {
	e := envWith(nsswitch, nsswitch == "")
	e.ResolvConf.Data = []byte(resolv)
	return e
}

func sc(kinds ...BehaviorKind) Scenario {
	var s Scenario
	for _, k := range kinds {
		s.Servers = append(s.Servers, Behavior{Kind: k})
	}
	return s
}

const (
	ns3    = "nameserver 10.222.0.3\nnameserver 10.222.0.4\nnameserver 10.222.0.5\n"
	kubeSr = "search kube-system.svc.cluster.local svc.cluster.local cluster.local\n"
)

// The formula validations of lab-experiments.md §6 (Go 1.26, hosts: dns files).
func TestGoTimelineMeasured(t *testing.T) {
	s := time.Second
	cases := []struct {
		name    string
		resolv  string
		sc      Scenario
		req     Request
		total   time.Duration
		queries int
		from    string
		err     string
	}{
		{"1ns t1 a1", kubeSr + "nameserver 10.222.0.3\noptions ndots:5 timeout:1 attempts:1\n", sc(Silent), Request{Name: "localhost"}, 4 * s, 8, "hosts", ""},
		{"3ns t1 a1", kubeSr + ns3 + "options ndots:5 timeout:1 attempts:1\n", sc(Silent), Request{Name: "localhost"}, 12 * s, 24, "hosts", ""},
		{"3ns t1 a2", kubeSr + ns3 + "options ndots:5 timeout:1 attempts:2\n", sc(Silent), Request{Name: "localhost"}, 24 * s, 48, "hosts", ""},
		{"2ns t2 a2", kubeSr + "nameserver 10.222.0.3\nnameserver 10.222.0.4\noptions ndots:5 timeout:2 attempts:2\n", sc(Silent), Request{Name: "localhost"}, 32 * s, 32, "hosts", ""},
		{"rotate", kubeSr + ns3 + "options ndots:5 timeout:1 attempts:1 rotate\n", sc(Silent), Request{Name: "localhost"}, 12 * s, 24, "hosts", ""},
		{"no search default", ns3, sc(Silent), Request{Name: "localhost"}, 30 * s, 12, "hosts", ""},
		{"ndots1 t2 a1", kubeSr + ns3 + "options ndots:1 timeout:2 attempts:1\n", sc(Silent), Request{Name: "localhost"}, 24 * s, 24, "hosts", ""},
		{"ns1 drops, others nxdomain", kubeSr + ns3 + "options ndots:5\n", sc(Silent, NXDomain, NXDomain), Request{Name: "localhost"}, 20 * s, 16, "hosts", ""},
		{"all servfail", kubeSr + ns3 + "options ndots:5\n", sc(ServFail), Request{Name: "localhost"}, 0, 48, "hosts", ""},
		{"nxdomain after 4s", kubeSr + "nameserver 10.222.0.3\noptions ndots:5\n", Scenario{Servers: []Behavior{{Kind: NXDomain, Delay: Seconds(4 * s)}}}, Request{Name: "localhost"}, 16 * s, 8, "hosts", ""},
		{"lookup-host 10s ctx", kubeSr + ns3 + "options ndots:5\n", sc(Silent), Request{Name: "localhost", Deadline: Seconds(10 * s)}, 10 * s, 4, "hosts", ""},
		{"dial 30s", ns3, sc(Silent), Request{Name: "localhost", Network: "tcp", Dial: true, Deadline: Seconds(30 * s)}, 30 * s, 12, "none", "dial tcp: lookup localhost: i/o timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Predict(resolvEnv("hosts: dns files\n", c.resolv), goProg("1.26.8", false), c.req, c.sc)
			if err != nil {
				t.Fatal(err)
			}
			if p.Total.Duration() != c.total || p.Queries != c.queries || p.AnsweredFrom != c.from || p.Error != c.err {
				t.Errorf("total=%s queries=%d from=%s err=%q; want %s %d %s %q", p.Total, p.Queries, p.AnsweredFrom, p.Error, c.total, c.queries, c.from, c.err)
			}
		})
	}
}

func TestGoQuerySequenceIncident(t *testing.T) {
	p, err := Predict(resolvEnv("", kubeSr+ns3+"options ndots:5\n"), goProg("1.15.15", false), Request{Name: "localhost"}, sc(Silent))
	if err != nil {
		t.Fatal(err)
	}
	if p.Queries != 48 || p.Total.Duration() != 120*time.Second || p.AnsweredFrom != FromHosts {
		t.Fatalf("queries=%d total=%s from=%s", p.Queries, p.Total, p.AnsweredFrom)
	}
	// Pairs to ns1 at 0, ns2 at 5, ns3 at 10, ns1 again at 15 ...
	want := []struct {
		at   time.Duration
		srv  string
		name string
	}{
		{0, "10.222.0.3:53", "localhost.kube-system.svc.cluster.local."},
		{5 * time.Second, "10.222.0.4:53", "localhost.kube-system.svc.cluster.local."},
		{10 * time.Second, "10.222.0.5:53", "localhost.kube-system.svc.cluster.local."},
		{15 * time.Second, "10.222.0.3:53", "localhost.kube-system.svc.cluster.local."},
		{30 * time.Second, "10.222.0.3:53", "localhost.svc.cluster.local."},
		{90 * time.Second, "10.222.0.3:53", "localhost."},
	}
	for _, w := range want {
		found := 0
		for _, e := range p.Exchanges {
			if e.Start.Duration() == w.at && e.Server == w.srv && e.Name == w.name {
				found++
			}
		}
		if found != 2 {
			t.Errorf("at %s to %s for %s: %d queries, want A+AAAA", w.at, w.srv, w.name, found)
		}
	}
	if p.Exchanges[0].EDNS {
		t.Errorf("Go 1.15 sends no EDNS(0)")
	}
}

func TestGoEraDetails(t *testing.T) {
	env := resolvEnv("hosts: dns files\n", "nameserver 10.0.0.1\noptions timeout:1 attempts:1\n")
	t.Run("1.17 one qtype for tcp4", func(t *testing.T) {
		for v, want := range map[string]int{"1.16.15": 2, "1.17.13": 1} {
			p, _ := Predict(env, goProg(v, false), Request{Name: "example.com", Network: "tcp4", Dial: true}, sc(NXDomain))
			if p.Queries != want {
				t.Errorf("%s: %d queries, want %d", v, p.Queries, want)
			}
		}
	})
	t.Run("1.18 deadline error text", func(t *testing.T) {
		for v, want := range map[string]string{"1.17.13": "dial tcp: i/o timeout", "1.18.10": "dial tcp: lookup example.com: i/o timeout"} {
			p, _ := Predict(env, goProg(v, false), Request{Name: "example.com", Network: "tcp", Dial: true, Deadline: Seconds(500 * time.Millisecond)}, sc(Silent))
			if p.Error != want || p.Total.Duration() != 500*time.Millisecond {
				t.Errorf("%s: %q at %s, want %q", v, p.Error, p.Total, want)
			}
		}
	})
	t.Run("1.19 EDNS0", func(t *testing.T) {
		for v, want := range map[string]bool{"1.18.10": false, "1.19.13": true} {
			p, _ := Predict(env, goProg(v, false), Request{Name: "example.com"}, sc(NXDomain))
			if p.Exchanges[0].EDNS != want {
				t.Errorf("%s: edns %v", v, p.Exchanges[0].EDNS)
			}
		}
		e := env
		e.Vars = map[string]string{"GODEBUG": "netedns0=0"}
		p, _ := Predict(e, goProg("1.26.8", false), Request{Name: "example.com"}, sc(NXDomain))
		if p.Exchanges[0].EDNS {
			t.Errorf("netedns0=0 ignored")
		}
	})
	t.Run("1.12 all-numeric name", func(t *testing.T) {
		for v, want := range map[string]int{"1.11.13": 2, "1.12.17": 0} {
			p, _ := Predict(env, goProg(v, false), Request{Name: "1234"}, sc(NXDomain))
			if p.Queries != want {
				t.Errorf("%s: %d queries, want %d", v, p.Queries, want)
			}
		}
	})
	t.Run("rooted localhost skips hosts", func(t *testing.T) {
		e := resolvEnv("hosts: files dns\n", "nameserver 10.0.0.1\n")
		p, _ := Predict(e, goProg("1.26.8", false), Request{Name: "localhost."}, sc(NXDomain))
		if p.AnsweredFrom != FromNone || p.Queries != 2 || !strings.Contains(p.Error, "no such host") {
			t.Errorf("from=%s queries=%d err=%q", p.AnsweredFrom, p.Queries, p.Error)
		}
	})
	t.Run("single-request doubles", func(t *testing.T) {
		e := resolvEnv("hosts: dns files\n", kubeSr+ns3+"options ndots:5 single-request\n")
		p, _ := Predict(e, goProg("1.26.8", false), Request{Name: "localhost"}, sc(Silent))
		if p.Total.Duration() != 240*time.Second {
			t.Errorf("total %s, want 240s", p.Total)
		}
	})
	t.Run("missing resolv.conf uses default servers", func(t *testing.T) {
		e := resolvEnv("hosts: dns files\n", "")
		e.ResolvConf = File{Path: PathResolvConf, Missing: true}
		p, _ := Predict(e, goProg("1.26.8", false), Request{Name: "example.com"}, sc(Refuse))
		if strings.Join(p.Servers, " ") != "127.0.0.1:53 [::1]:53" || p.Total != 0 || p.Queries != 8 {
			t.Errorf("servers=%v total=%s queries=%d", p.Servers, p.Total, p.Queries)
		}
	})
	t.Run("answer from DNS wins over hosts under dns,files", func(t *testing.T) {
		e := resolvEnv("", "nameserver 10.0.0.1\n")
		p, _ := Predict(e, goProg("1.15.15", false), Request{Name: "localhost"}, Scenario{Servers: []Behavior{{Kind: Answer, Addrs: []netip.Addr{netip.MustParseAddr("10.222.0.77")}}}})
		if p.AnsweredFrom != FromDNS || p.Addrs[0] != "10.222.0.77" {
			t.Errorf("from=%s addrs=%v", p.AnsweredFrom, p.Addrs)
		}
	})
	t.Run("search . dropped in 1.20", func(t *testing.T) {
		e := resolvEnv("hosts: dns\n", "search .\nnameserver 10.0.0.1\n")
		for v, want := range map[string]int{"1.19.13": 2, "1.20.14": 1} {
			p, _ := Predict(e, goProg(v, false), Request{Name: "foo"}, sc(NXDomain))
			if len(p.Candidates) != want {
				t.Errorf("%s: candidates %v", v, p.Candidates)
			}
		}
	})
}

func TestLibcModels(t *testing.T) {
	s := time.Second
	env := resolvEnv("", kubeSr+ns3+"options ndots:5\n")
	glibc := func(v string) Program {
		ver, _ := ParseVersion(v)
		return Program{Impl: ImplGlibc, Libc: Libc{Kind: "glibc", Version: ver}}
	}
	musl := func(v string) Program {
		ver, _ := ParseVersion(v)
		return Program{Impl: ImplMusl, Libc: Libc{Kind: "musl", Version: ver}}
	}
	cases := []struct {
		name    string
		prog    Program
		env     Env
		req     string
		sc      Scenario
		total   time.Duration
		queries int
		from    string
	}{
		{"glibc 2.36 localhost", glibc("2.36"), env, "localhost", sc(Silent), 0, 0, "hosts"},
		{"glibc 2.36 absent", glibc("2.36"), env, "kubernetes.default", sc(Silent), 56 * s, 24, "none"},
		{"glibc 2.31 localhost: dns first, then files on UNAVAIL", glibc("2.31"), env, "localhost", sc(Silent), 56 * s, 24, "hosts"},
		{"glibc 1 server", glibc("2.36"), resolvEnv("", kubeSr+"nameserver 10.0.0.1\noptions ndots:5\n"), "absent", sc(Silent), 20 * s, 8, "none"},
		{"glibc 2 servers", glibc("2.36"), resolvEnv("", kubeSr+"nameserver 10.0.0.1\nnameserver 10.0.0.2\noptions ndots:5\n"), "absent", sc(Silent), 40 * s, 16, "none"},
		{"musl localhost", musl("1.2.3"), env, "localhost", sc(Silent), 0, 0, "hosts"},
		{"musl absent", musl("1.2.3"), env, "kubernetes.default", sc(Silent), 5 * s, 12, "none"},
		{"musl nxdomain walks the list", musl("1.2.3"), env, "absent", sc(NXDomain), 0, 24, "none"},
		{"musl attempts 3", musl("1.2.3"), resolvEnv("", "nameserver 10.0.0.1\noptions attempts:3\n"), "a.b", sc(Silent), 5 * s, 8, "none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Predict(c.env, c.prog, Request{Name: c.req}, c.sc)
			if err != nil {
				t.Fatal(err)
			}
			if p.Total.Duration() != c.total || p.Queries != c.queries || p.AnsweredFrom != c.from {
				t.Errorf("total=%s queries=%d from=%s err=%q; want %s %d %s", p.Total, p.Queries, p.AnsweredFrom, p.Error, c.total, c.queries, c.from)
				for _, st := range p.Steps {
					t.Logf("%s=%s %s", st.Key, st.Value, st.Reason)
				}
			}
		})
	}
	// glibc waits 5, 3, 6 s for three servers.
	p, _ := Predict(env, glibc("2.36"), Request{Name: "absent"}, sc(Silent))
	var starts []time.Duration
	for _, e := range p.Exchanges {
		if e.Type == "A" {
			starts = append(starts, e.Start.Duration())
		}
	}
	want := []time.Duration{0, 5 * s, 8 * s, 14 * s, 19 * s, 22 * s, 28 * s}
	for i, w := range want {
		if starts[i] != w {
			t.Errorf("glibc send %d at %s, want %s", i, starts[i], w)
		}
	}
	// musl: all three servers at 0 and 2.5 s.
	p, _ = Predict(env, musl("1.2.3"), Request{Name: "absent"}, sc(Silent))
	if p.Exchanges[0].Start != 0 || p.Exchanges[len(p.Exchanges)-1].Start.Duration() != 2500*time.Millisecond {
		t.Errorf("musl sends at %s..%s", p.Exchanges[0].Start, p.Exchanges[len(p.Exchanges)-1].Start)
	}
}

func TestMuslSkipsLongLines(t *testing.T) {
	long := "search " + strings.Repeat("a", 250) + ".svc\nnameserver 10.0.0.1\noptions ndots:5\n"
	p, err := Predict(resolvEnv("", long), Program{Impl: ImplMusl, Libc: Libc{Kind: "musl", Version: V(1, 2, 3)}}, Request{Name: "svc"}, sc(NXDomain))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Candidates) != 1 || p.Candidates[0] != "svc." {
		t.Errorf("candidates %v: the long search line must be skipped", p.Candidates)
	}
}

func TestBadInputs(t *testing.T) {
	env := resolvEnv("", ns3)
	for _, c := range []struct {
		prog Program
		req  Request
	}{
		{goProg("1.9", false), Request{Name: "x"}},
		{goProg("1.28", false), Request{Name: "x"}},
		{Program{Impl: ImplGo, Go: GoBuild{Version: V(1, 20, 0), NetgoTag: true, Cgo: true}}, Request{Name: "x"}},
		{goProg("1.20", false), Request{Name: "x", Network: "sctp"}},
		{goProg("1.20", false), Request{Name: ""}},
		{Program{Impl: "java"}, Request{Name: "x"}},
	} {
		if _, err := Predict(env, c.prog, c.req, Scenario{}); err == nil {
			t.Errorf("%+v %+v: no error", c.prog, c.req)
		}
	}
}
