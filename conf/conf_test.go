package conf

import (
	"strings"
	"testing"

	"github.com/nsscope/nsscope/version"
)

func v(s string) version.Version {
	x, err := version.Parse(s)
	if err != nil {
		panic(err)
	}
	return x
}

func TestResolvGo(t *testing.T) {
	cases := []struct {
		name, in, ver string
		check         func(*ResolvConf) string
	}{
		{"defaults", "", "1.26", func(r *ResolvConf) string {
			if r.Ndots.Value != 1 || r.Timeout.Value != 5 || r.Attempts.Value != 2 || len(r.Nameservers) != 0 {
				return "wrong defaults"
			}
			return ""
		}},
		{"4 servers capped", "nameserver 1.1.1.1\nnameserver 2.2.2.2\nnameserver 3.3.3.3\nnameserver 4.4.4.4\n", "1.26", func(r *ResolvConf) string {
			if len(r.Nameservers) != 3 || r.Nameservers[2].Pos.Line != 3 || len(r.Ignored) != 1 {
				return "want 3 servers and one ignored"
			}
			return ""
		}},
		{"hostname nameserver ignored", "nameserver dns.example\nnameserver fe80::1%eth0\n", "1.26", func(r *ResolvConf) string {
			if len(r.Nameservers) != 1 || r.Nameservers[0].Addr.Zone() != "eth0" {
				return "want only the zoned IPv6 server"
			}
			return ""
		}},
		{"clamps", "options ndots:99 timeout:0 attempts:0\n", "1.26", func(r *ResolvConf) string {
			if r.Ndots.Value != 15 || r.Timeout.Value != 1 || r.Attempts.Value != 1 || r.Ndots.Pos.Line != 1 {
				return "want 15/1/1 with positions"
			}
			return ""
		}},
		{"non-numeric", "options ndots:x timeout:y attempts:z\n", "1.26", func(r *ResolvConf) string {
			if r.Ndots.Value != 0 || r.Timeout.Value != 1 || r.Attempts.Value != 1 {
				return "want 0/1/1"
			}
			return ""
		}},
		{"ndots 0 accepted", "options ndots:0\n", "1.10", func(r *ResolvConf) string {
			if r.Ndots.Value != 0 {
				return "ndots:0 must stay 0"
			}
			return ""
		}},
		{"last search wins, rooted", "domain a.example\nsearch b.example c.example.\n", "1.26", func(r *ResolvConf) string {
			if strings.Join(r.Search, " ") != "b.example. c.example." || r.SearchPos.Line != 2 {
				return "got " + strings.Join(r.Search, " ")
			}
			return ""
		}},
		{"search . kept before 1.20", "search .\n", "1.19", func(r *ResolvConf) string {
			if len(r.Search) != 1 {
				return "want [.]"
			}
			return ""
		}},
		{"search . dropped from 1.20", "search .\n", "1.20", func(r *ResolvConf) string {
			if len(r.Search) != 0 || !r.SearchSet {
				return "want []"
			}
			return ""
		}},
		{"single-request unknown before 1.13", "options single-request\n", "1.12", func(r *ResolvConf) string {
			if len(r.Unknown) != 1 || r.SingleRequest.On {
				return "want unknown"
			}
			return ""
		}},
		{"single-request known from 1.13", "options single-request use-vc\n", "1.13", func(r *ResolvConf) string {
			if len(r.Unknown) != 0 || !r.SingleRequest.On || !r.UseVC.On {
				return "want known"
			}
			return ""
		}},
		{"trust-ad edns0 no-reload from 1.20", "options trust-ad edns0 no-reload\n", "1.19", func(r *ResolvConf) string {
			if len(r.Unknown) != 3 {
				return "want 3 unknown"
			}
			return ""
		}},
		{"unknown keyword", "sortlist 10.0.0.0\n", "1.26", func(r *ResolvConf) string {
			if len(r.Unknown) != 1 || r.Unknown[0].Pos.Line != 1 {
				return "want unknown keyword"
			}
			return ""
		}},
		{"comments", "# nameserver 1.1.1.1\n; nameserver 2.2.2.2\nnameserver 3.3.3.3\n", "1.26", func(r *ResolvConf) string {
			if len(r.Nameservers) != 1 {
				return "comments must be skipped"
			}
			return ""
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ParseResolvConf(Go, "/etc/resolv.conf", []byte(c.in), ResolvOptions{Version: v(c.ver)})
			if msg := c.check(r); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestResolvGlibc(t *testing.T) {
	r := ParseResolvConf(Glibc, "f", []byte("search a b c d e f g h\noptions ndots:20 timeout:60 attempts:9 rotate bogus\nnameserver 1.1.1.1\n"), ResolvOptions{Version: v("2.36")})
	if len(r.Search) != 8 || r.Ndots.Value != 15 || r.Timeout.Value != 30 || r.Attempts.Value != 5 || !r.Rotate.On || len(r.Unknown) != 0 {
		t.Errorf("glibc 2.36: %+v", r)
	}
	r = ParseResolvConf(Glibc, "f", []byte("search a b c d e f g h\n"), ResolvOptions{Version: v("2.25")})
	if len(r.Search) != 6 {
		t.Errorf("glibc 2.25 keeps 6 search domains, got %d", len(r.Search))
	}
	ld := "x.example y.example"
	ApplyGlibcEnv(r, &ld, "ndots:3 attempts:1")
	if strings.Join(r.Search, " ") != ld || r.Ndots.Value != 3 || r.Attempts.Value != 1 || r.Ndots.Pos.File != "$RES_OPTIONS" {
		t.Errorf("env overrides: %+v", r)
	}
	// Keyword must be followed by a blank.
	r = ParseResolvConf(Glibc, "f", []byte("nameserver1.1.1.1\n"), ResolvOptions{})
	if len(r.Nameservers) != 0 {
		t.Errorf("nameserver without blank accepted")
	}
}

func TestResolvMusl(t *testing.T) {
	long := "search " + strings.Repeat("a", 248) + "\n" // 255 bytes + newline
	r := ParseResolvConf(Musl, "f", []byte(long+"nameserver 1.1.1.1\n"), ResolvOptions{Version: v("1.2.3")})
	if len(r.Search) != 0 || len(r.Skipped) != 1 || len(r.Nameservers) != 1 {
		t.Errorf("long line: search=%v skipped=%v", r.Search, r.Skipped)
	}
	short := "search " + strings.Repeat("a", 247) + "\n" // 254 bytes + newline fits
	r = ParseResolvConf(Musl, "f", []byte(short), ResolvOptions{Version: v("1.2.3")})
	if len(r.Search) != 1 {
		t.Errorf("254-byte line must be kept")
	}
	r = ParseResolvConf(Musl, "f", []byte("options timeout:99 attempts:20 ndots:30\nsearch a # b\n"), ResolvOptions{Version: v("1.2.3")})
	if r.Timeout.Value != 60 || r.Attempts.Value != 10 || r.Ndots.Value != 15 || strings.Join(r.Search, " ") != "a # b" {
		t.Errorf("musl caps / no comments: %+v", r)
	}
	r = ParseResolvConf(Musl, "f", []byte("options attempts:1\nsearch a\n"), ResolvOptions{Version: v("1.1.15")})
	if r.Attempts.Value != 2 {
		t.Errorf("musl 1.1.13–1.1.16 ignore attempts")
	}
	r = ParseResolvConf(Musl, "f", []byte("search a\n"), ResolvOptions{Version: v("1.1.12")})
	if len(r.Search) != 0 {
		t.Errorf("musl before 1.1.13 has no search")
	}
}

func TestNSSwitch(t *testing.T) {
	cases := []struct {
		in    string
		d     Dialect
		hosts string
		err   bool
		std   []bool
	}{
		{"hosts: files dns\n", Go, "files dns", false, []bool{true, true}},
		{"hosts:\tfiles\tdns\n", Go, "files\tdns", false, []bool{true}},
		{"hosts:\tfiles\tdns\n", Glibc, "files dns", false, nil},
		{"hosts: dns\nhosts: files\n", Go, "dns files", false, nil},
		{"hosts: dns\nhosts: files\n", Glibc, "dns", false, nil},
		{"hosts: files [NOTFOUND=return] dns\n", Go, "files [NOTFOUND=return] dns", false, []bool{true, true}},
		{"hosts: dns [!UNAVAIL=return] files\n", Go, "dns [!UNAVAIL=return] files", false, []bool{false, true}},
		{"hosts: files [SUCCESS=continue] dns\n", Go, "", false, []bool{false, true}},
		{"garbage\nhosts: files\n", Go, "", true, nil},
		{"hosts: files [NOTFOUND=return dns\n", Go, "", true, nil},
		{"garbage\nhosts: files\n", Glibc, "files", false, nil},
		{"# c\nhosts: files # dns\n", Go, "files", false, nil},
	}
	for _, c := range cases {
		ns := ParseNSSwitch(c.d, "/etc/nsswitch.conf", []byte(c.in))
		if (ns.Err != "") != c.err {
			t.Errorf("%q %s: err=%q", c.in, c.d, ns.Err)
			continue
		}
		var names []string
		for _, s := range ns.Hosts {
			names = append(names, s.String())
		}
		if c.hosts != "" && strings.Join(names, " ") != c.hosts {
			t.Errorf("%q %s: hosts=%q want %q", c.in, c.d, strings.Join(names, " "), c.hosts)
		}
		for i, want := range c.std {
			if ns.Hosts[i].StandardCriteria() != want {
				t.Errorf("%q: source %d standard=%v", c.in, i, !want)
			}
		}
	}
}

func TestHosts(t *testing.T) {
	data := []byte("127.0.0.1\tlocalhost localhost.localdomain\n::1 localhost\n10.0.0.1 Foo.Example # comment\n127.000.000.002 zeros\nbad line\nfe80::1%lo0 zoned\n")
	h := ParseHosts(Go, "/etc/hosts", data, HostsOptions{Version: v("1.26")})
	if a, _ := h.Lookup("localhost"); len(a) != 2 {
		t.Errorf("localhost: %v", a)
	}
	if a, _ := h.Lookup("localhost."); len(a) != 0 {
		t.Errorf("Go: localhost. must not match localhost")
	}
	if a, _ := h.Lookup("foo.example."); len(a) != 1 {
		t.Errorf("Go: rooted dotted name must match, case-insensitively")
	}
	if a, _ := h.Lookup("zeros"); len(a) != 0 {
		t.Errorf("Go 1.17+ rejects leading zeros")
	}
	old := ParseHosts(Go, "/etc/hosts", data, HostsOptions{Version: v("1.16")})
	if a, _ := old.Lookup("zeros"); len(a) != 1 {
		t.Errorf("Go 1.16 accepts leading zeros")
	}
	m := ParseHosts(Musl, "/etc/hosts", data, HostsOptions{})
	if a, _ := m.Lookup("foo.example"); len(a) != 0 {
		t.Errorf("musl is case-sensitive")
	}
	if a, _ := m.Lookup("Foo.Example"); len(a) != 1 {
		t.Errorf("musl exact match")
	}
	g := ParseHosts(Glibc, "/etc/hosts", data, HostsOptions{})
	if a, lines := g.Lookup("FOO.example"); len(a) != 1 || lines[0].Line != 3 {
		t.Errorf("glibc case-insensitive with line")
	}
	if len(h.Ignored) != 2 {
		t.Errorf("ignored %v", h.Ignored)
	}
}

func FuzzResolvConf(f *testing.F) {
	for _, s := range []string{"nameserver 1.1.1.1\nsearch a b\noptions ndots:5 timeout:1\n", "options ndots:\x00", "domain\n", strings.Repeat("x", 300)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range []Dialect{Go, Glibc, Musl} {
			r := ParseResolvConf(d, "f", data, ResolvOptions{})
			if len(r.Nameservers) > 3 || r.Ndots.Value < 0 || r.Ndots.Value > 15 {
				t.Fatalf("%s: invariants broken: %+v", d, r)
			}
		}
	})
}

func FuzzNSSwitch(f *testing.F) {
	for _, s := range []string{"hosts: files dns\n", "hosts: dns [!UNAVAIL=return] files", "hosts:\tfiles [x", "[\n:"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range []Dialect{Go, Glibc, Musl} {
			ns := ParseNSSwitch(d, "f", data)
			for _, s := range ns.Hosts {
				_ = s.StandardCriteria()
				_ = s.String()
			}
		}
	})
}

func FuzzHosts(f *testing.F) {
	for _, s := range []string{"127.0.0.1 localhost\n", "::1 a b c # d", "fe80::1%x y", "\x00\xff 1"} {
		f.Add([]byte(s), "localhost")
	}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		for _, d := range []Dialect{Go, Glibc, Musl} {
			h := ParseHosts(d, "f", data, HostsOptions{})
			a, lines := h.Lookup(name)
			if len(a) != len(lines) {
				t.Fatal("addresses and lines differ")
			}
		}
	})
}

