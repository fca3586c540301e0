package grade

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/sysenv"
)

func TestClassify(t *testing.T) {
	const dl = 30 * time.Second
	tests := []struct {
		name         string
		pred         model.Prediction
		hostsAnswers bool
		want         report.Severity
		rule         string
	}{
		{"hosts first, no DNS", model.Prediction{AnsweredFrom: model.FromHosts}, true, report.Info, report.RuleHostsFirst},
		{"address literal", model.Prediction{AnsweredFrom: model.FromNone}, true, report.Info, report.RuleHostsFirst},
		{"dns,files cut by the deadline", model.Prediction{Queries: 16, Total: model.Seconds(dl), DeadlineExceeded: true, AnsweredFrom: model.FromNone, Error: "dial tcp: i/o timeout"}, true, report.Critical, report.RuleDNSFirstFails},
		{"dns,files exactly at the deadline", model.Prediction{Queries: 12, Total: model.Seconds(dl), AnsweredFrom: model.FromHosts}, true, report.Critical, report.RuleDNSFirstFails},
		{"dns,files within the deadline", model.Prediction{Queries: 4, Total: model.Seconds(10 * time.Second), AnsweredFrom: model.FromHosts}, true, report.Warning, report.RuleDNSFirst},
		{"glibc dns [!UNAVAIL=return] files fails early", model.Prediction{Queries: 4, Total: model.Seconds(20 * time.Second), AnsweredFrom: model.FromNone, Error: "lookup localhost: Temporary failure in name resolution"}, true, report.Critical, report.RuleDNSFirstFails},
		{"name not in hosts", model.Prediction{Queries: 16, Total: model.Seconds(dl), DeadlineExceeded: true}, false, report.Info, report.RuleDNSOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sev, rule := classify(&tt.pred, tt.hostsAnswers, dl)
			if sev != tt.want || rule != tt.rule {
				t.Errorf("classify = %s %s, want %s %s", sev, rule, tt.want, tt.rule)
			}
		})
	}
}

func TestRuntimeFiles(t *testing.T) {
	own := model.File{Path: "/etc/resolv.conf", Data: []byte("nameserver 192.0.2.1\n")}
	ownHosts := model.File{Path: "/etc/hosts", Missing: true}
	given := &model.File{Path: "/tmp/r.conf", Origin: "r.conf", Data: []byte("nameserver 192.0.2.9\n")}
	tests := []struct {
		name        string
		rt          Runtime
		wantResolv  string
		wantHosts   string
		wantAssumed string
		wantErr     string
	}{
		{"kubernetes defaults", Runtime{Kind: Kubernetes},
			"search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
			"127.0.0.1\tlocalhost\n", "ClusterFirst, namespace default", ""},
		{"kubernetes namespace and domain", Runtime{Kind: Kubernetes, Namespace: "kube-system", ClusterDomain: "corp.local", ClusterDNS: "10.0.0.10"},
			"search kube-system.svc.corp.local svc.corp.local corp.local\nnameserver 10.0.0.10\noptions ndots:5\n",
			"# Kubernetes-managed hosts file.\n", "namespace kube-system", ""},
		{"kubernetes hostNetwork without node files", Runtime{Kind: Kubernetes, HostNetwork: true}, "", "", "", "hostNetwork"},
		{"kubernetes hostNetwork", Runtime{Kind: Kubernetes, HostNetwork: true, NodeResolvConf: given, NodeHosts: &model.File{Path: "/etc/hosts", Data: []byte("10.0.0.1 node\n")}},
			"nameserver 192.0.2.9\n", "10.0.0.1 node\n", "hostNetwork pod", ""},
		{"docker", Runtime{Kind: Docker}, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n", "ff02::1\tip6-allnodes\n", "default bridge", ""},
		{"none", Runtime{Kind: None}, "nameserver 192.0.2.1\n", "", "target's own", ""},
		// The given file replaces the runtime's, and so does its assumption
		// (was: the kubelet's resolv.conf described, then r.conf "as given").
		{"override", Runtime{Kind: Kubernetes, ResolvConf: given}, "nameserver 192.0.2.9\n", "localhost", "runtime kubernetes, dnsPolicy ClusterFirst, namespace default: /etc/resolv.conf is r.conf, as given\n/etc/hosts is the kubelet-managed file", ""},
		{"none, hosts given missing", Runtime{Kind: None, Hosts: &model.File{Path: "/etc/hosts", Origin: "--hosts missing", Missing: true}}, "nameserver 192.0.2.1\n", "", "runtime none: /etc/resolv.conf is the target's own file\n/etc/hosts is missing, as given (--hosts missing)", ""},
		{"unknown", Runtime{Kind: "podman"}, "", "", "", "unknown runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := tt.rt.apply(own, ownHosts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(f.resolv.Data); got != tt.wantResolv {
				t.Errorf("resolv.conf = %q, want %q", got, tt.wantResolv)
			}
			if !strings.Contains(string(f.hosts.Data), tt.wantHosts) {
				t.Errorf("hosts = %q, want it to contain %q", f.hosts.Data, tt.wantHosts)
			}
			if f.resolv.Path != "/etc/resolv.conf" || f.hosts.Path != "/etc/hosts" {
				t.Errorf("paths %q %q", f.resolv.Path, f.hosts.Path)
			}
			if !strings.Contains(strings.Join(f.assumptions, "\n"), tt.wantAssumed) {
				t.Errorf("assumptions %q lack %q", f.assumptions, tt.wantAssumed)
			}
		})
	}
	if _, err := ParseRuntimeKind("Kubernetes"); err != nil {
		t.Error(err)
	}
	if _, err := ParseRuntimeKind("k8s"); err == nil {
		t.Error("k8s accepted")
	}
}

