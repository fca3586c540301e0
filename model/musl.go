package model

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nsscope/nsscope/conf"
)

// ----- musl ------------------------------------------------------------
//
// musl has no NSS: /etc/hosts, then DNS (libc-k8s-resolver.md §C). Its DNS
// core asks every nameserver at once on one unconnected UDP socket and
// takes the first usable reply per query (§C.4). The rules below are the
// documented facts, one named rule each; the simulation is an event queue
// over them, run once per way of ordering replies that arrive together, so
// that a lookup whose count or order depends on that order is predicted as
// a race with its bound.

// muslRules are the behaviours that changed between musl releases.
type muslRules struct {
	// tcpFallback: a reply with TC set is asked again over TCP, once per
	// query, to the server whose truncated reply was taken (51d4669f, 1.2.4).
	// Before it, the truncated reply is taken as it is.
	tcpFallback bool
	// judgeEveryAnswer: every answer's rcode is judged before any address
	// is used, so one family's failure fails the lookup (5cf1ac24, 1.2.1).
	// Before it, any address wins and only the first query's rcode counts.
	judgeEveryAnswer bool
	// nodata: a name with no address of the asked types is EAI_NODATA, not
	// EAI_NONAME (85050ac5, 1.2.4). Either one ends the search.
	nodata bool
	// skipUnaskable: a search candidate the query builder refuses (over
	// muslMaxQueryName bytes) is skipped like a too long one (1.2.4).
	// Before, the refusal ends the whole lookup at once with EAI_NONAME:
	// nothing more is asked, not even the bare name. Measured with nsscope
	// lab on Alpine 3.10.9, 3.13.12 and 3.16.9 (musl 1.1.22, 1.2.2, 1.2.3)
	// and Debian's musl 1.2.3, against Alpine 3.19.4 (1.2.4): see
	// docs/difftest.md "Search candidates near the length limit".
	skipUnaskable bool
}

// muslRulesFor picks the rules of a release; zero means the newest.
func muslRulesFor(v Version) muslRules {
	newest := v.IsZero()
	return muslRules{
		tcpFallback:      newest || v.AtLeast(1, 2, 4),
		judgeEveryAnswer: newest || v.AtLeast(1, 2, 1),
		nodata:           newest || v.AtLeast(1, 2, 4),
		skipUnaskable:    newest || v.AtLeast(1, 2, 4),
	}
}

// muslServfailBudget is how many immediate resends SERVFAIL replies may
// cause per retry interval: twice the number of queries (§C.4).
func muslServfailBudget(nq int) int { return 2 * nq }

// muslRetryInterval is timeout/attempts in whole milliseconds, as musl
// computes it; the rounds of sending run while round×interval < timeout.
func muslRetryInterval(timeout time.Duration, attempts int) time.Duration {
	return time.Duration(timeout.Milliseconds()/int64(attempts)) * time.Millisecond
}

// muslTies says how replies that arrive at the same instant are taken: the
// real order is a race between the servers and the socket.
type muslTies int

const (
	tiesSendOrder muslTies = iota // in the order the queries were sent
	tiesGoodFirst                 // accepted replies before SERVFAIL
	tiesBadFirst                  // SERVFAIL (and its resends) before accepted replies
	tiesReverse                   // the reverse of the send order
)

var allTies = []muslTies{tiesSendOrder, tiesGoodFirst, tiesBadFirst, tiesReverse}

// muslQuery is the state of one query of a send.
type muslQuery struct {
	qtype string
	// state: "" waiting, "tcp" a TCP retry is under way, "done" accepted.
	state string
	out   string // accepted outcome (nxdomain, nodata, answer)
	addrs []netip.Addr
}

// muslEvent is a reply reaching musl.
type muslEvent struct {
	at      time.Duration
	q, srv  int
	tcp     bool
	outcome string
	addrs   []netip.Addr
	seq     int
}

// muslSim runs musl's DNS core for a whole lookup under one tie order.
type muslSim struct {
	servers  []string
	sc       Scenario
	timeout  time.Duration
	attempts int
	rules    muslRules
	ties     muslTies
	ex       []Exchange
	seq      int
}

// rank orders simultaneous events under the sim's tie rule.
func (m *muslSim) rank(e muslEvent) int {
	good := e.outcome != OutServFail && e.outcome != OutRcodeRef
	switch m.ties {
	case tiesGoodFirst:
		if good {
			return 0
		}
		return 1
	case tiesBadFirst:
		if good {
			return 1
		}
		return 0
	}
	return 0
}

