package model

import (
	"container/heap"
	"fmt"
	"time"
)

// ShareEra is how a Go release shares one in-flight lookup of a name
// between goroutines that ask for it at the same time. Every Go release
// since 1.5 folds concurrent lookups of one network and name into one
// (net/lookup.go's lookupGroup, a singleflight group); the eras differ in
// what happens when a caller's context ends while the lookup runs.
type ShareEra string

const (
	// ShareUncancelled is Go 1.5-1.7 (lookupIPDeadline): the lookup has no
	// context and always runs to its end. A caller whose deadline passes
	// returns "i/o timeout" and makes the group forget the name, so the
	// next caller starts a second lookup while the first still runs
	// (golang/go#8602, #10117).
	ShareUncancelled ShareEra = "uncancelled"
	// ShareFirstCaller is Go 1.8-1.10.0: the lookup runs under its first
	// caller's context. When that caller's deadline passes the lookup
	// stops and every caller waiting on it gets the same error; any caller
	// whose deadline passes makes the group forget the name
	// (golang/go#20703, #22724).
	ShareFirstCaller ShareEra = "first-caller"
	// ShareDetached is Go 1.10.1 and later (CL 100840 for golang/go#22724;
	// context values kept since 1.12, #28600): the lookup runs under a
	// context of its own. A caller whose deadline passes leaves alone; the
	// lookup is cancelled only when nobody else ever joined it
	// (singleflight's ForgetUnshared counts every caller that joined, also
	// those that have left, golang/go#55343). Otherwise it runs to its end
	// and serves every caller still waiting and every caller that joins
	// meanwhile.
	ShareDetached ShareEra = "detached"
)

// ShareEraFor returns the sharing era of a Go release, with the reason.
func ShareEraFor(goVersion Version) (ShareEra, Step) {
	st := Step{Key: "shared-lookup"}
	switch {
	case goVersion.Less(V(1, 8, 0)):
		st.Value = string(ShareUncancelled)
		st.Reason = fmt.Sprintf("Go %s (before 1.8): concurrent lookups of a name share one that no deadline stops; a caller that gives up makes the next one start another (golang/go#8602)", goVersion)
		return ShareUncancelled, st
	case goVersion.Less(V(1, 10, 1)):
		st.Value = string(ShareFirstCaller)
		st.Reason = fmt.Sprintf("Go %s (1.8-1.10.0): the shared lookup runs under its first caller's context and ends, for every caller, when that caller's deadline passes (golang/go#22724)", goVersion)
		return ShareFirstCaller, st
	}
	st.Value = string(ShareDetached)
	st.Reason = fmt.Sprintf("Go %s (1.10.1+): the shared lookup runs on its own; a caller that gives up leaves it running for the others, and it is cancelled only when nobody else ever joined it (net/lookup.go ForgetUnshared, CL 100840)", goVersion)
	return ShareDetached, st
}

// LookupRun is one lookup as the resolver model predicts it when nothing
// cuts it short: when it sends each DNS message and how it ends.
type LookupRun struct {
	// Sends are the times the messages are sent, from the lookup's start.
	Sends []time.Duration `json:"-"`
	// Total is how long the lookup takes.
	Total time.Duration `json:"-"`
	// OK reports an answer; Err is the error text otherwise.
	OK  bool   `json:"ok"`
	Err string `json:"error,omitempty"`
}

// RunOf reads a LookupRun from a prediction made without a deadline.
func RunOf(p *Prediction) LookupRun {
	r := LookupRun{Total: p.Total.Duration(), OK: p.Error == "", Err: p.Error}
	for _, e := range p.Exchanges {
		r.Sends = append(r.Sends, e.Start.Duration())
	}
	return r
}

// Ask is one request of a caller: when it asks and how long it waits at
// most (zero: no limit).
type Ask struct {
	At   time.Duration
	Wait time.Duration
}

// Reply is how one request ended.
type Reply struct {
	Ask
	// Done is when the caller got its answer.
	Done time.Duration
	// OK reports addresses; otherwise TimedOut says the caller's own
	// deadline passed, and Err is the lookup's error when it did not.
	OK       bool
	TimedOut bool
	Err      string
	// Lookup is the index of the lookup the request waited on (-1: it
	// used an open connection); Joined says it found that lookup already
	// running.
	Lookup int
	Joined bool
}

// Client is one goroutine that resolves the shared name, possibly again
// and again. Next is told how its previous request ended (nil before the
// first) and returns its next request, or false when it asks no more. A
// request is never earlier than the previous answer.
type Client interface {
	Next(prev *Reply) (Ask, bool)
}