// gitApply applies diff with `git apply` in a root that holds cur and
// checks the result is want.
func gitApply(t *testing.T, cur model.File, diff string, want []byte) {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Log("git not installed: the diff is not applied")
		return
	}
	root := t.TempDir()
	p := filepath.Join(root, filepath.FromSlash(cur.Path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if !cur.Missing {
		if err := os.WriteFile(p, cur.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(git, "apply", "-")
	cmd.Dir, cmd.Stdin = root, strings.NewReader(diff)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply: %v: %s", err, out)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("after git apply %q, want %q", got, want)
	}
}

func TestNSSwitchFix(t *testing.T) {
	tests := []struct {
		name     string
		cur      model.File
		wantData string
		wantDesc string
		wantDiff string
	}{
		{"missing", model.File{Path: "/etc/nsswitch.conf", Missing: true}, "hosts: files dns\n", "the file is missing",
			"--- /dev/null\n+++ b/etc/nsswitch.conf\n@@ -0,0 +1 @@\n+hosts: files dns\n"},
		{"dns first", model.File{Path: "/etc/nsswitch.conf", Data: []byte("passwd: files\nhosts:   dns files\n")},
			"passwd: files\nhosts: files dns\n", "change line 2",
			"--- a/etc/nsswitch.conf\n+++ b/etc/nsswitch.conf\n@@ -1,2 +1,2 @@\n passwd: files\n-hosts:   dns files\n+hosts: files dns\n"},
		{"no hosts line, no final newline", model.File{Path: "/etc/nsswitch.conf", Data: []byte("passwd: files")},
			"passwd: files\nhosts: files dns\n", "no hosts line",
			"--- a/etc/nsswitch.conf\n+++ b/etc/nsswitch.conf\n@@ -1 +1,2 @@\n-passwd: files\n\\ No newline at end of file\n+passwd: files\n+hosts: files dns\n"},
		{"two hosts lines", model.File{Path: "/etc/nsswitch.conf", Data: []byte("hosts: \nhosts:")},
			"hosts: files dns\n", "delete the 1 later hosts lines",
			"--- a/etc/nsswitch.conf\n+++ b/etc/nsswitch.conf\n@@ -1,2 +1 @@\n-hosts: \n+hosts: files dns\n-hosts:\n\\ No newline at end of file\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desc, diff, next := nsswitchFix(tt.cur)
			if string(next.Data) != tt.wantData {
				t.Errorf("data %q, want %q", next.Data, tt.wantData)
			}
			if !strings.Contains(desc, tt.wantDesc) {
				t.Errorf("description %q lacks %q", desc, tt.wantDesc)
			}
			if diff != tt.wantDiff {
				t.Errorf("diff\n%s\nwant\n%s", diff, tt.wantDiff)
			}
			gitApply(t, tt.cur, diff, next.Data)
		})
	}
}

// fakeModel is a deliberately tiny stand-in for the model, used only to
// test how scan wires its inputs (runtime files, variants, fixes) into
// model calls: a Go < 1.16 program without nsswitch.conf asks DNS first
// and costs 10 s per candidate; everything else reads /etc/hosts first.
func fakeModel(env model.Env, p model.Program, req model.Request, sc model.Scenario) (*model.Prediction, error) {
	if p.Impl == model.ImplGo && p.Go.Version.Less(model.V(1, 10, 0)) {
		return nil, errTooOld
	}
	pred := &model.Prediction{Program: p, Request: req, Resolver: "go", Order: "files,dns"}
	if req.Name == "127.0.0.1" {
		pred.AnsweredFrom = model.FromNone
		return pred, nil
	}
	inHosts := strings.Contains(string(env.Hosts.Data), "\t"+req.Name+"\n") || strings.Contains(string(env.Hosts.Data), " "+req.Name+"\n")
	dnsFirst := p.Impl == model.ImplGo && env.NSSwitch.Missing && p.Go.Version.Less(model.V(1, 16, 0))
	if p.Impl == model.ImplGo && p.Go.Cgo && env.NSSwitch.Missing {
		dnsFirst = true // pretend: the libc variant asks DNS first
	}
	pred.Steps = []model.Step{{Key: "order", Value: "files,dns", Reason: "fake", Source: &model.Pos{File: env.NSSwitch.Name()}}}
	if dnsFirst {
		pred.Order = "dns,files"
		pred.Steps[0].Value = "dns,files"
		pred.Candidates = strings.Fields("localhost.default.svc.cluster.local. localhost.svc.cluster.local. localhost.cluster.local. localhost.")
		pred.Servers = []string{"10.96.0.10:53"}
		pred.Queries = 16
		pred.Total = model.Seconds(40 * time.Second)
		if req.Deadline > 0 && pred.Total >= req.Deadline {
			pred.Total, pred.DeadlineExceeded, pred.Error = req.Deadline, true, "dial tcp: i/o timeout"
			return pred, nil
		}
	}
	if inHosts {
		pred.AnsweredFrom = model.FromHosts
	} else {
		pred.AnsweredFrom = model.FromNone
		pred.Error = "no such host"
	}
	return pred, nil
}

type constErr string

func (e constErr) Error() string { return string(e) }

const errTooOld = constErr("model: Go 1.9 is outside the model (1.10-1.27)")

func goProg(v model.Version) model.Program {
	return model.Program{Impl: model.ImplGo, Go: model.GoBuild{Version: v}}
}

func TestRunVerdicts(t *testing.T) {
	alpine := fstest.MapFS{"etc/hosts": {Data: []byte("127.0.0.1\tlocalhost\n")}}
	withNSS := fstest.MapFS{"etc/nsswitch.conf": {Data: []byte("hosts: files dns\n")}}
	tests := []struct {
		name     string
		root     fstest.MapFS
		prog     Program
		names    []string
		want     []report.Severity
		rules    []string
		wantMsg  string
		wantFix  string
		fixAfter time.Duration
	}{
		{"go1.15 no nsswitch", alpine, Program{Path: "/usr/bin/esbuild", Main: true, Facts: []string{"Go 1.15.7"},
			Variants: []Variant{{Program: goProg(model.V(1, 15, 7))}}}, nil,
			[]report.Severity{report.Critical}, []string{report.RuleDNSFirstFails}, "reach the 30s deadline (40s without it)",
			"add `hosts: files dns` to /etc/nsswitch.conf (the file is missing)", 0},
		{"go1.16 no nsswitch", alpine, Program{Path: "/esbuild", Variants: []Variant{{Program: goProg(model.V(1, 16, 3))}}}, nil,
			[]report.Severity{report.Info}, []string{report.RuleHostsFirst}, "answered from /etc/hosts", "", 0},
		{"go1.15 with nsswitch", withNSS, Program{Path: "/esbuild", Variants: []Variant{{Program: goProg(model.V(1, 15, 7))}}}, nil,
			[]report.Severity{report.Info}, []string{report.RuleHostsFirst}, "", "", 0},
		{"name not in hosts", alpine, Program{Path: "/esbuild", Variants: []Variant{{Program: goProg(model.V(1, 16, 3))}}}, []string{"db.internal"},
			[]report.Severity{report.Info}, []string{report.RuleDNSOnly}, "not in /etc/hosts", "", 0},
		{"outside the model", alpine, Program{Path: "/old", Variants: []Variant{{Program: goProg(model.V(1, 9, 0))}}}, nil,
			[]report.Severity{report.Warning}, []string{report.RuleUnknown}, "outside the model", "", 0},
		{"no variant", alpine, Program{Path: "/static-c", Unknown: "static C program, libc unknown"}, nil,
			[]report.Severity{report.Warning}, []string{report.RuleUnknown}, "libc unknown", "", 0},
		{"variants disagree", alpine, Program{Path: "/mystery", Variants: []Variant{
			{Assume: "no cgo resolver", Program: goProg(model.V(1, 20, 0))},
			{Assume: "cgo resolver compiled in", Program: model.Program{Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 20, 0), Cgo: true}}},
		}}, nil, []report.Severity{report.Warning}, []string{report.RuleUnknown}, "info if no cgo resolver, critical if cgo resolver compiled in", "hosts: files dns", 0},
		{"two names", alpine, Program{Path: "/esbuild", Variants: []Variant{{Program: goProg(model.V(1, 15, 7))}}}, []string{"localhost", "db"},
			[]report.Severity{report.Critical, report.Info}, []string{report.RuleDNSFirstFails, report.RuleDNSOnly}, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, err := Run(Input{Target: "t", Root: sysenv.FS{FS: tt.root}, Programs: []Program{tt.prog}, Names: tt.names,
				Runtime: Runtime{Kind: Kubernetes}, Predict: fakeModel})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Findings) != len(tt.want) {
				t.Fatalf("%d findings, want %d", len(rep.Findings), len(tt.want))
			}
			for i, f := range rep.Findings {
				if f.Severity != tt.want[i] || f.RuleID != tt.rules[i] {
					t.Errorf("finding %d: %s %s, want %s %s (%s)", i, f.Severity, f.RuleID, tt.want[i], tt.rules[i], f.Message)
				}
				if f.Subject != tt.prog.Path || f.Location.Path != tt.prog.Path || f.Main != tt.prog.Main {
					t.Errorf("finding %d: subject %q location %q main %v", i, f.Subject, f.Location.Path, f.Main)
				}
			}
			f := rep.Findings[0]
			if !strings.Contains(f.Message, tt.wantMsg) {
				t.Errorf("message %q lacks %q", f.Message, tt.wantMsg)
			}
			if tt.wantFix != "" {
				if len(f.Fixes) == 0 {
					t.Fatalf("no fix; reasons %q", f.Reasons)
				}
				if !strings.Contains(f.Fixes[0].Description, tt.wantFix) || f.Fixes[0].After.Duration() != tt.fixAfter {
					t.Errorf("first fix %+v, want %q after %s", f.Fixes[0], tt.wantFix, tt.fixAfter)
				}
			} else if f.Severity == report.Info && len(f.Fixes) > 0 {
				t.Errorf("a safe finding has fixes: %+v", f.Fixes)
			}
			if !strings.Contains(strings.Join(rep.Assumptions, "\n"), "silently drops") {
				t.Errorf("assumptions do not state the scenario: %q", rep.Assumptions)
			}
		})
	}
}