// A line of binary garbage is cited as a bounded excerpt with its length;
// a normal line whole (issue 15.4).
func TestPrintableExcerpt(t *testing.T) {
	garbage := make([]byte, 300)
	for i := range garbage {
		garbage[i] = byte(0x80 + i%100)
	}
	got := printable(garbage)
	if len([]rune(got)) > maxExcerpt+20 || !strings.HasSuffix(got, "… (300 bytes)") {
		t.Errorf("garbage rendered as %d characters: %q", len([]rune(got)), got)
	}
	line := "search kube-system.svc.cluster.local svc.cluster.local cluster.local\tx"
	if got := printable([]byte(line)); got != strings.ReplaceAll(line, "\t", `\t`) {
		t.Errorf("normal line rendered as %q", got)
	}
	rc := ParseResolvConf(Go, "resolv.conf", append([]byte("nameserver 10.0.0.1\n"), garbage...), ResolvOptions{})
	if len(rc.Unknown) != 1 || rc.Unknown[0].Pos.Line != 2 || len(rc.Unknown[0].What) > 2*maxExcerpt {
		t.Errorf("unknown keyword note: %+v", rc.Unknown)
	}
}

func TestParseAPKInstalled(t *testing.T) {
	db := "C:Q1abc=\nP:musl\nV:1.2.3-r3\nA:x86_64\n\nP:busybox\nV:1.35.0-r17\n\nV:orphan\n"
	pkgs := ParseAPKInstalled("installed", []byte(db))
	if len(pkgs) != 2 {
		t.Fatalf("%d packages: %+v", len(pkgs), pkgs)
	}
	p, ok := APKVersion(pkgs, "musl")
	if !ok || p.Version != "1.2.3-r3" || p.Pos.Line != 2 {
		t.Errorf("musl: %+v %v", p, ok)
	}
	if _, ok := APKVersion(pkgs, "glibc"); ok {
		t.Error("glibc found")
	}
}

