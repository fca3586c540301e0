package kube

import (
	"net/netip"
	"slices"
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
// lookup; and its 30th poll tick comes with its 30 s timer, so it makes
// one more ordinary try or not. A second real run (serving at 1.25 s) took
// the other branch. The model predicts every branch, the others as races.
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
	rbac := "rbac/bootstrap-roles"
	repair := "start-service-ip-repair-controllers"
	priority := "scheduling/bootstrap-system-priority-classes"
	for _, tc := range []struct {
		name             string
		firstDial, serve time.Duration
		realLog          string
		realQueries      int
		realTime         time.Duration
	}{
		// Two real runs in CI of this work, each a different branch.
		{"serving 1.58 s", 530 * time.Millisecond, 1580 * time.Millisecond, rbac, 24, 60590 * time.Millisecond},
		{"serving 1.25 s", 450 * time.Millisecond, 1250 * time.Millisecond, repair, 26, 61250 * time.Millisecond},
		// A third, in a side-by-side round: the priority-classes hook's
		// last try took the failure as rbac's did in the first run, and
		// printed its fatal line after the third lookup's first query.
		{"serving 1.47 s", 400 * time.Millisecond, 1470 * time.Millisecond, priority, 25, 60490 * time.Millisecond},
	} {
		m := DefaultMachine()
		m.FirstDial, m.Serving = tc.firstDial, tc.serve
		s, err := PredictStartupOn(m, v, lb, env, prog, SilentScenario(), model.Predict)
		if err != nil {
			t.Fatal(err)
		}
		all := append([]StartupResult{s.Result}, s.Result.Races...)
		matched := false
		for _, r := range all {
			logged := slices.ContainsFunc(append([]string{r.Log}, r.Also...), func(l string) bool { return strings.Contains(l, tc.realLog) })
			if r.Outcome == OutcomeExits && logged && tc.realQueries >= r.DNSQueries && tc.realQueries <= r.DNSQueries+r.DNSQueriesAtExit &&
				(r.Time.Duration()-tc.realTime).Abs() < 2*time.Second {
				matched = true
			}
		}
		if !matched {
			t.Errorf("%s: no predicted branch is the real run (exits %s, %d queries, %s): %+v", tc.name, tc.realTime, tc.realQueries, tc.realLog, all)
		}
		if len(all) < 2 {
			t.Errorf("%s: the hooks' race is not predicted: %+v", tc.name, all)
		}
	}
}
