package scan

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/sysenv"
)

// FuzzNSSwitchFix: whatever nsswitch.conf holds, the fix never panics,
// leaves exactly one hosts line, `hosts: files dns`, and keeps every other
// line.
func FuzzNSSwitchFix(f *testing.F) {
	for _, s := range []string{"", "hosts: dns files\n", "passwd: files", "hosts:\n", "#hosts: dns\nhosts: files\n", "\n\n", "hosts: files dns [NOTFOUND=return]\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		_, diff, next := nsswitchFix(model.File{Path: "/etc/nsswitch.conf", Data: []byte(data)})
		if !strings.Contains(diff, "+hosts: files dns\n") {
			t.Fatalf("diff lacks the new line: %q", diff)
		}
		out := string(next.Data)
		if !strings.HasSuffix(out, "\n") {
			t.Fatalf("no final newline: %q", out)
		}
		hostsLines := 0
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if fs := strings.Fields(l); len(fs) > 0 && fs[0] == "hosts:" {
				hostsLines++
				if l != "hosts: files dns" {
					t.Fatalf("hosts line %q", l)
				}
			}
		}
		in := 0
		for _, l := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
			if fs := strings.Fields(l); len(fs) > 0 && fs[0] == "hosts:" {
				in++
			}
		}
		if want := max(in, 1); hostsLines != want {
			t.Fatalf("%d hosts lines out of %d in: %q", hostsLines, in, out)
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