// before reports whether event a is taken before event b.
func (m *muslSim) before(a, b muslEvent) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if ra, rb := m.rank(a), m.rank(b); ra != rb {
		return ra < rb
	}
	if m.ties == tiesReverse {
		return a.seq > b.seq
	}
	return a.seq < b.seq
}

// send records one UDP query and returns the reply it brings, if any
// (silent servers, and refusing ones whose ICMP musl never sees, bring
// none).
func (m *muslSim) send(at, end time.Duration, name string, q muslQuery, qi, srv, round int, race string) (muslEvent, bool) {
	r := serverReply(m.sc.For(srv), q.qtype, "udp", end-at, false)
	m.ex = append(m.ex, Exchange{Start: Seconds(at), End: Seconds(at + r.after), Server: m.servers[srv], Name: name, Type: q.qtype, Transport: "udp", Attempt: round, Outcome: r.outcome, Race: race})
	if r.outcome == OutTimeout {
		return muslEvent{}, false
	}
	m.seq++
	return muslEvent{at: at + r.after, q: qi, srv: srv, outcome: r.outcome, addrs: r.addrs, seq: m.seq}, true
}

// sendTCP records the TCP retry of a truncated query.
func (m *muslSim) sendTCP(at, end time.Duration, name string, q muslQuery, qi, srv, round int) (muslEvent, bool) {
	r := serverReply(m.sc.For(srv), q.qtype, "tcp", end-at, true)
	m.ex = append(m.ex, Exchange{Start: Seconds(at), End: Seconds(at + r.after), Server: m.servers[srv], Name: name, Type: q.qtype, Transport: "tcp", Attempt: round, Outcome: r.outcome, Race: raceTCP})
	if r.outcome == OutTimeout {
		return muslEvent{}, false
	}
	m.seq++
	return muslEvent{at: at + r.after, q: qi, srv: srv, tcp: true, outcome: r.outcome, addrs: r.addrs, seq: m.seq}, true
}

// msend is one call of musl's DNS core for one name: it returns when
// every query has an accepted reply, when a TCP retry fails, or when the
// timeout since the start has passed.
func (m *muslSim) msend(t0 time.Duration, name string, qtypes []string) (time.Duration, []muslQuery) {
	first := len(m.ex)
	end, qs := m.sendLoop(t0, name, qtypes)
	// The send is over: no exchange of it lasts longer (a silent server's
	// wait ends when the other answers are in).
	for i := first; i < len(m.ex); i++ {
		m.ex[i].End = min(m.ex[i].End, Seconds(end))
	}
	return end, qs
}

// sendLoop is msend's event loop.
func (m *muslSim) sendLoop(t0 time.Duration, name string, qtypes []string) (time.Duration, []muslQuery) {
	qs := make([]muslQuery, len(qtypes))
	for i, q := range qtypes {
		qs[i] = muslQuery{qtype: q}
	}
	end := t0 + m.timeout
	if m.timeout <= 0 {
		return t0, qs // timeout:0: the send loop never runs
	}
	ri := muslRetryInterval(m.timeout, m.attempts)
	var queue []muslEvent
	push := func(e muslEvent, ok bool) {
		if ok {
			queue = append(queue, e)
		}
	}
	round, budget := 0, 0
	sendRound := func(at time.Duration) {
		round++
		budget = muslServfailBudget(len(qs))
		for qi, q := range qs {
			if q.state != "" {
				continue
			}
			for srv := range m.servers {
				push(m.send(at, end, name, q, qi, srv, round, ""))
			}
		}
	}
	allDone := func() bool {
		for _, q := range qs {
			if q.state != "done" {
				return false
			}
		}
		return true
	}
	sendRound(t0)
	next := t0 + ri
	for {
		// The next thing to happen: a reply, or the next round of sends.
		i := -1
		for j, e := range queue {
			if i < 0 || m.before(e, queue[i]) {
				i = j
			}
		}
		if i < 0 || queue[i].at >= next {
			if next >= end || ri <= 0 {
				return end, qs
			}
			sendRound(next)
			next += ri
			continue
		}
		e := queue[i]
		queue = slices.Delete(queue, i, i+1)
		if e.at >= end {
			return end, qs
		}
		q := &qs[e.q]
		switch {
		case e.tcp && q.state == "tcp":
			if !muslAccepts(e.outcome) {
				// A TCP reply with any other rcode, or a failed connection,
				// ends the whole send (§C.4).
				return e.at, qs
			}
			q.state, q.out, q.addrs = "done", e.outcome, e.addrs
		case q.state != "":
			// The query already has its reply (or its TCP retry): ignored.
		case e.outcome == OutTruncated && m.rules.tcpFallback:
			q.state = "tcp"
			push(m.sendTCP(e.at, end, name, *q, e.q, e.srv, round))
		case e.outcome == OutTruncated:
			// No TCP fallback: the truncated reply (NOERROR, no records)
			// is taken as it is.
			q.state, q.out = "done", OutNoData
		case muslAccepts(e.outcome):
			q.state, q.out, q.addrs = "done", e.outcome, e.addrs
		case e.outcome == OutServFail && budget > 0:
			// SERVFAIL: resent at once to the same server, while the
			// interval's budget lasts.
			budget--
			push(m.send(e.at, end, name, *q, e.q, e.srv, round, raceResend))
		}
		if allDone() {
			return e.at, qs
		}
	}
}

