package kube

import (
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/model"
)

// silentLookup is a lookup of rounds A+AAAA pairs 5 s apart against
// silent servers, ending with a hosts fallback (ok) or an error.
func silentLookup(rounds int, ok bool) model.LookupRun {
	r := model.LookupRun{Total: time.Duration(rounds) * 5 * time.Second, OK: ok}
	for i := range rounds {
		t := time.Duration(i) * 5 * time.Second
		r.Sends = append(r.Sends, t, t)
	}
	if !ok {
		r.Err = "lookup localhost on 127.0.0.55:53: i/o timeout"
	}
	return r
}

func TestSimulateStartup(t *testing.T) {
	lb := Loopback{Host: "localhost", Port: 6443, Lookup: true}
	m := DefaultMachine()
	for _, tt := range []struct {
		name    string
		v       model.Version
		run     model.LookupRun
		era     model.ShareEra
		outcome string
		at      time.Duration
		queries int
		log     string
	}{
		{"1.37: a 30 s lookup fails only the type converter that started it", model.V(1, 37, 2), silentLookup(6, true), model.ShareDetached,
			OutcomeReady, 32500 * time.Millisecond, 12, "error deleting old lease"},
		{"1.37: a 10 s lookup ends before anyone gives up", model.V(1, 37, 2), silentLookup(2, true), model.ShareDetached,
			OutcomeReady, 12500 * time.Millisecond, 4, ""},
		{"1.37: a 45 s lookup outlives the repair's only try: exit 60 s after serving", model.V(1, 37, 2), silentLookup(9, true), model.ShareDetached,
			OutcomeExits, 63 * time.Second, 18, `PostStartHook "start-service-ip-repair-controllers" failed`},
		{"1.37: failing lookups restart at once; 26 queries before the exit", model.V(1, 37, 2), silentLookup(6, false), model.ShareDetached,
			OutcomeExits, 63 * time.Second, 26, `PostStartHook "start-service-ip-repair-controllers" failed`},
		{"1.24: the repair's first error is fatal, 30 s after serving (the round due then is not sent)", model.V(1, 24, 17), silentLookup(9, true), model.ShareDetached,
			OutcomeExits, 33 * time.Second, 12, `Unable to perform initial IP allocation check: unable to refresh the service IP block: Get "https://localhost:6443/api/v1/services": dial tcp: lookup localhost: i/o timeout`},
		{"1.24: a 30 s lookup started by the informers at serving fails the repair too", model.V(1, 24, 17), silentLookup(6, true), model.ShareDetached,
			OutcomeExits, 33 * time.Second, 12, "Unable to perform initial IP allocation check"},
		{"1.24: a 20 s lookup is shared by all: ready", model.V(1, 24, 17), silentLookup(4, true), model.ShareDetached,
			OutcomeReady, 24500 * time.Millisecond, 8, ""},
		{"Go 1.9 era: the first caller's deadline ends the shared lookup for all", model.V(1, 24, 17), silentLookup(4, true), model.ShareFirstCaller,
			OutcomeReady, 24500 * time.Millisecond, 8, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, why := SimulateStartup(tt.v, lb, tt.run, tt.era, m)
			if res.Outcome != tt.outcome || res.Time.Duration() != tt.at || res.DNSQueries != tt.queries || !strings.HasPrefix(res.Log, tt.log) || (tt.log == "") != (res.Log == "") {
				t.Errorf("got %s at %s, %d queries, %q; want %s at %s, %d, %q\n%s", res.Outcome, res.Time, res.DNSQueries, res.Log, tt.outcome, tt.at, tt.queries, tt.log, strings.Join(why, "\n"))
			}
		})
	}
}