// SharedLookup is one lookup the callers' requests caused.
type SharedLookup struct {
	Start time.Duration `json:"-"`
	End   time.Duration `json:"-"`
	// Creator is the client that started it; Callers counts every request
	// that waited on it.
	Creator int `json:"creator"`
	Callers int `json:"callers"`
	// Cancelled reports that a caller's deadline stopped it.
	Cancelled bool `json:"cancelled"`
	// Queries counts the DNS messages it sent before it ended (and before
	// the observation ended).
	Queries int `json:"queries"`
}

// Shared is what concurrent callers of one name saw.
type Shared struct {
	Era     ShareEra       `json:"era"`
	Lookups []SharedLookup `json:"lookups"`
	// Replies are every request's answer, per client, in order.
	Replies [][]Reply `json:"-"`
	// Queries counts the DNS messages of all lookups.
	Queries int `json:"queries"`
	sends   []time.Duration
}

// ShareOptions are the callers' side of a simulation.
type ShareOptions struct {
	// Until ends the simulation (the process's end); zero: when no client
	// asks any more.
	Until time.Duration
	// Reuse says the callers share a connection (one HTTP/2 client):
	// once a lookup has answered and the connection is made, later
	// requests use it and resolve nothing.
	Reuse bool
	// AcceptFrom is when the server the callers dial starts accepting
	// connections: a lookup that answers earlier ends in "connection
	// refused" and opens no connection.
	AcceptFrom time.Duration
}

// Share simulates clients resolving one name with a resolver whose
// unshared lookup is run, in a Go release of era era. It is deterministic:
// at one instant, deadlines pass before lookups end (a lookup's own work
// adds to the sum of its timeouts, and the caller's deadline was set
// before the lookup began), and both before new requests arrive.
func Share(era ShareEra, run LookupRun, clients []Client, opt ShareOptions) Shared {
	until := opt.Until
	s := &shareSim{era: era, run: run, clients: clients, reuse: opt.Reuse, accept: opt.AcceptFrom, current: -1}
	s.res.Era = era
	s.res.Replies = make([][]Reply, len(clients))
	for i, c := range clients {
		if a, ok := c.Next(nil); ok {
			s.ask(i, a)
		}
	}
	for s.events.Len() > 0 {
		ev := heap.Pop(&s.events).(shareEvent)
		if until > 0 && ev.at >= until {
			break
		}
		s.handle(ev)
	}
	s.res.sends = run.Sends
	for i := range s.res.Lookups {
		l := &s.res.Lookups[i]
		if until > 0 && until < l.End {
			l.End = until
		}
		l.Queries = l.queriesBefore(run.Sends, l.End)
		s.res.Queries += l.Queries
	}
	return s.res
}

// queriesBefore counts the messages the lookup sent before t. A message
// due at the instant the lookup (or the process) ends is not sent: the
// end comes first.
func (l SharedLookup) queriesBefore(sends []time.Duration, t time.Duration) int {
	n := 0
	for _, d := range sends {
		if l.Start+d < t && l.Start+d < l.End {
			n++
		}
	}
	return n
}

// QueriesAt counts the DNS messages lookups send at the instant t itself
// (a lookup that starts then sends its first ones at once).
func (s Shared) QueriesAt(t time.Duration) int {
	n := 0
	for _, l := range s.Lookups {
		for _, d := range s.sends {
			if l.Start+d == t && l.Start+d < l.End {
				n++
			}
		}
	}
	return n
}

// QueriesBefore counts the DNS messages all lookups sent before t (the
// process's exit).
func (s Shared) QueriesBefore(t time.Duration) int {
	n := 0
	for _, l := range s.Lookups {
		n += l.queriesBefore(s.sends, t)
	}
	return n
}

// Event kinds, in the order they are handled at one instant.
const (
	evDeadline = iota
	evLookupEnd
	evArrive
)

type shareEvent struct {
	at   time.Duration
	kind int
	// req indexes shareSim.reqs (deadline, arrive); lookup indexes
	// res.Lookups (lookup end).
	req, lookup int
	seq         int
}

type eventQueue []shareEvent

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	if q[i].kind != q[j].kind {
		return q[i].kind < q[j].kind
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(shareEvent)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// shareReq is one request in flight.
type shareReq struct {
	client int
	ask    Ask
	lookup int
	joined bool
	done   bool
}

type shareSim struct {
	era     ShareEra
	run     LookupRun
	clients []Client
	reuse   bool
	accept  time.Duration
	// connected is set once a connection is made (with reuse).
	connected bool
	events    eventQueue
	seq       int
	reqs      []shareReq
	// current is the lookup the group holds for the name (-1: none);
	// waiters lists the open requests per lookup; ended marks lookups
	// that are over.
	current int
	waiters [][]int
	ended   []bool
	res     Shared
}

func (s *shareSim) push(e shareEvent) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.events, e)
}