// muslAccepts reports whether musl takes a reply: rcode NOERROR or
// NXDOMAIN; every other rcode is ignored (SERVFAIL causes a resend).
func muslAccepts(outcome string) bool {
	return outcome == OutNXDomain || outcome == OutNoData || outcome == OutAnswer
}

// muslVerdict is what one name's answers mean for the search: "continue"
// (NXDOMAIN: the next candidate), or the lookup's end with an EAI code
// ("" with addresses on success).
func (m *muslSim) verdict(qs []muslQuery) (string, []netip.Addr) {
	var addrs []netip.Addr
	for _, q := range qs {
		addrs = append(addrs, q.addrs...)
	}
	if !m.rules.judgeEveryAnswer {
		// Before 1.2.1: any address wins; else the first query decides.
		if len(addrs) > 0 {
			return "", addrs
		}
		return muslJudge(qs[0], "EAI_NONAME"), nil
	}
	for _, q := range qs {
		if v := muslJudge(q, ""); v != "" {
			return v, nil
		}
	}
	if len(addrs) > 0 {
		return "", addrs
	}
	if m.rules.nodata {
		return "EAI_NODATA", nil
	}
	return "EAI_NONAME", nil
}

// muslJudge is the meaning of one query's answer: EAI_AGAIN without an
// accepted reply, "continue" for NXDOMAIN, noerror for NOERROR.
func muslJudge(q muslQuery, noerror string) string {
	switch {
	case q.state != "done":
		return "EAI_AGAIN"
	case q.out == OutNXDomain:
		return "continue"
	}
	return noerror
}

// muslSearch is name_from_dns_search: the candidates in order, until one
// gives anything but NXDOMAIN.
type muslSearch struct {
	cands  []string
	qtypes []string
}

// run asks the candidates and returns the end time, the EAI code, the
// addresses and how many candidates were asked.
func (s muslSearch) run(m *muslSim) (time.Duration, string, []netip.Addr, int) {
	var t time.Duration
	for i, n := range s.cands {
		end, qs := m.msend(t, n, s.qtypes)
		t = end
		v, addrs := m.verdict(qs)
		if v == "continue" {
			continue
		}
		return t, v, addrs, i + 1
	}
	// NXDOMAIN for the last candidate too: the name does not exist.
	return t, "EAI_NONAME", nil, len(s.cands)
}

// muslCandidates are the names asked (§C.3): for a name with fewer dots
// than ndots, each search domain, then the name itself; otherwise the name
// alone. Two length rules apply to a search candidate, name + "." +
// domain as written: at muslSkipLength bytes or more it is skipped; one
// the query builder cannot carry (over muslMaxQueryName bytes, one final
// dot not counted) is skipped from 1.2.4, while before it ends the list
// there (rules.skipUnaskable): the lookup fails with EAI_NONAME once the
// candidates before it are answered NXDOMAIN. refused is that candidate
// ("" when none).
func muslCandidates(name string, search []string, ndots int, rules muslRules) (cands []string, refused string) {
	base := strings.TrimSuffix(name, ".")
	if strings.HasSuffix(name, ".") || strings.Count(name, ".") >= ndots {
		search = nil
	}
	for _, d := range search {
		if len(base)+1+len(d) >= muslSkipLength {
			continue
		}
		cand := base + "." + d
		if len(strings.TrimSuffix(cand, ".")) > muslMaxQueryName {
			if rules.skipUnaskable {
				continue
			}
			return cands, cand
		}
		cands = append(cands, conf.EnsureRooted(base+"."+strings.TrimSuffix(d, ".")))
	}
	return append(cands, base+"."), ""
}

