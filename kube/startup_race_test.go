package kube

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/model"
)

// TestStartupBootstrapRace: the real v1.37.2 with the TAB-separated hosts
// line (Go 1.21+ reads it as dns only), three silent nameservers and IPv6
// off, on a quick machine (admission chain at 0.53 s, serving at 1.58 s),
// exited at 60.6 s after 24 DNS queries with the rbac/bootstrap-roles
// hook's fatal line, where other runs exit ~1 s later on the repair hook's
// after 26. The hook's last try falls at the instant the second shared
// lookup fails: it either gets that failure at once or joins the third
// lookup. The model predicts both, the second as the race.
func TestStartupBootstrapRace(t *testing.T) {
	v := model.V(1, 37, 2)
	lb := LoopbackHost(v, APIServerFlags{BindAddress: "0.0.0.0", BindAddressSet: true, SecurePort: 6443},
		[]IfAddr{{Interface: "lo", Prefix: netip.MustParsePrefix("127.0.0.1/8")}}, IPv6Off)
	env := model.Env{
		ResolvConf: model.File{Path: model.PathResolvConf, Data: []byte("nameserver 127.0.0.53\nnameserver 127.0.0.54\nnameserver 127.0.0.55\n")},
		NSSwitch:   model.File{Path: model.PathNSSwitch, Data: []byte("hosts: files\tdns\n")},
		Hosts:      model.File{Path: model.PathHosts, Data: []byte("127.0.0.1 localhost\n::1 localhost\n")},
	}
	prog := model.Program{Label: "kube-apiserver", Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 26, 8)}}
	m := DefaultMachine()
	m.FirstDial, m.Serving = 530*time.Millisecond, 1580*time.Millisecond
	s, err := PredictStartupOn(m, v, lb, env, prog, SilentScenario(), model.Predict)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Result
	if r.Outcome != OutcomeExits || !strings.Contains(r.Log, "start-service-ip-repair-controllers") || r.DNSQueries != 26 {
		t.Errorf("main branch: %+v", r)
	}
	if r.Race == nil {
		t.Fatalf("no race predicted: %+v", r)
	}
	o := *r.Race
	if o.Outcome != OutcomeExits || !strings.Contains(o.Log, "rbac/bootstrap-roles") || o.DNSQueries != 24 ||
		(o.Time.Duration()-60530*time.Millisecond).Abs() > 100*time.Millisecond {
		t.Errorf("race branch: %+v; the real run: exits 60.6 s, 24 queries, rbac/bootstrap-roles", o)
	}
}