// ask schedules a client's request.
func (s *shareSim) ask(client int, a Ask) {
	s.reqs = append(s.reqs, shareReq{client: client, ask: a, lookup: -1})
	s.push(shareEvent{at: a.At, kind: evArrive, req: len(s.reqs) - 1})
}

func (s *shareSim) handle(ev shareEvent) {
	switch ev.kind {
	case evArrive:
		s.arrive(ev.req, ev.at)
	case evDeadline:
		s.deadline(ev.req, ev.at)
	case evLookupEnd:
		s.lookupEnd(ev.lookup, ev.at)
	}
}

// arrive joins the lookup the group holds, or starts one.
func (s *shareSim) arrive(r int, at time.Duration) {
	req := &s.reqs[r]
	if s.connected {
		s.answer(r, Reply{Done: at, OK: true})
		return
	}
	if s.current >= 0 {
		req.lookup, req.joined = s.current, true
	} else {
		s.res.Lookups = append(s.res.Lookups, SharedLookup{Start: at, End: at + s.run.Total, Creator: req.client})
		s.waiters = append(s.waiters, nil)
		s.ended = append(s.ended, false)
		req.lookup = len(s.res.Lookups) - 1
		s.current = req.lookup
		s.push(shareEvent{at: at + s.run.Total, kind: evLookupEnd, lookup: req.lookup})
	}
	s.res.Lookups[req.lookup].Callers++
	s.waiters[req.lookup] = append(s.waiters[req.lookup], r)
	if req.ask.Wait > 0 {
		s.push(shareEvent{at: at + req.ask.Wait, kind: evDeadline, req: r})
	}
}

// deadline ends a request whose caller gave up, and applies the era's rule
// to the lookup it waited on.
func (s *shareSim) deadline(r int, at time.Duration) {
	req := &s.reqs[r]
	if req.done {
		return
	}
	l := req.lookup
	lk := &s.res.Lookups[l]
	creator := s.waiters[l][0] == r
	switch s.era {
	case ShareUncancelled:
		s.forget(l)
	case ShareFirstCaller:
		s.forget(l)
		if creator {
			s.cancel(l, at)
		}
	default: // ShareDetached
		if creator && lk.Callers == 1 {
			s.forget(l)
			s.cancel(l, at)
		}
	}
	if !req.done {
		s.answer(r, Reply{Done: at, TimedOut: true, Err: "i/o timeout"})
	}
}

// forget makes the group drop the name, so that the next request starts
// a new lookup.
func (s *shareSim) forget(l int) {
	if s.current == l {
		s.current = -1
	}
}

// cancel stops lookup l at t: every request still waiting on it gets the
// cancelling caller's error ("i/o timeout").
func (s *shareSim) cancel(l int, t time.Duration) {
	s.res.Lookups[l].End = t
	s.res.Lookups[l].Cancelled = true
	s.ended[l] = true
	s.forget(l)
	for _, w := range s.waiters[l] {
		if !s.reqs[w].done {
			s.answer(w, Reply{Done: t, TimedOut: true, Err: "i/o timeout"})
		}
	}
}

// lookupEnd delivers a lookup's result to every request still waiting.
func (s *shareSim) lookupEnd(l int, at time.Duration) {
	if s.ended[l] {
		return
	}
	s.ended[l] = true
	s.forget(l)
	ok, err := s.run.OK, s.run.Err
	if ok && at < s.accept {
		ok, err = false, "connect: connection refused"
	}
	if ok && s.reuse {
		s.connected = true
	}
	for _, w := range s.waiters[l] {
		if !s.reqs[w].done {
			s.answer(w, Reply{Done: at, OK: ok, Err: err})
		}
	}
}

// answer records a request's answer and asks its client for the next.
func (s *shareSim) answer(r int, a Reply) {
	req := &s.reqs[r]
	req.done = true
	a.Ask, a.Lookup, a.Joined = req.ask, req.lookup, req.joined
	if a.OK {
		a.Err = ""
	}
	s.res.Replies[req.client] = append(s.res.Replies[req.client], a)
	if next, ok := s.clients[req.client].Next(&a); ok {
		if next.At < a.Done {
			next.At = a.Done
		}
		s.ask(req.client, next)
	}
}
