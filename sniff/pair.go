package sniff

import (
	"container/heap"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Exchange is one captured query and what became of it.
type Exchange struct {
	// Time is when the query was captured (the kernel's timestamp).
	Time time.Time
	// Process is the sender, nil when attribution failed (AttrError says
	// why).
	Process   *Process
	AttrError string
	Client    netip.AddrPort
	Server    netip.AddrPort
	Transport string
	ID        uint16
	// Name is the question name as sent; Type its type ("A", "AAAA").
	Name string
	Type string
	// Rcode is the response code ("NOERROR", "NXDOMAIN", ...); "" when
	// no response came.
	Rcode string
	// Answers are the answer records, one short text each ("A 127.0.0.1").
	Answers []string
	// Truncated reports the response's TC bit (the client should retry
	// over TCP).
	Truncated bool
	// Latency is from the query to its response.
	Latency time.Duration
	// Unanswered says no response came within Timeout, the resolver's
	// timeout as the client's resolv.conf sets it. A response after that
	// is counted as late, not as an answer.
	Unanswered bool
	Timeout    time.Duration
	// Retried is how long after this query the client sent the same
	// question again while still waiting for this one (0: it did not).
	Retried time.Duration
	// AnsweredAfterRetry says the response came only after that retry.
	AnsweredAfterRetry bool
}

// pairKey identifies a query for its response: transport, both ends and
// the message id.
type pairKey struct {
	transport      string
	client, server netip.AddrPort
	id             uint16
}

// retryKey identifies "the same question from the same client": the
// process (or, unattributed, the client address) and the question.
type retryKey struct {
	pid    int
	client netip.Addr
	name   string // lower case
	qtype  uint16
}

type pending struct {
	x        Exchange
	key      pairKey
	rk       retryKey
	qname    string // lower case
	qtype    uint16
	deadline time.Time
	idx      int // in the deadline heap
}

// deadlines orders pending queries by deadline.
type deadlines []*pending

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].deadline.Before(d[j].deadline) }
func (d deadlines) Swap(i, j int)      { d[i], d[j] = d[j], d[i]; d[i].idx = i; d[j].idx = j }
func (d *deadlines) Push(x any)        { p := x.(*pending); p.idx = len(*d); *d = append(*d, p) }
func (d *deadlines) Pop() any {
	old := *d
	p := old[len(old)-1]
	*d = old[:len(old)-1]
	p.idx = -1
	return p
}

// expired remembers unanswered queries for a while, so a late response is
// recognised as one.
type expired struct {
	qname string
	qtype uint16
	until time.Time
}

// tracker pairs responses with queries and flags the unanswered ones. It
// holds at most max queries; beyond that the one due first is dropped and
// counted.
type tracker struct {
	max    int
	byKey  map[pairKey][]*pending
	byQ    map[retryKey][]*pending
	heap   deadlines
	late   map[pairKey]expired
	emit   func(Exchange)
	counts trackerCounts
	nextGC time.Time
}

type trackerCounts struct {
	// Overflow counts queries dropped from tracking because max were
	// pending.
	Overflow int `json:"pending_overflow"`
	// Unmatched counts responses that matched no query seen (sent before
	// the capture began, or to a query whose packet was lost).
	Unmatched int `json:"unmatched_responses"`
	// Late counts responses that came after the query was flagged
	// unanswered.
	Late int `json:"late_responses"`
	// InFlight counts queries still waiting at the end of the capture.
	InFlight int `json:"in_flight_at_exit"`
}

func newTracker(max int, emit func(Exchange)) *tracker {
	return &tracker{max: max, byKey: map[pairKey][]*pending{}, byQ: map[retryKey][]*pending{},
		late: map[pairKey]expired{}, emit: emit}
}

func question(m *dns.Msg) (string, uint16) {
	if len(m.Question) == 0 {
		return "", 0
	}
	return strings.ToLower(m.Question[0].Name), m.Question[0].Qtype
}

func typeName(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return dns.Type(t).String()
}

