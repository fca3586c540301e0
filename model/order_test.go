package model

import (
	"fmt"
	"strings"
	"testing"
)

const hostsLocal = "127.0.0.1 localhost\n::1 localhost\n"

func envWith(nsswitch string, missing bool) Env {
	e := Env{
		ResolvConf: File{Path: PathResolvConf, Data: []byte("nameserver 127.0.0.53\n")},
		Hosts:      File{Path: PathHosts, Data: []byte(hostsLocal)},
		Hostname:   "vm",
	}
	if missing {
		e.NSSwitch = File{Path: PathNSSwitch, Missing: true}
	} else {
		e.NSSwitch = File{Path: PathNSSwitch, Data: []byte(nsswitch)}
	}
	return e
}

func goProg(v string, cgo bool) Program {
	ver, err := ParseVersion(v)
	if err != nil {
		panic(err)
	}
	p := Program{Impl: ImplGo, Go: GoBuild{Version: ver, Cgo: cgo}}
	if cgo {
		p.Libc = Libc{Kind: "glibc", Version: V(2, 36, 0)}
	}
	return p
}

func orderOf(t *testing.T, env Env, p Program, name string) string {
	t.Helper()
	pr, err := Predict(env, p, Request{Name: name, Network: "ip"}, Scenario{Servers: []Behavior{{Kind: NXDomain}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(pr.Resolver, "cgo") {
		return "cgo"
	}
	return pr.Order
}

// The empirical decision table of go-resolver.md §b.5 (hostLookupOrder of
// localhost), static binaries, for 1.10.8 1.15.15 1.16.15 1.20.14 1.21.13 1.26.8.
func TestGoOrderTableStatic(t *testing.T) {
	versions := []string{"1.10.8", "1.15.15", "1.16.15", "1.20.14", "1.21.13", "1.26.8"}
	rows := []struct {
		line    string
		missing bool
		want    [6]string
	}{
		{"", true, [6]string{"dns,files", "dns,files", "files,dns", "files,dns", "files,dns", "files,dns"}},
		{"", false, [6]string{"dns,files", "dns,files", "files,dns", "files,dns", "files,dns", "files,dns"}},
		{"passwd: files\n", false, [6]string{"dns,files", "dns,files", "files,dns", "files,dns", "files,dns", "files,dns"}},
		{"hosts: files dns\n", false, [6]string{"files,dns", "files,dns", "files,dns", "files,dns", "files,dns", "files,dns"}},
		{"hosts: dns files\n", false, [6]string{"dns,files", "dns,files", "dns,files", "dns,files", "dns,files", "dns,files"}},
		{"hosts: dns\n", false, [6]string{"dns", "dns", "dns", "dns", "dns", "dns"}},
		{"hosts: files\n", false, [6]string{"files", "files", "files", "files", "files", "files"}},
		{"hosts: files [NOTFOUND=return] dns\n", false, [6]string{"files,dns", "files,dns", "files,dns", "files,dns", "files,dns", "files,dns"}},
		{"hosts: dns [!UNAVAIL=return] files\n", false, [6]string{"files,dns", "files,dns", "files,dns", "files,dns", "dns,files", "dns,files"}},
		{"hosts: files mdns4_minimal [NOTFOUND=return] dns\n", false, [6]string{"files,dns", "files,dns", "files,dns", "files,dns", "files,dns", "files,dns"}},
		{"hosts: files myhostname dns\n", false, [6]string{"files,dns", "files,dns", "files,dns", "files,dns", "files,dns", "files,dns"}},
		{"hosts: resolve [!UNAVAIL=return] files dns\n", false, [6]string{"files,dns", "files,dns", "files,dns", "files,dns", "files,dns", "files,dns"}},
		{"hosts: resolve files\n", false, [6]string{"files,dns", "files,dns", "files,dns", "files,dns", "dns,files", "dns,files"}},
		{"hosts:\tfiles\tdns\n", false, [6]string{"files,dns", "files,dns", "files,dns", "files,dns", "dns", "dns"}},
		{"hosts: dns\nhosts: files\n", false, [6]string{"dns,files", "dns,files", "dns,files", "dns,files", "dns,files", "dns,files"}},
		{"bogus line\nhosts: files dns\n", false, [6]string{"files,dns", "files,dns", "files,dns", "files,dns", "files,dns", "files,dns"}},
	}
	for _, r := range rows {
		for i, v := range versions {
			t.Run(fmt.Sprintf("%q/%v/%s", r.line, r.missing, v), func(t *testing.T) {
				if got := orderOf(t, envWith(r.line, r.missing), goProg(v, false), "localhost"); got != r.want[i] {
					t.Errorf("order = %s, want %s", got, r.want[i])
				}
			})
		}
	}
}

// cgo binaries: same rows; some go to cgo (go-resolver.md §b.5).
func TestGoOrderTableCgo(t *testing.T) {
	rows := []struct {
		line    string
		missing bool
		want    string // all six versions
		old     string // 1.10/1.15 when it differs
	}{
		{"", true, "files,dns", "dns,files"},
		{"hosts: files dns\n", false, "files,dns", ""},
		{"hosts: dns files\n", false, "dns,files", ""},
		{"hosts: files [NOTFOUND=return] dns\n", false, "files,dns", ""},
		{"hosts: files mdns4_minimal [NOTFOUND=return] dns\n", false, "files,dns", ""},
		{"hosts: dns [!UNAVAIL=return] files\n", false, "cgo", ""},
		{"hosts: files myhostname dns\n", false, "cgo", ""},
		{"hosts: resolve files\n", false, "cgo", ""},
		{"hosts:\tfiles\tdns\n", false, "cgo", ""},
		{"bogus line\nhosts: files dns\n", false, "cgo", ""},
	}
	for _, r := range rows {
		for _, v := range []string{"1.10.8", "1.15.15", "1.16.15", "1.20.14", "1.21.13", "1.26.8"} {
			want := r.want
			if r.old != "" && (v == "1.10.8" || v == "1.15.15") {
				want = r.old
			}
			t.Run(fmt.Sprintf("%q/%s", r.line, v), func(t *testing.T) {
				if got := orderOf(t, envWith(r.line, r.missing), goProg(v, true), "localhost"); got != want {
					t.Errorf("order = %s, want %s", got, want)
				}
			})
		}
	}
}

// Environment and resolv.conf effects with "hosts: dns files" (§b.5).
func TestGoOrderEnvEffects(t *testing.T) {
	type tc struct {
		name   string
		vars   map[string]string
		resolv string
		v      string
		cgo    bool
		want   string
	}
	var cases []tc
	add := func(name string, vars map[string]string, resolv string, want map[string]string) {
		for key, w := range want {
			v, cgo, _ := strings.Cut(key, "/")
			cases = append(cases, tc{name, vars, resolv, v, cgo == "cgo", w})
		}
	}
	ns := "nameserver 127.0.0.53\n"
	add("baseline", nil, ns, map[string]string{"1.15.15/": "dns,files", "1.21.13/": "dns,files", "1.15.15/cgo": "dns,files", "1.26.8/cgo": "dns,files"})
	add("LOCALDOMAIN empty", map[string]string{"LOCALDOMAIN": ""}, ns, map[string]string{"1.15.15/": "files,dns", "1.20.14/": "files,dns", "1.21.13/": "dns,files", "1.26.8/": "dns,files", "1.15.15/cgo": "cgo", "1.26.8/cgo": "cgo"})
	add("RES_OPTIONS", map[string]string{"RES_OPTIONS": "ndots:2"}, ns, map[string]string{"1.10.8/": "files,dns", "1.21.13/": "dns,files", "1.21.13/cgo": "cgo"})
	add("HOSTALIASES", map[string]string{"HOSTALIASES": "/x"}, ns, map[string]string{"1.16.15/": "files,dns", "1.26.8/": "dns,files", "1.16.15/cgo": "cgo"})
	add("edns0", nil, ns+"options edns0\n", map[string]string{"1.19.13/": "files,dns", "1.20.14/": "dns,files", "1.26.8/": "dns,files", "1.19.13/cgo": "cgo", "1.20.14/cgo": "dns,files"})
	add("inet6", nil, ns+"options inet6\n", map[string]string{"1.15.15/": "files,dns", "1.21.13/": "dns,files", "1.15.15/cgo": "cgo", "1.26.8/cgo": "cgo"})
	add("sortlist", nil, ns+"sortlist 10.0.0.0\n", map[string]string{"1.20.14/": "files,dns", "1.26.8/": "dns,files", "1.26.8/cgo": "cgo"})
	add("single-request", nil, ns+"options single-request\n", map[string]string{"1.12.17/": "files,dns", "1.13.15/": "dns,files", "1.12.17/cgo": "cgo", "1.13.15/cgo": "dns,files"})
	add("trust-ad", nil, ns+"options trust-ad\n", map[string]string{"1.19.13/": "files,dns", "1.20.14/": "dns,files", "1.19.13/cgo": "cgo", "1.20.14/cgo": "dns,files"})
	add("netdns=cgo", map[string]string{"GODEBUG": "netdns=cgo+2"}, ns, map[string]string{"1.15.15/": "files,dns", "1.21.13/": "dns,files", "1.26.8/": "dns,files", "1.15.15/cgo": "cgo", "1.26.8/cgo": "cgo"})
	add("netdns=go", map[string]string{"GODEBUG": "netdns=go+2"}, ns, map[string]string{"1.15.15/": "dns,files", "1.26.8/cgo": "dns,files", "1.15.15/cgo": "dns,files"})
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/cgo=%v", c.name, c.v, c.cgo), func(t *testing.T) {
			env := envWith("hosts: dns files\n", false)
			env.ResolvConf.Data = []byte(c.resolv)
			env.Vars = c.vars
			if got := orderOf(t, env, goProg(c.v, c.cgo), "localhost"); got != c.want {
				t.Errorf("order = %s, want %s", got, c.want)
			}
		})
	}
}

