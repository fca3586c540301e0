package lab

import (
	"net/netip"
	"time"

	"github.com/nsscope/nsscope/model"
)

// fakes are what answers a run's nameserver addresses: the fake servers
// and, when a server refuses, the packet sniffer that sees what is sent
// to it; or, in a trace, the relays to real servers (trace.go). All
// record into rec.
type fakes struct {
	rec     *recorder
	servers []*fakeServer
	sniffer *sniffer
	trace   *tracer
}

// startFakes starts one fake server per faked nameserver, behaving as the
// scenario says, and the sniffer for refusing ones, on lo (ifindex), or
// a trace's relays; it describes them in res.Servers.
func startFakes(spec Spec, ifindex int, res *Result) (*fakes, error) {
	f := &fakes{rec: &recorder{}}
	tr, err := startTrace(spec, f.rec, res)
	if err != nil {
		return nil, err
	}
	f.trace = tr
	var refused []netip.Addr
	for i, a := range fakeAddrs(spec) {
		b := spec.Scenario.For(i)
		res.Servers = append(res.Servers, Server{Addr: a, Behavior: b.String()})
		if b.Kind == model.Refuse {
			refused = append(refused, a)
		}
		s, err := startServer(a, b, f.rec)
		if err != nil {
			f.stop()
			return nil, err
		}
		f.servers = append(f.servers, s)
	}
	if len(refused) > 0 {
		sn, err := startSniffer(ifindex, refused, f.rec)
		if err != nil {
			f.stop()
			return nil, err
		}
		f.sniffer = sn
	}
	return f, nil
}

// collect waits briefly for queries still queued at the servers and
// returns every recorded query with its offset from t0.
func (f *fakes) collect(t0 time.Time) []Query {
	for _, s := range f.servers {
		s.drain(200 * time.Millisecond)
	}
	f.trace.drain(200 * time.Millisecond)
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
	f.trace.stop()
}