// muslSkipLength is the length of name + "." + search domain from which
// musl's search loop skips the domain (§C.3: 256 bytes or more).
const muslSkipLength = 256

// muslMaxQueryName is the longest name musl's query builder
// (__res_mkquery) puts in a query, one final dot not counted.
const muslMaxQueryName = 253

// muslOutcome is one simulated lookup.
type muslOutcome struct {
	// resultRace: the orders of the replies end the lookup differently.
	resultRace bool
	asked      int // candidates asked
	end        time.Duration
	eai        string
	addrs      []netip.Addr
	ex         []Exchange
}

// The race notes: a message that some orders of the replies send and
// others do not, or send to another server.
const (
	raceResend = "SERVFAIL resend: how many, for which query and to which SERVFAIL server depends on which replies arrive first"
	raceTCP    = "TCP retry to whichever truncating server's reply musl takes first"
)

// simulate runs the search under every tie order. When they all send the
// same messages, that is the prediction, without race notes. Otherwise it
// is a race: the run that sends the most is shown (every message the race
// may add is in it), with its SERVFAIL resends and TCP retries noted as
// racy, and the bound on the count over all runs.
func (s muslSearch) simulate(base muslSim) (muslOutcome, [2]int, bool) {
	var runs []muslOutcome
	for _, ties := range allTies {
		m := base
		m.ties, m.ex = ties, nil
		end, eai, addrs, asked := s.run(&m)
		sortExchanges(m.ex)
		runs = append(runs, muslOutcome{asked: asked, end: end, eai: eai, addrs: addrs, ex: m.ex})
	}
	shown := runs[0]
	lo, hi := len(shown.ex), len(shown.ex)
	racy := false
	for _, r := range runs[1:] {
		if r.eai != shown.eai || len(r.addrs) != len(shown.addrs) {
			shown.resultRace = true
		}
		lo, hi = min(lo, len(r.ex)), max(hi, len(r.ex))
		if !sameExchangeKeys(runs[0].ex, r.ex) {
			racy = true
		}
		if len(r.ex) > len(shown.ex) {
			shown = r
		}
	}
	if !racy {
		for i := range shown.ex {
			shown.ex[i].Race = ""
		}
	}
	return shown, [2]int{lo, hi}, racy
}

// exchangeKey identifies an exchange by what was asked of whom, and how.
func exchangeKey(x Exchange) string {
	return x.Transport + " " + x.Server + " " + x.Type + " " + x.Name
}