// Names other than localhost (§b.5): .local and % for cgo binaries.
func TestGoOrderSpecialNames(t *testing.T) {
	cases := []struct {
		line, name, v string
		cgo           bool
		want          string
	}{
		{"hosts: files dns\n", "foo.local", "1.15.15", true, "cgo"},
		{"hosts: files dns\n", "foo.local", "1.21.13", true, "cgo"},
		{"hosts: files dns\n", "foo.local", "1.26.8", true, "files,dns"},
		{"hosts: files mdns4_minimal [NOTFOUND=return] dns\n", "foo.local", "1.26.8", true, "cgo"},
		{"hosts: files dns\n", "foo%eth0", "1.15.15", true, "cgo"},
		{"hosts: files dns\n", "foo%eth0", "1.26.8", true, "cgo"},
		{"hosts: dns files\n", "foo.local", "1.15.15", false, "files,dns"},
		{"hosts: dns files\n", "foo.local", "1.26.8", false, "dns,files"},
	}
	for _, c := range cases {
		t.Run(c.name+"/"+c.v, func(t *testing.T) {
			if got := orderOf(t, envWith(c.line, false), goProg(c.v, c.cgo), c.name); got != c.want {
				t.Errorf("order = %s, want %s", got, c.want)
			}
		})
	}
}