// query records a query captured at at, sent from client to server,
// attributed as attr, whose resolver gives up after timeout.
func (t *tracker) query(at time.Time, transport string, client, server netip.AddrPort, m *dns.Msg, attr Attribution, timeout time.Duration) {
	qname, qtype := question(m)
	p := &pending{
		x: Exchange{Time: at, Process: attr.Process, AttrError: attr.Err, Client: client, Server: server,
			Transport: transport, ID: m.Id, Type: typeName(qtype), Timeout: timeout},
		key:      pairKey{transport, client, server, m.Id},
		qname:    qname,
		qtype:    qtype,
		deadline: at.Add(timeout),
	}
	if len(m.Question) > 0 {
		p.x.Name = m.Question[0].Name
	}
	p.rk = retryKey{name: qname, qtype: qtype}
	if attr.Process != nil {
		p.rk.pid = attr.Process.PID
	} else {
		p.rk.client = client.Addr()
	}
	// The same question while an earlier one still waits: a retry. A
	// resend at the earlier one's timeout is the resolver's next attempt
	// after giving up, not a retry while waiting (a tenth of the timeout
	// absorbs the capture's timestamp jitter).
	for _, q := range t.byQ[p.rk] {
		if q.x.Retried == 0 && at.After(q.x.Time) && at.Before(q.deadline.Add(-q.x.Timeout/10)) {
			q.x.Retried = at.Sub(q.x.Time)
		}
	}
	if len(t.heap) >= t.max {
		old := heap.Pop(&t.heap).(*pending)
		t.forget(old)
		t.counts.Overflow++
	}
	t.byKey[p.key] = append(t.byKey[p.key], p)
	t.byQ[p.rk] = append(t.byQ[p.rk], p)
	heap.Push(&t.heap, p)
}

// response pairs a response captured at at with its query.
func (t *tracker) response(at time.Time, transport string, client, server netip.AddrPort, m *dns.Msg) {
	k := pairKey{transport, client, server, m.Id}
	qname, qtype := question(m)
	matches := func(pn string, pt uint16) bool {
		// A response without a question (FORMERR, some errors) pairs by id.
		return qname == "" || (pn == qname && pt == qtype)
	}
	var hit []*pending
	for _, p := range t.byKey[k] {
		if matches(p.qname, p.qtype) {
			hit = append(hit, p)
		}
	}
	if len(hit) == 0 {
		if e, ok := t.late[k]; ok && matches(e.qname, e.qtype) {
			delete(t.late, k)
			t.counts.Late++
			return
		}
		t.counts.Unmatched++
		return
	}
	// One response answers every copy of the query (a client resending
	// the same message on the same socket).
	for _, p := range hit {
		heap.Remove(&t.heap, p.idx)
		t.forget(p)
		x := p.x
		x.Rcode = dns.RcodeToString[m.Rcode]
		x.Truncated = m.Truncated
		x.Latency = at.Sub(x.Time)
		x.AnsweredAfterRetry = x.Retried > 0 && x.Retried < x.Latency
		for _, rr := range m.Answer {
			x.Answers = append(x.Answers, answerText(rr))
		}
		t.emit(x)
	}
}

// answerText renders one answer record briefly: "A 127.0.0.1".
func answerText(rr dns.RR) string {
	h := rr.Header()
	s := rr.String()
	// Drop the header fields (name, TTL, class, type).
	hs := h.String()
	return typeName(h.Rrtype) + " " + strings.TrimSpace(strings.TrimPrefix(s, hs))
}

// forget removes p from the indexes (not from the heap).
func (t *tracker) forget(p *pending) {
	t.byKey[p.key] = remove(t.byKey[p.key], p)
	if len(t.byKey[p.key]) == 0 {
		delete(t.byKey, p.key)
	}
	t.byQ[p.rk] = remove(t.byQ[p.rk], p)
	if len(t.byQ[p.rk]) == 0 {
		delete(t.byQ, p.rk)
	}
}

func remove(ps []*pending, p *pending) []*pending {
	for i, q := range ps {
		if q == p {
			return append(ps[:i], ps[i+1:]...)
		}
	}
	return ps
}

// expire flags every query whose deadline is at or before now.
func (t *tracker) expire(now time.Time) {
	for len(t.heap) > 0 && !t.heap[0].deadline.After(now) {
		p := heap.Pop(&t.heap).(*pending)
		t.forget(p)
		x := p.x
		x.Unanswered = true
		if len(t.late) < t.max {
			t.late[p.key] = expired{p.qname, p.qtype, p.deadline.Add(p.x.Timeout)}
		}
		t.emit(x)
	}
	if now.After(t.nextGC) {
		for k, e := range t.late {
			if now.After(e.until) {
				delete(t.late, k)
			}
		}
		t.nextGC = now.Add(time.Second)
	}
}

// finish ends tracking at now: what is past its deadline is flagged, what
// is still within it is counted as in flight.
func (t *tracker) finish(now time.Time) {
	t.expire(now)
	t.counts.InFlight += len(t.heap)
}
