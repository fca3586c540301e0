package model

import (
	"strings"
	"testing"
)

// Era boundaries of go-resolver.md §(a) not covered by the order tables.
func TestGoEraBoundaries(t *testing.T) {
	t.Run("1.11 PreferGo follows nsswitch", func(t *testing.T) {
		env := envWith("hosts: dns files\n", false)
		for v, want := range map[string]string{"1.10.8": "files,dns", "1.11.13": "dns,files"} {
			p := goProg(v, true)
			p.Go.PreferGo = true
			if got := orderOf(t, env, p, "localhost"); got != want {
				t.Errorf("%s: %s, want %s", v, got, want)
			}
		}
		// A cgo binary without PreferGo and an unknown source goes to cgo.
		p := goProg("1.10.8", true)
		if got := orderOf(t, envWith("hosts: files resolve\n", false), p, "localhost"); got != "cgo" {
			t.Errorf("1.10 cgo: %s", got)
		}
	})
	t.Run("1.20 files-only miss", func(t *testing.T) {
		env := envWith("hosts: files\n", false)
		p19, _ := Predict(env, goProg("1.19.13", false), Request{Name: "absent", Network: "tcp", Dial: true}, Scenario{})
		p20, _ := Predict(env, goProg("1.20.14", false), Request{Name: "absent", Network: "tcp", Dial: true}, Scenario{})
		if p19.Error != "dial tcp: address absent: no suitable address found" || p20.Error != "dial tcp: lookup absent: no such host" {
			t.Errorf("1.19 %q / 1.20 %q", p19.Error, p20.Error)
		}
		if p19.Queries != 0 || p20.Queries != 0 {
			t.Errorf("files-only must not query DNS")
		}
	})
	t.Run("1.20 gateway names for myhostname", func(t *testing.T) {
		env := envWith("hosts: files myhostname dns\n", false)
		for _, c := range []struct{ v, name, want string }{
			{"1.19.13", "gateway", "cgo"}, {"1.20.14", "gateway", "files,dns"},
			{"1.19.13", "_gateway", "files,dns"}, {"1.20.14", "_gateway", "cgo"}, {"1.20.14", "_outbound", "cgo"},
			{"1.26.8", "vm", "cgo"}, {"1.26.8", "other", "files,dns"},
		} {
			if got := orderOf(t, env, goProg(c.v, true), c.name); got != c.want {
				t.Errorf("%s %s: %s, want %s", c.v, c.name, got, c.want)
			}
		}
	})
	t.Run("1.22 .onion per candidate", func(t *testing.T) {
		env := resolvEnv("hosts: dns\n", "search onion example.com\nnameserver 10.0.0.1\n")
		for v, want := range map[string]int{"1.21.13": 3, "1.22.12": 2} {
			p, _ := Predict(env, goProg(v, false), Request{Name: "foo"}, sc(NXDomain))
			if len(p.Candidates) != want {
				t.Errorf("%s: %v", v, p.Candidates)
			}
		}
		// A name ending in .onion: nothing before 1.22; from 1.22 only the
		// search-expanded candidates that do not end in .onion.
		p, _ := Predict(env, goProg("1.21.13", false), Request{Name: "foo.onion"}, sc(NXDomain))
		if p.Queries != 0 {
			t.Errorf("1.21: .onion must never be asked: %v", p.Candidates)
		}
		p, _ = Predict(env, goProg("1.26.8", false), Request{Name: "foo.onion"}, sc(NXDomain))
		if strings.Join(p.Candidates, " ") != "foo.onion.example.com." {
			t.Errorf("1.26: %v", p.Candidates)
		}
	})
	t.Run("1.18 root name", func(t *testing.T) {
		env := resolvEnv("hosts: dns\n", "nameserver 10.0.0.1\n")
		for v, want := range map[string]int{"1.17.13": 0, "1.18.10": 2} {
			p, _ := Predict(env, goProg(v, false), Request{Name: "."}, sc(NXDomain))
			if p.Queries != want {
				t.Errorf("%s: %d queries", v, p.Queries)
			}
		}
	})
	t.Run("1.21.12 netedns0 default from the go line", func(t *testing.T) {
		env := resolvEnv("hosts: dns\n", "nameserver 10.0.0.1\n")
		p := goProg("1.22.12", false)
		p.Go.GoModVersion = V(1, 18, 0)
		pr, _ := Predict(env, p, Request{Name: "example.com"}, sc(NXDomain))
		if pr.Exchanges[0].EDNS {
			t.Error("go 1.18 go line: netedns0=0 expected")
		}
	})
	t.Run("1.24 debug wording for netdns=go on a cgo binary", func(t *testing.T) {
		env := envWith("hosts: files dns\n", false)
		env.Vars = map[string]string{"GODEBUG": "netdns=go+1"}
		for v, want := range map[string]string{
			"1.23.12": "go package net: GODEBUG setting forcing use of Go's resolver",
			"1.24.13": "go package net: GODEBUG setting forcing use of the Go resolver",
		} {
			p, _ := Predict(env, goProg(v, true), Request{Name: "localhost"}, Scenario{})
			if !strings.Contains(strings.Join(p.Debug, "\n"), want) {
				t.Errorf("%s: %v", v, p.Debug)
			}
		}
	})
	t.Run("1.10-1.20 debug shows the stripped name", func(t *testing.T) {
		env := envWith("hosts: files dns\n", false)
		for v, want := range map[string]string{"1.20.14": "hostLookupOrder(foo.example) =", "1.21.13": "hostLookupOrder(foo.example.) ="} {
			p, _ := Predict(env, goProg(v, false), Request{Name: "foo.example."}, sc(NXDomain))
			if !strings.Contains(strings.Join(p.Debug, "\n"), want) {
				t.Errorf("%s: %v", v, p.Debug)
			}
		}
	})
}
