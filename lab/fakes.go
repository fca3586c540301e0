package lab

import (
	"net/netip"
	"time"

	"github.com/nsscope/nsscope/model"
)

// fakes are a run's fake nameservers and, when a server refuses, the
// packet sniffer that sees what is sent to it; all record into rec.
type fakes struct {
	rec     *recorder
	servers []*fakeServer
	sniffer *sniffer
}

// startFakes starts one fake server per nameserver, behaving as the
// scenario says, and the sniffer for refusing ones, on lo (ifindex). It
// returns the servers as the result describes them.
func startFakes(spec Spec, ifindex int) (*fakes, []Server, error) {
	f := &fakes{rec: &recorder{}}
	var described []Server
	var refused []netip.Addr
	for i, a := range fakeAddrs(spec) {
		b := spec.Scenario.For(i)
		described = append(described, Server{Addr: a, Behavior: b.String()})
		if b.Kind == model.Refuse {
			refused = append(refused, a)
		}
		s, err := startServer(a, b, f.rec)
		if err != nil {
			f.stop()
			return nil, nil, err
		}
		f.servers = append(f.servers, s)
	}
	if len(refused) > 0 {
		sn, err := startSniffer(ifindex, refused, f.rec)
		if err != nil {
			f.stop()
			return nil, nil, err
		}
		f.sniffer = sn
	}
	return f, described, nil
}

// collect waits briefly for queries still queued at the servers and
// returns every recorded query with its offset from t0.
func (f *fakes) collect(t0 time.Time) []Query {
	for _, s := range f.servers {
		s.drain(200 * time.Millisecond)
	}
	if f.sniffer != nil {
		f.sniffer.stop() // reads what is queued first
	}
	return f.rec.queries(t0)
}

// stop shuts every server and the sniffer down (again, harmlessly).
func (f *fakes) stop() {
	for _, s := range f.servers {
		s.stop()
	}
	if f.sniffer != nil {
		f.sniffer.stop()
	}
}
