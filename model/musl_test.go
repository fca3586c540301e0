package model

import (
	"slices"
	"strings"
	"testing"
)

// muslCase runs a C program on musl against servers and a resolv.conf.
func muslCase(t *testing.T, v Version, resolv, servers, name, network string) *Prediction {
	t.Helper()
	sc, err := ParseScenario(servers)
	if err != nil {
		t.Fatal(err)
	}
	env := Env{ResolvConf: File{Data: []byte(resolv)}, Hosts: File{Data: []byte("127.0.0.1 localhost\n")}}
	p, err := Predict(env, Program{Impl: ImplMusl, Libc: Libc{Kind: "musl", Version: v}}, Request{Name: name, Network: network, Op: OpLookupIP}, sc)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func count(p *Prediction, transport, server string) int {
	n := 0
	for _, x := range p.Exchanges {
		if x.Transport == transport && (server == "" || x.Server == server) {
			n++
		}
	}
	return n
}

// Issue 11, kind 1: SERVFAIL resends while no good answer has arrived; the
// server answering at once races them (observed 9 twice; 6 without resends).
func TestMuslServfailResendsRace(t *testing.T) {
	resolv := "nameserver 127.0.0.53\nnameserver 127.0.0.54\nnameserver 127.0.0.55\noptions attempts:1 timeout:2 rotate ndots:1\n"
	p := muslCase(t, V(1, 2, 4), resolv, "servfail,nxdomain,refuse", "api.example.com", "ip")
	if p.QueriesRange == nil || p.QueriesRange[0] > 9 || p.QueriesRange[1] < 9 {
		t.Fatalf("queries_range %v, want a bound holding the observed 9", p.QueriesRange)
	}
	if p.QueriesRange[0] != 6 || p.QueriesRange[1] != 10 {
		t.Errorf("queries_range %v, want [6 10]: 6 sent at once, up to 2×2 resends", *p.QueriesRange)
	}
	if p.Total != 0 || p.Error == "" {
		t.Errorf("total %s, error %q: want NXDOMAIN at once", p.Total, p.Error)
	}
	// The good server answering 300 ms after the SERVFAIL one: the whole
	// budget is spent first, so the count is certain (only the A/AAAA
	// split of the resends races).
	p = muslCase(t, V(1, 2, 4), resolv, "servfail,nxdomain/delay=300ms,refuse", "api.example.com", "ip")
	if p.Queries != 10 || count(p, "udp", "127.0.0.53:53") != 6 || (p.QueriesRange != nil && *p.QueriesRange != [2]int{10, 10}) {
		t.Errorf("delayed good answer: %d queries (%d to the SERVFAIL server), range %v; want 10 (6), count certain", p.Queries, count(p, "udp", "127.0.0.53:53"), p.QueriesRange)
	}
}

// Issue 11, kind 2: three truncating servers, musl 1.2.4: one TCP retry per
// query, to the server whose truncated reply came first (observed 8).
func TestMuslTCPOncePerQuery(t *testing.T) {
	resolv := "nameserver 127.0.0.53\nnameserver 127.0.0.54\nnameserver 127.0.0.55\nsearch a.test b.test c.test\noptions ndots:5 attempts:2 timeout:2\n"
	p := muslCase(t, V(1, 2, 4), resolv, "answer=127.0.0.9/truncate", "foo", "ip")
	if p.Queries != 8 || count(p, "tcp", "") != 2 {
		t.Fatalf("%d queries, %d over TCP; want 8 and 2", p.Queries, count(p, "tcp", ""))
	}
	for _, x := range p.Exchanges {
		if x.Transport == "tcp" && x.Race == "" {
			t.Errorf("TCP retry %s %s to %s: no race note, but any of the three servers may be first", x.Type, x.Name, x.Server)
		}
	}
	if p.Error != "" {
		t.Errorf("error %q, want the TCP answer", p.Error)
	}
	// Before 1.2.4 the truncated reply is taken as it is: NOERROR, no
	// address, and the search ends (EAI_NONAME in 1.2.1–1.2.3).
	p = muslCase(t, V(1, 2, 3), resolv, "answer=127.0.0.9/truncate", "foo", "ip")
	if p.Queries != 6 || count(p, "tcp", "") != 0 || p.Error != `getaddrinfo("foo"): Name does not resolve` {
		t.Errorf("musl 1.2.3: %d queries, %d TCP, error %q", p.Queries, count(p, "tcp", ""), p.Error)
	}
}

// Every server answering SERVFAIL at once: the count is certain (the
// budget is spent each interval), the A/AAAA split is a race.
func TestMuslAllServfail(t *testing.T) {
	resolv := "nameserver 127.0.0.53\nnameserver 127.0.0.54\noptions attempts:2 timeout:2 ndots:1\n"
	p := muslCase(t, V(1, 2, 4), resolv, "servfail", "api.example.com", "ip")
	// 2 rounds × (2 queries × 2 servers + 4 resends).
	if p.Queries != 16 {
		t.Errorf("%d queries, want 16", p.Queries)
	}
	if p.Total != 2e9 || p.Error != `getaddrinfo("api.example.com"): Try again` {
		t.Errorf("total %s, error %q", p.Total, p.Error)
	}
}

// Before 1.2.1 any address wins and only the first query's answer is
// judged; from 1.2.1 every answer is.
func TestMuslPairedAnswerEras(t *testing.T) {
	resolv := "nameserver 127.0.0.53\noptions attempts:1 timeout:1 ndots:1\n"
	// AAAA answered, A never: 1.1.22 succeeds with the AAAA address after
	// the timeout, 1.2.2 fails with EAI_AGAIN.
	sc := "answer=::1"
	old := muslCase(t, V(1, 1, 22), resolv, sc, "x.example", "ip")
	if old.Error != "" {
		t.Errorf("1.1.22: error %q, want the AAAA answer", old.Error)
	}
	_ = sc
}

func TestHostByName2(t *testing.T) {
	resolv := "nameserver 127.0.0.53\noptions attempts:1 timeout:1 ndots:1\n"
	sc, _ := ParseScenario("answer=127.0.0.9")
	env := Env{ResolvConf: File{Data: []byte(resolv)}, Hosts: File{Data: []byte("127.0.0.1 localhost\n127.0.0.10 myhost\n")}}
	for _, tc := range []struct {
		libc         string
		name         string
		queries      []string
		err          string
		answeredFrom string
	}{
		// getent hosts: AAAA (NOERROR, no data), then a separate A lookup.
		{"musl", "foo.example", []string{"AAAA", "A"}, "", FromDNS},
		{"glibc", "foo.example", []string{"AAAA", "A"}, "", FromDNS},
		// Only an IPv4 line in /etc/hosts: musl fails the AF_INET6 call at
		// once and finds the A in hosts; glibc asks DNS for AAAA first.
		{"musl", "myhost", nil, "", FromHosts},
		{"glibc", "myhost", []string{"AAAA"}, "", FromHosts},
	} {
		prog := Program{Impl: Impl(tc.libc), Libc: Libc{Kind: tc.libc}}
		p, err := Predict(env, prog, Request{Name: tc.name, Network: "ip", Op: OpHostByName2}, sc)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range p.Exchanges {
			got = append(got, x.Type)
		}
		if len(got) != len(tc.queries) || p.Error != tc.err || p.AnsweredFrom != tc.answeredFrom {
			t.Errorf("%s %s: queries %v error %q from %s; want %v %q %s", tc.libc, tc.name, got, p.Error, p.AnsweredFrom, tc.queries, tc.err, tc.answeredFrom)
			continue
		}
		for i := range got {
			if got[i] != tc.queries[i] {
				t.Errorf("%s %s: queries %v, want %v", tc.libc, tc.name, got, tc.queries)
			}
		}
	}
	if _, err := Predict(env, Program{Impl: ImplGo, Go: GoBuild{Version: V(1, 21, 0)}}, Request{Name: "x", Op: OpHostByName2}, sc); err == nil {
		t.Error("gethostbyname2 for a Go program: no error")
	}
}

func TestAlpineMusl(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
		bad  bool
	}{
		{"1.1.22-r4", V(1, 1, 22), false},
		{"1.2.4_git20230717-r4", V(1, 2, 4), false},
		{"1.2.3", Version{}, true},
		{"x-r1", Version{}, true},
	} {
		l, err := AlpineMusl(tc.in)
		if (err != nil) != tc.bad || l.Version != tc.want {
			t.Errorf("AlpineMusl(%q) = %v, %v", tc.in, l, err)
		}
	}
}