func FuzzAPKInstalled(f *testing.F) {
	for _, s := range []string{"P:musl\nV:1.2.3-r3\n\n", "P:\nV:\n", "\n\n\nP:x", "V:1\r\nP:a\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range ParseAPKInstalled("f", data) {
			if p.Name == "" || p.Pos.Line < 1 {
				t.Fatalf("package without name or line: %+v", p)
			}
		}
	})
}

// TestGoCriteria holds each of Go's criterion rules (go-resolver.md §b.4).
func TestGoCriteria(t *testing.T) {
	cases := []struct {
		in   string
		want string // the criteria as read, or the error
	}{
		{"", ""},
		{"NOTFOUND=return", "notfound=return"},
		{"!UNAVAIL=Return  success=continue", "!unavail=return success=continue"},
		{"a=b", "a=b"},
		{"!a=b", "!a=b"},
		{"=b", "error: " + goNSSShort},
		{"!=b", "error: " + goNSSShort},
		{"abc", "error: " + goNSSNoEqualsSign},
		{"!abc", "error: " + goNSSNoEqualsSign},
		{"a=b abc", "error: " + goNSSNoEqualsSign},
		{"abc =b", "error: " + goNSSNoEqualsSign},
		{"x==", "x=="},
	}
	for _, c := range cases {
		crit, err := parseGoCriteria(c.in)
		got := "error: " + err
		if err == "" {
			parts := make([]string, len(crit))
			for i, cr := range crit {
				parts[i] = cr.String()
			}
			got = strings.Join(parts, " ")
		}
		if got != c.want {
			t.Errorf("parseGoCriteria(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
