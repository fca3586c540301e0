package lab

import (
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/nsscope/nsscope/model"
)

// Query is one DNS message a fake server received (or, for a "refuse"
// server, one that was sent to it and refused by the kernel).
type Query struct {
	// Offset is the time since the program was started.
	Offset model.Seconds `json:"offset_seconds"`
	// Server is the nameserver address the message was sent to.
	Server netip.Addr `json:"server"`
	// Name is the question name as sent (rooted, case preserved).
	Name string `json:"name"`
	// Type is the question type: "A", "AAAA", ...
	Type      string `json:"type"`
	Transport string `json:"transport"` // "udp" or "tcp"
	ID        uint16 `json:"id"`
	// Client is the sender's address and port.
	Client string `json:"client,omitempty"`
	// EDNS reports an OPT record in the query.
	EDNS bool `json:"edns,omitempty"`
	// Action is what the server did: silent, refuse, nxdomain, servfail,
	// refused, nodata, answer, truncated.
	Action string `json:"action"`
	// Relay is what a trace's upstream did with the query (trace.go).
	Relay *Relay `json:"relay,omitempty"`
}

// recorder collects queries from several servers; safe for concurrent use.
type recorder struct {
	mu  sync.Mutex
	qs  []Query
	ats []time.Time
}

// add records one query received at time at.
func (r *recorder) add(at time.Time, server netip.Addr, transport, client, action string, m *dns.Msg) {
	q := Query{
		Server:    server,
		Transport: transport,
		ID:        m.Id,
		Client:    client,
		EDNS:      m.IsEdns0() != nil,
		Action:    action,
	}
	if len(m.Question) > 0 {
		q.Name = m.Question[0].Name
		q.Type = dns.TypeToString[m.Question[0].Qtype]
		if q.Type == "" {
			q.Type = dns.Type(m.Question[0].Qtype).String()
		}
	}
	r.mu.Lock()
	r.qs = append(r.qs, q)
	r.ats = append(r.ats, at)
	r.mu.Unlock()
}

// addQuery records a query built by the caller (a refused TCP connection,
// which carries no message).
func (r *recorder) addQuery(at time.Time, q Query) {
	r.mu.Lock()
	r.qs = append(r.qs, q)
	r.ats = append(r.ats, at)
	r.mu.Unlock()
}

// queries returns the queries in time order, with offsets from t0.
func (r *recorder) queries(t0 time.Time) []Query {
	r.mu.Lock()
	qs := append([]Query(nil), r.qs...)
	for i := range qs {
		qs[i].Offset = model.Seconds(r.ats[i].Sub(t0))
	}
	r.mu.Unlock()
	sort.SliceStable(qs, func(i, j int) bool { return qs[i].Offset < qs[j].Offset })
	return qs
}
