package grade

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nsscope/nsscope/conf"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/sysenv"
)

// FuzzNSSwitchFix: whatever nsswitch.conf holds, the fix never panics,
// leaves exactly one hosts line, `hosts: files dns`, which Go and glibc
// both read as files then dns (unless Go rejects another line of the
// file), and keeps every other line in order.
func FuzzNSSwitchFix(f *testing.F) {
	for _, s := range []string{"", "hosts: dns files\n", "passwd: files", "hosts:\n", "#hosts: dns\nhosts: files\n", "\n\n", "hosts: files dns [NOTFOUND=return]\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		_, diff, next := nsswitchFix(model.File{Path: "/etc/nsswitch.conf", Data: []byte(data)})
		if !strings.Contains(diff, "+hosts: files dns") {
			t.Fatalf("diff lacks the new line: %q", diff)
		}
		out := string(next.Data)
		if !strings.Contains(out, "hosts: files dns\n") && !strings.Contains(out, "hosts: files dns\r\n") {
			t.Fatalf("the hosts line has no line end: %q", out)
		}
		var kept, others []string
		hostsLines := 0
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if isHostsLine(l) {
				hostsLines++
				if strings.TrimSuffix(l, "\r") != "hosts: files dns" {
					t.Fatalf("hosts line %q", l)
				}
				continue
			}
			kept = append(kept, strings.TrimSuffix(l, "\r"))
		}
		if hostsLines != 1 {
			t.Fatalf("%d hosts lines: %q", hostsLines, out)
		}
		for _, l := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
			if !isHostsLine(l) && (l != "" || data != "") {
				others = append(others, strings.TrimSuffix(l, "\r"))
			}
		}
		if strings.Join(kept, "\n") != strings.Join(others, "\n") {
			t.Fatalf("other lines changed: %q, want %q", kept, others)
		}
		for _, d := range []conf.Dialect{conf.Go, conf.Glibc} {
			ns := conf.ParseNSSwitch(d, "/etc/nsswitch.conf", next.Data)
			if ns.Err != "" {
				continue // Go rejects the whole file for another line
			}
			if got := conf.HostsLine(ns.Hosts); got != "files dns" {
				t.Fatalf("%s reads hosts: %q from %q", d, got, out)
			}
		}
	})
}

// FuzzEnvVars: image environments never panic the parser, and the last
// definition of a key wins.
func FuzzEnvVars(f *testing.F) {
	f.Add("GODEBUG=netdns=go\x00GODEBUG=netdns=cgo")
	f.Add("=x\x00A\x00B=")
	f.Fuzz(func(t *testing.T, s string) {
		env := strings.Split(s, "\x00")
		m := envVars(env)
		for k, v := range m {
			last := ""
			for _, kv := range env {
				if kk, vv, _ := strings.Cut(kv, "="); kk == k {
					last = vv
				}
			}
			if v != last {
				t.Fatalf("%s=%q, want the last definition %q", k, v, last)
			}
		}
	})
}

// FuzzRun: whatever the target's /etc files hold, a scan on the real model
// never panics and grades every program.
func FuzzRun(f *testing.F) {
	f.Add("hosts: dns files\n", "nameserver 10.0.0.1\noptions ndots:3 timeout:1\n", "127.0.0.1 localhost\n", "localhost")
	f.Add("", "", "", "db")
	f.Add("hosts: files [NOTFOUND=return] dns myhostname\n", "search a b c d e f g\noptions attempts:0 rotate\n", "::1 localhost\n", "LOCALHOST.")
	progs := []Program{
		{Path: "/go115", Variants: []Variant{{Program: model.Program{Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 15, 7)}}}}},
		{Path: "/go121cgo", Variants: []Variant{{Program: model.Program{Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 21, 0), Cgo: true}, Libc: model.Libc{Kind: "glibc", Version: model.V(2, 31, 0)}}}}},
		{Path: "/glibc", Variants: []Variant{{Program: model.Program{Impl: model.ImplGlibc, Libc: model.Libc{Kind: "glibc", Version: model.V(2, 36, 0)}}}}},
		{Path: "/musl", Variants: []Variant{{Program: model.Program{Impl: model.ImplMusl, Libc: model.Libc{Kind: "musl", Version: model.V(1, 2, 4)}}}}},
	}
	f.Fuzz(func(t *testing.T, nss, resolv, hosts, name string) {
		root := fstest.MapFS{
			"etc/nsswitch.conf": {Data: []byte(nss)},
			"etc/resolv.conf":   {Data: []byte(resolv)},
			"etc/hosts":         {Data: []byte(hosts)},
		}
		if name == "" {
			name = "localhost"
		}
		rep, err := Run(Input{Root: sysenv.FS{FS: root}, Runtime: Runtime{Kind: None}, Programs: progs, Names: []string{name}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Findings) != len(progs) {
			t.Fatalf("%d findings for %d programs", len(rep.Findings), len(progs))
		}
		for _, f := range rep.Findings {
			if f.RuleID == "" || f.Message == "" {
				t.Fatalf("empty verdict %+v", f)
			}
			for _, fx := range f.Fixes {
				if fx.After < 0 {
					t.Fatalf("negative time after fix %+v", fx)
				}
			}
		}
	})
}