func TestGoDebugLines(t *testing.T) {
	cases := []struct {
		v    string
		cgo  bool
		vars map[string]string
		miss bool
		want []string
	}{
		{"1.15.15", false, nil, true, []string{
			"go package net: built with netgo build tag; using Go's DNS resolver",
			"go package net: hostLookupOrder(localhost) = dns,files"}},
		{"1.26.8", false, map[string]string{"GODEBUG": "netdns=cgo+2"}, true, []string{
			"go package net: confVal.netCgo = true  netGo = false",
			"go package net: ignoring GODEBUG=netdns=cgo as the binary was compiled without support for the cgo resolver",
			"go package net: hostLookupOrder(localhost) = files,dns"}},
		{"1.20.14", false, nil, true, []string{
			"go package net: confVal.netCgo = false  netGo = true",
			"go package net: built with netgo build tag; using Go's DNS resolver",
			"go package net: hostLookupOrder(localhost) = files,dns"}},
		{"1.21.13", false, nil, true, []string{
			"go package net: confVal.netCgo = false  netGo = false",
			"go package net: cgo resolver not supported; using Go's DNS resolver",
			"go package net: hostLookupOrder(localhost) = files,dns"}},
		{"1.26.8", true, nil, false, []string{
			"go package net: confVal.netCgo = false  netGo = false",
			"go package net: dynamic selection of DNS resolver",
			"go package net: hostLookupOrder(localhost) = files,dns"}},
	}
	for _, c := range cases {
		t.Run(c.v, func(t *testing.T) {
			env := envWith("hosts: files dns\n", c.miss)
			env.Vars = c.vars
			p, err := Predict(env, goProg(c.v, c.cgo), Request{Name: "localhost"}, Scenario{})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(p.Debug, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("debug:\n%s\nwant:\n%s", strings.Join(p.Debug, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}
