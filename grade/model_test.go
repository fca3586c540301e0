package grade

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/sysenv"
)

// TestRunWithModel runs the verdicts on the real model for the cases the
// reference notes work out (libc-k8s-resolver.md §F, go-resolver.md).
func TestRunWithModel(t *testing.T) {
	noNSS := fstest.MapFS{"etc/hosts": {Data: []byte("127.0.0.1 localhost\n")}}
	dnsFiles := fstest.MapFS{"etc/nsswitch.conf": {Data: []byte("passwd: files\nhosts: dns files\n")}}
	filesDNS := fstest.MapFS{"etc/nsswitch.conf": {Data: []byte("hosts: files dns\n")}}
	go115 := model.Program{Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 15, 7)}}
	glibc := func(minor int) model.Program {
		return model.Program{Impl: model.ImplGlibc, Libc: model.Libc{Kind: "glibc", Version: model.V(2, minor, -1)}}
	}
	musl := model.Program{Impl: model.ImplMusl, Libc: model.Libc{Kind: "musl", Version: model.V(1, 2, 2)}}
	nodeNoLocalhost := &model.File{Path: "/etc/hosts", Origin: "node hosts", Data: []byte("10.0.0.5 node1\n")}
	nodeResolv := &model.File{Path: "/etc/resolv.conf", Origin: "node resolv.conf", Data: []byte("nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\nsearch a.example b.example c.example\noptions ndots:5\n")}

	tests := []struct {
		name      string
		root      fstest.MapFS
		prog      model.Program
		rt        Runtime
		names     []string
		want      report.Severity
		rule      string
		time      time.Duration
		fixes     []string // substrings of the fixes offered, in order
		noFix     string   // a fix that must not be offered
		fixAfter0 bool
	}{
		{"Go 1.15, no nsswitch.conf, kubernetes", noNSS, go115, Runtime{Kind: Kubernetes}, nil,
			report.Critical, report.RuleDNSFirstFails, 30 * time.Second,
			[]string{"add `hosts: files dns`", "rebuild with Go >= 1.16", "dial 127.0.0.1"}, "", true},
		{"Go 1.15, explicit hosts: dns files", dnsFiles, go115, Runtime{Kind: Kubernetes}, nil,
			report.Critical, report.RuleDNSFirstFails, 30 * time.Second,
			[]string{"change line 2 of /etc/nsswitch.conf from `hosts: dns files`"}, "Go >= 1.16", true},
		{"Go 1.15, files dns", filesDNS, go115, Runtime{Kind: Kubernetes}, nil,
			report.Info, report.RuleHostsFirst, 0, nil, "", false},
		{"Go 1.15, docker runtime: 20 s within the deadline", noNSS, go115, Runtime{Kind: Docker}, nil,
			report.Warning, report.RuleDNSFirst, 20 * time.Second, []string{"add `hosts: files dns`"}, "", true},
		// dns [!UNAVAIL=return] files: a timeout is UNAVAIL, so files
		// follow; glibc asks 2 names (the first search domain stops the
		// search), 2 × 2 attempts × 5 s = 20 s.
		{"glibc 2.31, no nsswitch.conf: DNS first", noNSS, glibc(31), Runtime{Kind: Kubernetes}, nil,
			report.Warning, report.RuleDNSFirst, 20 * time.Second,
			[]string{"add `hosts: files dns`", "glibc >= 2.35"}, "Go >= 1.16", true},
		{"glibc 2.36, no nsswitch.conf", noNSS, glibc(36), Runtime{Kind: Kubernetes}, nil,
			report.Info, report.RuleHostsFirst, 0, nil, "", false},
		{"musl, hostNetwork node without localhost", noNSS, musl,
			Runtime{Kind: Kubernetes, HostNetwork: true, NodeResolvConf: nodeResolv, NodeHosts: nodeNoLocalhost}, nil,
			report.Info, report.RuleDNSOnly, 5 * time.Second, nil, "", false},
		{"Go 1.15, a name only DNS knows", noNSS, go115, Runtime{Kind: Kubernetes}, []string{"db.internal"},
			report.Info, report.RuleDNSOnly, 30 * time.Second, nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, err := Run(Input{Target: "test", Root: sysenv.FS{FS: tt.root}, Runtime: tt.rt, Names: tt.names,
				Programs: []Program{{Path: "/app", Main: true, Variants: []Variant{{Program: tt.prog}}}}})
			if err != nil {
				t.Fatal(err)
			}
			f := rep.Findings[0]
			if f.Severity != tt.want || f.RuleID != tt.rule {
				t.Fatalf("%s %s (%s), want %s %s\n%s", f.Severity, f.RuleID, f.Message, tt.want, tt.rule, strings.Join(f.Reasons, "\n"))
			}
			if tt.time != 0 && f.Time.Duration() != tt.time {
				t.Errorf("time %s, want %s", f.Time, tt.time)
			}
			var got []string
			for _, fx := range f.Fixes {
				got = append(got, fx.Description)
				if tt.fixAfter0 && (fx.After != 0 || fx.AfterQueries != 0) && !strings.Contains(fx.Description, "Go >= 1.16") {
					t.Errorf("fix %q: after %s, %d queries; want 0", fx.Description, fx.After, fx.AfterQueries)
				}
				if tt.noFix != "" && strings.Contains(fx.Description, tt.noFix) {
					t.Errorf("fix %q offered, but it does not help", fx.Description)
				}
			}
			if len(got) < len(tt.fixes) {
				t.Fatalf("fixes %q, want %q", got, tt.fixes)
			}
			for i, w := range tt.fixes {
				if !strings.Contains(got[i], w) {
					t.Errorf("fix %d %q, want %q", i, got[i], w)
				}
			}
		})
	}
}