func FuzzAlpineMusl(f *testing.F) {
	for _, s := range []string{"1.2.3-r3", "1.2.4_git20230717-r4", "-r", "1..2-r1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := AlpineMusl(s)
		if err == nil && (l.Kind != "musl" || l.Version.IsZero() || l.Release != s) {
			t.Fatalf("AlpineMusl(%q) = %+v", s, l)
		}
	})
}

// TestMuslCandidateLength holds the model to the lab's measurement of
// search candidates near the length limit (docs/difftest.md): with a
// 240-byte search domain, names of 12 to 15 bytes make candidates of 253
// to 256 bytes.
func TestMuslCandidateLength(t *testing.T) {
	domain := strings.Repeat("x", 63) + "." + strings.Repeat("y", 63) + "." + strings.Repeat("z", 63) + "." + strings.Repeat("w", 48)
	resolv := "nameserver 127.0.0.53\nsearch " + domain + "\noptions ndots:1 timeout:1 attempts:1\n"
	// The lengths of the names asked (each asked for A and AAAA).
	tests := []struct {
		v         Version
		candidate int
		asked     []int
	}{
		{V(1, 2, 3), 253, []int{254, 13}},
		{V(1, 2, 3), 254, nil},
		{V(1, 2, 3), 255, nil},
		{V(1, 2, 3), 256, []int{16}},
		{V(1, 1, 22), 254, nil},
		{V(1, 2, 4), 253, []int{254, 13}},
		{V(1, 2, 4), 254, []int{14}},
		{V(1, 2, 4), 255, []int{15}},
		{V(1, 2, 4), 256, []int{16}},
	}
	for _, tc := range tests {
		name := strings.Repeat("n", tc.candidate-241)
		p := muslCase(t, tc.v, resolv, "nxdomain", name, "ip")
		var asked []int
		for i, x := range p.Exchanges {
			if i%2 == 0 {
				asked = append(asked, len(x.Name))
			}
		}
		if !slices.Equal(asked, tc.asked) || !strings.Contains(p.Error, "Name does not resolve") {
			t.Errorf("musl %s, %d-byte candidate: asked names of %v bytes, error %q; want %v, Name does not resolve", tc.v, tc.candidate, asked, p.Error, tc.asked)
		}
	}
}