// TestFixesAreComputed checks that every fix's "after" comes from
// re-running the model: a model that makes the Go upgrade worthless must
// drop that fix.
func TestFixesAreComputed(t *testing.T) {
	root := fstest.MapFS{"etc/hosts": {Data: []byte("127.0.0.1\tlocalhost\n")}}
	in := Input{Root: sysenv.FS{FS: root}, Programs: []Program{{Path: "/esbuild", Variants: []Variant{{Program: goProg(model.V(1, 15, 7))}}}},
		Runtime: Runtime{Kind: Kubernetes}}
	in.Predict = fakeModel
	rep, err := Run(in)
	if err != nil {
		t.Fatal(err)
	}
	var descs []string
	for _, fx := range rep.Findings[0].Fixes {
		descs = append(descs, fx.Description)
	}
	all := strings.Join(descs, "\n")
	for _, want := range []string{"nsswitch.conf", "Go >= 1.16", "dial 127.0.0.1"} {
		if !strings.Contains(all, want) {
			t.Errorf("fixes %q lack %q", descs, want)
		}
	}
	in.Predict = func(env model.Env, p model.Program, req model.Request, sc model.Scenario) (*model.Prediction, error) {
		if p.Go.Version.AtLeast(1, 16, 0) {
			p.Go.Version = model.V(1, 15, 7) // the upgrade changes nothing
		}
		return fakeModel(env, p, req, sc)
	}
	rep, err = Run(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, fx := range rep.Findings[0].Fixes {
		if strings.Contains(fx.Description, "Go >= 1.16") {
			t.Errorf("a fix that does not help was kept: %+v", fx)
		}
	}
}

func TestRunInputErrors(t *testing.T) {
	if _, err := Run(Input{}); err == nil {
		t.Error("no root accepted")
	}
	if _, err := Run(Input{Root: sysenv.FS{FS: fstest.MapFS{}}, Runtime: Runtime{Kind: "lxc"}}); err == nil {
		t.Error("unknown runtime accepted")
	}
	rep, err := Run(Input{Root: sysenv.FS{FS: fstest.MapFS{}}, Env: []string{"GODEBUG=netdns=go", "PATH=/bin"}, Predict: fakeModel})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(rep.Assumptions, "\n"), "GODEBUG, PATH") {
		t.Errorf("image environment not stated: %q", rep.Assumptions)
	}
}