func sameExchangeKeys(a, b []Exchange) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, x := range a {
		count[exchangeKey(x)]++
	}
	for _, x := range b {
		count[exchangeKey(x)]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

// predictMusl is getaddrinfo (or gethostbyname2 for one family) in musl
// (§C): /etc/hosts, then DNS.
func predictMusl(env Env, libc Libc, req Request, hints gaiHints, sc Scenario, add func(Step)) libcResult {
	var res libcResult
	res.order = "files,dns"
	add(Step{Key: "order", Value: "files,dns", Reason: "musl has no NSS: /etc/hosts first, then DNS, whatever /etc/nsswitch.conf says"})
	if _, ok := lookupEnv(env, "LOCALDOMAIN"); ok {
		res.notes = append(res.notes, "LOCALDOMAIN is ignored by musl")
	}
	if libc.Release != "" {
		add(Step{Key: "release", Value: libc.Release, Reason: muslReleaseWhy(libc)})
	}
	rc := parseFile(conf.Musl, env.ResolvConf, conf.ResolvOptions{Version: libc.Version})
	for _, s := range rc.Skipped {
		add(Step{Key: "skipped", Value: s.Pos.String(), Reason: s.What, Source: confPos(s.Pos)})
	}
	if muslFromHosts(env, req.Name, hints, add, &res) {
		return res
	}
	m := muslSettings(env, rc, sc, add, &res)
	m.rules = muslRulesFor(libc.Version)
	cands, refused := muslCandidates(req.Name, rc.Search, rc.Ndots.Value, m.rules)
	s := muslSearch{cands: cands, qtypes: hints.muslTypes()}
	if len(s.cands) > 1 || refused != "" {
		add(Step{Key: "search", Value: strings.Join(rc.Search, " "), Reason: "search list from resolv.conf; any result but NXDOMAIN ends the search", Source: confPos(rc.SearchPos)})
	}
	if refused != "" {
		add(Step{Key: "refused", Value: fmt.Sprintf("%d bytes", len(strings.TrimSuffix(refused, "."))), Reason: fmt.Sprintf("the candidate %s is longer than the %d bytes a query can carry: musl before 1.2.4 ends the lookup there with EAI_NONAME, asking nothing more (not even the bare name); 1.2.4 skips it", refused, muslMaxQueryName), Source: confPos(rc.SearchPos)})
	}
	out, bound, racy := s.simulate(m)
	res.cands, res.ex, res.end = s.cands[:out.asked], out.ex, out.end
	if racy {
		res.queriesRange = &bound
		res.notes = append(res.notes, "musl asks every server at once: which replies arrive first decides "+muslRaceWhat(out.ex)+", so the number of queries is a range")
	}
	if out.resultRace {
		res.notes = append(res.notes, "the result itself is a race: servers that reply at the same time with different answers (musl takes whichever arrives first); the send order is assumed")
	}
	if len(out.addrs) > 0 {
		res.addrs, res.from = out.addrs, FromDNS
		return res
	}
	res.from, res.eai = FromNone, out.eai
	return res
}

// muslRaceWhat names what a race decides.
func muslRaceWhat(ex []Exchange) string {
	tcp, udp := false, false
	for _, x := range ex {
		if x.Race != "" {
			tcp = tcp || x.Transport == "tcp"
			udp = udp || x.Transport == "udp"
		}
	}
	switch {
	case tcp && udp:
		return "the SERVFAIL resends and the server of each TCP retry"
	case tcp:
		return "the server of each TCP retry"
	}
	return "how many SERVFAIL resends are sent, and for which query"
}

// muslFromHosts is name_from_hosts: it reports whether /etc/hosts decided
// the lookup (the name found, or found only with the other family, which
// fails at once without DNS).
func muslFromHosts(env Env, name string, hints gaiHints, add func(Step), res *libcResult) bool {
	hosts := parseHostsFile(conf.Musl, env.Hosts, conf.HostsOptions{})
	a, lines := hosts.Lookup(name)
	if len(a) == 0 {
		add(Step{Key: "files", Value: "notfound", Reason: "/etc/hosts has no line for " + strconv.Quote(name), Source: filePos(env.Hosts)})
		return false
	}
	if f := hints.filter(a); len(f) > 0 {
		res.addrs, res.from = f, FromHosts
		add(Step{Key: "files", Value: joinAddrs(f), Reason: "/etc/hosts has the name (musl matches it case-sensitively, as a whole word)", Source: confPos(lines[0])})
		return true
	}
	add(Step{Key: "files", Value: "wrong family", Reason: "/etc/hosts has the name only with addresses of the other family (" + hints.String() + "): musl fails at once, without DNS", Source: confPos(lines[0])})
	res.from, res.eai = FromNone, "EAI_NONAME"
	return true
}

// muslSettings applies musl's defaults to resolv.conf: the local host when
// no nameserver is listed, attempts of at least 1.
func muslSettings(env Env, rc *conf.ResolvConf, sc Scenario, add func(Step), res *libcResult) muslSim {
	var servers []string
	for _, n := range rc.Nameservers {
		servers = append(servers, hostPort(n.Addr))
	}
	if len(servers) == 0 {
		servers = []string{"127.0.0.1:53"}
		add(Step{Key: "servers", Value: "127.0.0.1:53", Reason: "no nameserver: musl uses the local host", Source: filePos(env.ResolvConf)})
	} else {
		add(Step{Key: "servers", Value: strings.Join(servers, " "), Reason: "all asked at once; the first answer wins", Source: confPos(rc.Nameservers[0].Pos)})
	}
	attempts := rc.Attempts.Value
	if attempts < 1 {
		attempts = 1
		res.notes = append(res.notes, "attempts:0 would divide by zero in musl; modelled as 1")
	}
	timeout := time.Duration(rc.Timeout.Value) * time.Second
	add(Step{Key: "timeout", Value: timeout.String(), Reason: optWhy(rc.Timeout.Pos, "default 5 s") + "; the whole query, resent every timeout/attempts", Source: confPos(rc.Timeout.Pos)})
	add(Step{Key: "attempts", Value: strconv.Itoa(attempts), Reason: optWhy(rc.Attempts.Pos, "default 2"), Source: confPos(rc.Attempts.Pos)})
	add(Step{Key: "ndots", Value: strconv.Itoa(rc.Ndots.Value), Reason: optWhy(rc.Ndots.Pos, "default 1"), Source: confPos(rc.Ndots.Pos)})
	res.srv, res.timeout, res.attempts = servers, timeout, attempts
	return muslSim{servers: servers, sc: sc, timeout: timeout, attempts: attempts}
}
