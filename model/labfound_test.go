package model

import (
	"net/netip"
	"testing"
	"time"
)

// Behaviour found by the lab's differential suite (lab/difftest) and
// fixed in the model; each case names the configuration that showed it.
func TestLabFindings(t *testing.T) {
	kube := "search kube-system.svc.cluster.local svc.cluster.local cluster.local\n"
	cgoGlibc := Program{Impl: ImplGo, Go: GoBuild{Version: V(1, 26, 8), Cgo: true}, Libc: Libc{Kind: "glibc", Version: V(2, 36, 0)}}
	cgoMusl := Program{Impl: ImplGo, Go: GoBuild{Version: V(1, 26, 8), Cgo: true}, Libc: Libc{Kind: "musl", Version: V(1, 2, 3)}}
	cgoEnv := func(resolv, hosts string) Env {
		e := resolvEnv("", resolv)
		e.Vars = map[string]string{"GODEBUG": "netdns=cgo"}
		e.Hosts.Data = []byte(hosts)
		return e
	}
	t.Run("glibc tcp6 via cgo: AAAA search, then A search (097)", func(t *testing.T) {
		p, _ := Predict(cgoEnv(kube+"nameserver 127.0.0.53\noptions ndots:1 attempts:1\n", hostsLocal), cgoGlibc,
			Request{Name: "foo", Network: "tcp6", Dial: true}, Scenario{Servers: []Behavior{{Kind: NXDomain, Delay: Seconds(200 * time.Millisecond)}}})
		if p.Queries != 8 || p.Exchanges[4].Type != "A" || p.Exchanges[4].Start.Duration() != 800*time.Millisecond {
			t.Errorf("queries=%d %+v", p.Queries, p.Exchanges)
		}
	})
	t.Run("glibc all SERVFAIL walks the whole search list, then the A search (089)", func(t *testing.T) {
		p, _ := Predict(cgoEnv(kube+"nameserver 127.0.0.53\noptions ndots:0\n", hostsLocal), cgoGlibc,
			Request{Name: "kubernetes.default", Network: "tcp6", Dial: true}, sc(ServFail))
		if p.Queries != 16 || len(p.Candidates) != 4 || p.Exchanges[15].Type != "A" {
			t.Errorf("queries=%d candidates=%v", p.Queries, p.Candidates)
		}
	})
	t.Run("an IPv4 hosts line answers tcp6 via cgo (082, 144)", func(t *testing.T) {
		for _, prog := range []Program{cgoGlibc, cgoMusl} {
			p, _ := Predict(cgoEnv("nameserver 127.0.0.53\n", "127.0.1.1 myhost\n"), prog, Request{Name: "myhost", Network: "tcp6", Dial: true}, sc(Silent))
			if p.Queries != 0 || p.AnsweredFrom != FromHosts {
				t.Errorf("%s: queries=%d from=%s", prog.Libc, p.Queries, p.AnsweredFrom)
			}
		}
	})
	t.Run("musl tcp6 via cgo asks A and AAAA (165)", func(t *testing.T) {
		p, _ := Predict(cgoEnv("nameserver 127.0.0.53\nnameserver 127.0.0.54\nnameserver 127.0.0.55\noptions ndots:4 attempts:1\n", hostsLocal), cgoMusl,
			Request{Name: "kubernetes.default", Network: "tcp6", Dial: true}, sc(NXDomain))
		if p.Queries != 6 {
			t.Errorf("queries=%d", p.Queries)
		}
	})
	t.Run("musl 1.2.3: NODATA ends the search too (131)", func(t *testing.T) {
		a := netip.MustParseAddr("127.0.0.9")
		p, _ := Predict(cgoEnv(kube+"nameserver 127.0.0.53\nnameserver 127.0.0.54\nnameserver 127.0.0.55\noptions ndots:13\n", hostsLocal), cgoMusl,
			Request{Name: "foo", Network: "tcp4", Dial: true}, Scenario{Servers: []Behavior{{Kind: Silent}, {Kind: Answer, Addrs: []netip.Addr{a}, Truncate: true}, {Kind: Answer, Addrs: []netip.Addr{a}, Truncate: true}}})
		if p.Queries != 3 || len(p.Candidates) != 1 {
			t.Errorf("queries=%d candidates=%v", p.Queries, p.Candidates)
		}
	})
	glibcC := Program{Impl: ImplGlibc, Libc: Libc{Kind: "glibc", Version: V(2, 36, 0)}}
	t.Run("glibc use-vc: TCP, SERVFAIL answer ends the query (164)", func(t *testing.T) {
		p, _ := Predict(cgoEnv(kube+"nameserver 127.0.0.53\noptions ndots:14 use-vc\n", hostsLocal), cgoGlibc,
			Request{Name: "foo.example.com", Network: "tcp4", Dial: true}, sc(ServFail))
		if p.Queries != 4 || p.Exchanges[0].Transport != "tcp" {
			t.Errorf("queries=%d %+v", p.Queries, p.Exchanges)
		}
	})
	t.Run("glibc single-request: AAAA after the A reply, same server (129)", func(t *testing.T) {
		p, _ := Predict(cgoEnv("nameserver 127.0.0.53\nnameserver 127.0.0.54\noptions single-request\n", hostsLocal), cgoGlibc,
			Request{Name: "localhost.", Network: "ip"}, Scenario{Servers: []Behavior{{Kind: Refuse}, {Kind: NXDomain, Delay: Seconds(200 * time.Millisecond)}}})
		if p.Queries != 3 || p.Total.Duration() != 400*time.Millisecond || p.Exchanges[2].Type != "AAAA" || p.Exchanges[2].Start.Duration() != 200*time.Millisecond {
			t.Errorf("queries=%d total=%s %+v", p.Queries, p.Total, p.Exchanges)
		}
	})
	t.Run("glibc: a refusing first server does not make errno stick (156)", func(t *testing.T) {
		e := cgoEnv("nameserver 127.0.0.53\nnameserver 127.0.0.54\n", hostsLocal)
		e.Vars["LOCALDOMAIN"] = "corp.example"
		p, _ := Predict(e, glibcC, Request{Name: "foo.example.com"}, Scenario{Servers: []Behavior{{Kind: Refuse}, {Kind: NXDomain}}})
		if p.Error != `getaddrinfo("foo.example.com"): Name or service not known` || len(p.Candidates) != 2 {
			t.Errorf("err=%q candidates=%v", p.Error, p.Candidates)
		}
	})
	t.Run("glibc NODATA everywhere: EAI_NODATA (323)", func(t *testing.T) {
		p, _ := Predict(cgoEnv(kube+"nameserver 127.0.0.53\noptions ndots:12\n", hostsLocal), glibcC, Request{Name: "kubernetes.default", Network: "ip6"}, sc(NoData))
		if p.Error != `getaddrinfo("kubernetes.default"): No address associated with hostname` {
			t.Errorf("err=%q", p.Error)
		}
	})
}
