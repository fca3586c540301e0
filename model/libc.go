package model

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nsscope/nsscope/conf"
)

// libcResult is the outcome of getaddrinfo.
type libcResult struct {
	addrs []netip.Addr
	from  string // hosts, dns, myhostname, none
	eai   string // "", EAI_NONAME, EAI_AGAIN, EAI_FAIL, EAI_NODATA
	end   time.Duration
	order string
	cands []string
	ex    []Exchange
	srv   []string
	// timeout, attempts, single as in Prediction.
	timeout  time.Duration
	attempts int
	single   bool
	steps    []Step
	notes    []string
}

// gaiText is gai_strerror of each C library.
func gaiText(kind, eai string) string {
	if kind == "musl" {
		switch eai {
		case "EAI_NONAME":
			return "Name does not resolve"
		case "EAI_AGAIN":
			return "Try again"
		case "EAI_FAIL":
			return "Non-recoverable error"
		case "EAI_NODATA":
			return "Name has no usable address"
		}
	}
	switch eai {
	case "EAI_NONAME":
		return "Name or service not known"
	case "EAI_AGAIN":
		return "Temporary failure in name resolution"
	case "EAI_FAIL":
		return "Non-recoverable failure in name resolution"
	case "EAI_NODATA":
		return "No address associated with hostname"
	}
	return eai
}

// gaiHints are the getaddrinfo hints that matter here.
type gaiHints struct {
	family   string // "unspec", "inet", "inet6"
	v4mapped bool   // AI_V4MAPPED|AI_ALL (Go's cgo resolver passes them)
}

func hintsFor(network string, v4mapped bool) gaiHints {
	h := gaiHints{family: "unspec", v4mapped: v4mapped}
	switch {
	case strings.HasSuffix(network, "4"):
		h.family = "inet"
	case strings.HasSuffix(network, "6"):
		h.family = "inet6"
	}
	return h
}

func (h gaiHints) String() string {
	s := map[string]string{"unspec": "AF_UNSPEC", "inet": "AF_INET", "inet6": "AF_INET6"}[h.family]
	if h.v4mapped && h.family == "inet6" {
		s += " with AI_V4MAPPED|AI_ALL"
	}
	return s
}

// muslTypes: musl turns AF_INET6+AI_V4MAPPED into AF_UNSPEC and asks A
// then AAAA together.
func (h gaiHints) muslTypes() []string {
	switch {
	case h.family == "inet":
		return []string{"A"}
	case h.family == "inet6" && !h.v4mapped:
		return []string{"AAAA"}
	}
	return []string{"A", "AAAA"}
}

// glibcPasses: AF_UNSPEC asks A and AAAA together in one search;
// AF_INET6 with AI_V4MAPPED|AI_ALL searches AAAA, then A in a second
// search.
func (h gaiHints) glibcPasses() [][]string {
	switch {
	case h.family == "inet":
		return [][]string{{"A"}}
	case h.family == "inet6" && h.v4mapped:
		return [][]string{{"AAAA"}, {"A"}}
	case h.family == "inet6":
		return [][]string{{"AAAA"}}
	}
	return [][]string{{"A", "AAAA"}}
}

// filter keeps the /etc/hosts addresses the hints accept (IPv4 ones are
// returned mapped under AI_V4MAPPED).
func (h gaiHints) filter(addrs []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		switch {
		case h.family == "inet" && !a.Unmap().Is4():
		case h.family == "inet6" && !h.v4mapped && a.Unmap().Is4():
		default:
			out = append(out, a)
		}
	}
	return out
}

// ----- glibc -----------------------------------------------------------

// nssStatus values.
const (
	nssSuccess  = "success"
	nssNotFound = "notfound"
	nssUnavail  = "unavail"
	nssTryAgain = "tryagain"
)

// glibcAction applies a source's criteria to a status (glibc nsswitch
// semantics; "!STATUS=ACTION" applies ACTION to every other status).
func glibcAction(src conf.Source, status string) string {
	act := "continue"
	if status == nssSuccess {
		act = "return"
	}
	for _, c := range src.Criteria {
		if (!c.Negate && c.Status == status) || (c.Negate && c.Status != status) {
			act = c.Action
		}
	}
	if act == "merge" {
		act = "continue"
	}
	return act
}

type glibcSim struct {
	servers  []string
	sc       Scenario
	timeout  int
	attempts int
	ex       []Exchange
	// errno is sticky across queries, as in the C library: the last
	// failure of res_send (ETIMEDOUT or ECONNREFUSED).
	errno string
	// t is when the next search starts.
	t time.Duration
	// single is single-request(-reopen); useVC is use-vc.
	single, useVC bool
}

// perServerWait is res_send's wait for the server at index ns (§D.3).
func (g *glibcSim) perServerWait(ns int) time.Duration {
	s := g.timeout << ns
	if ns > 0 {
		s /= len(g.servers)
	}
	if s <= 0 {
		s = 1
	}
	return time.Duration(s) * time.Second
}

// query sends one name (all qtypes together on one socket) through
// res_send. It returns the h_errno-like outcome.
func (g *glibcSim) query(t time.Duration, name string, qtypes []string) (time.Duration, string, []netip.Addr) {
	gotsomewhere, servfail := false, false
	tr := "udp"
	if g.useVC {
		tr = "tcp"
	}
	for a := 1; a <= g.attempts; a++ {
		for ns := range g.servers {
			wait := g.perServerWait(ns)
			b := g.sc.For(ns)
			var addrs []netip.Addr
			outcomes := map[string]bool{}
			var after time.Duration
			send := func(at time.Duration, q string) reply {
				r := serverReply(b, q, tr, wait, true)
				g.ex = append(g.ex, Exchange{Start: at, End: at + r.after, Server: g.servers[ns], Name: name, Type: q, Transport: tr, Attempt: a, Outcome: r.outcome})
				if r.outcome == OutTruncated {
					r2 := serverReply(b, q, "tcp", wait, true)
					g.ex = append(g.ex, Exchange{Start: at + r.after, End: at + r.after + r2.after, Server: g.servers[ns], Name: name, Type: q, Transport: "tcp", Attempt: a, Outcome: r2.outcome})
					r2.after += r.after
					r = r2
				}
				return r
			}
			if g.single && len(qtypes) > 1 {
				// single-request: A first; AAAA only once A has a reply,
				// to the same server (observed in the lab).
				r := send(t, qtypes[0])
				outcomes[r.outcome] = true
				addrs, after = append(addrs, r.addrs...), r.after
				if r.outcome == OutNXDomain || r.outcome == OutNoData || r.outcome == OutAnswer {
					r2 := send(t+r.after, qtypes[1])
					outcomes[r2.outcome] = true
					addrs, after = append(addrs, r2.addrs...), r.after+r2.after
				}
			} else {
				for _, q := range qtypes {
					r := send(t, q)
					outcomes[r.outcome] = true
					addrs = append(addrs, r.addrs...)
					after = max(after, r.after)
				}
			}
			switch {
			case outcomes[OutRefused]:
				continue
			case outcomes[OutTimeout]:
				gotsomewhere = true
				t += wait
				continue
			case outcomes[OutServFail] || outcomes[OutRcodeRef]:
				if g.useVC {
					// Over TCP the SERVFAIL answer itself is returned: no
					// other server, no other attempt (observed in the lab).
					return t + after, "SERVFAIL", nil
				}
				servfail = true
				t += after
				continue
			case outcomes[OutNXDomain]:
				return t + after, "HOST_NOT_FOUND", nil
			}
			if len(addrs) > 0 {
				return t + after, "", addrs
			}
			return t + after, "NO_DATA", nil
		}
	}
	switch {
	case gotsomewhere:
		g.errno = "ETIMEDOUT"
	case servfail:
		// Only SERVFAIL/REFUSED answers: TRY_AGAIN with a SERVFAIL
		// rcode, which the search steps over (observed in the lab).
		return t, "SERVFAIL", nil
	default:
		g.errno = "ECONNREFUSED"
	}
	return t, "TRY_AGAIN", nil
}

// search is res_search (§D.4).
func (g *glibcSim) search(name string, search []string, ndots int, noTLD bool, qtypes []string) (time.Duration, string, []netip.Addr, []string) {
	t := g.t
	var cands []string
	dots := strings.Count(name, ".")
	trailing := strings.HasSuffix(name, ".")
	bare := conf.EnsureRooted(name)
	herr := ""
	savedHerr := ""
	triedAsIs := false
	ask := func(n string) (string, []netip.Addr) {
		cands = append(cands, n)
		e, h, a := g.query(t, n, qtypes)
		t = e
		return h, a
	}
	if dots >= ndots || trailing {
		h, a := ask(bare)
		if len(a) > 0 {
			return t, "", a, cands
		}
		if h == "SERVFAIL" {
			h = "TRY_AGAIN"
		}
		savedHerr, herr, triedAsIs = h, h, true
		if trailing {
			return t, h, nil, cands
		}
	}
	gotNodata, gotServfail := false, false
	for _, d := range search {
		n := strings.TrimSuffix(bare, ".") + "." + conf.EnsureRooted(d)
		if d == "." || d == "" {
			n = bare
		}
		h, a := ask(n)
		if len(a) > 0 {
			return t, "", a, cands
		}
		herr = h
		if g.errno == "ECONNREFUSED" {
			return t, "TRY_AGAIN", nil, cands
		}
		done := false
		switch h {
		case "NO_DATA":
			gotNodata = true
		case "SERVFAIL":
			gotServfail = true
		case "HOST_NOT_FOUND":
		case "TRY_AGAIN":
			// A timeout (no SERVFAIL answer) ends the search.
			done = true
		default:
			done = true
		}
		if done {
			break
		}
	}
	if !triedAsIs && !(dots == 0 && noTLD) {
		h, a := ask(bare)
		if len(a) > 0 {
			return t, "", a, cands
		}
		herr = h
	}
	if herr == "SERVFAIL" {
		herr = "TRY_AGAIN"
	}
	switch {
	case savedHerr != "":
		herr = savedHerr
	case gotNodata:
		herr = "NO_DATA"
	case gotServfail:
		herr = "TRY_AGAIN"
	}
	return t, herr, nil, cands
}

// predictGlibc is getaddrinfo in glibc (§D), after any Go wrapper.
func predictGlibc(env Env, libc Libc, req Request, hints gaiHints, sc Scenario, add func(Step)) libcResult {
	var res libcResult
	v := libc.Version
	rc := parseFile(conf.Glibc, env.ResolvConf, conf.ResolvOptions{Version: v})
	ld, ldSet := lookupEnv(env, "LOCALDOMAIN")
	ro, _ := lookupEnv(env, "RES_OPTIONS")
	if ldSet {
		conf.ApplyGlibcEnv(rc, &ld, ro)
		add(Step{Key: "search", Value: ld, Reason: "glibc: LOCALDOMAIN replaces the search list", Source: &Pos{File: "environment", Text: "LOCALDOMAIN=" + ld}})
	} else if ro != "" {
		conf.ApplyGlibcEnv(rc, nil, ro)
	}
	if ro != "" {
		add(Step{Key: "options", Value: ro, Reason: "glibc: RES_OPTIONS applied after resolv.conf", Source: &Pos{File: "environment", Text: "RES_OPTIONS=" + ro}})
	}
	if ha, _ := lookupEnv(env, "HOSTALIASES"); ha != "" {
		res.notes = append(res.notes, "HOSTALIASES is set: glibc may rewrite dot-less names through it; not modelled")
	}
	// nsswitch: the hosts chain.
	ns := (*conf.NSSwitch)(nil)
	chain := []conf.Source{}
	why := ""
	var src *Pos
	switch {
	case env.NSSwitch.Missing || env.NSSwitch.ReadErr != "":
		why = "/etc/nsswitch.conf is missing"
		if env.NSSwitch.ReadErr != "" {
			why = "/etc/nsswitch.conf cannot be read (" + env.NSSwitch.ReadErr + ")"
		}
		src = filePos(env.NSSwitch)
	default:
		ns = conf.ParseNSSwitch(conf.Glibc, env.NSSwitch.Name(), env.NSSwitch.Data)
		if len(ns.Hosts) == 0 {
			why, src = "/etc/nsswitch.conf has no hosts line", filePos(env.NSSwitch)
		} else {
			chain = ns.Hosts
			src = confPos(ns.HostsLines[0])
		}
	}
	if len(chain) == 0 {
		if !v.IsZero() && !v.AtLeast(2, 35, 0) {
			chain = []conf.Source{{Name: "dns", Criteria: []conf.Criterion{{Negate: true, Status: "unavail", Action: "return"}}}, {Name: "files"}}
			why += ": glibc before 2.35 defaults to \"dns [!UNAVAIL=return] files\" (glibc bug 28700)"
		} else {
			chain = []conf.Source{{Name: "files"}, {Name: "dns"}}
			why += ": glibc 2.35+ defaults to \"files dns\" (commit b99b0f93)"
		}
	} else {
		why = "hosts line of /etc/nsswitch.conf"
	}
	res.order = conf.HostsLine(chain)
	add(Step{Key: "order", Value: res.order, Reason: why, Source: src})

	// resolv.conf after defaults.
	servers := []string{}
	for _, n := range rc.Nameservers {
		servers = append(servers, hostPort(n.Addr))
	}
	if len(servers) == 0 {
		servers = []string{"127.0.0.1:53"}
		add(Step{Key: "servers", Value: "127.0.0.1:53", Reason: "no nameserver: glibc uses the local host", Source: filePos(env.ResolvConf)})
	} else {
		add(Step{Key: "servers", Value: strings.Join(servers, " "), Reason: "tried one after another; waits T, then (T<<i)/N per position i", Source: confPos(rc.Nameservers[0].Pos)})
	}
	search := rc.Search
	if !rc.SearchSet {
		if i := strings.IndexByte(env.Hostname, '.'); i >= 0 && i < len(env.Hostname)-1 {
			search = []string{env.Hostname[i+1:]}
			add(Step{Key: "search", Value: search[0], Reason: "no search list: glibc takes the domain of the host name"})
		}
	} else if !ldSet {
		add(Step{Key: "search", Value: strings.Join(search, " "), Reason: "search list from resolv.conf", Source: confPos(rc.SearchPos)})
	}
	attempts := rc.Attempts.Value
	if attempts < 1 {
		attempts = 1
		res.notes = append(res.notes, "attempts:0 makes glibc send nothing; modelled as 1")
	}
	timeout := rc.Timeout.Value
	add(Step{Key: "ndots", Value: strconv.Itoa(rc.Ndots.Value), Reason: optWhy(rc.Ndots.Pos, "default 1") + " (glibc caps at 15)", Source: confPos(rc.Ndots.Pos)})
	add(Step{Key: "timeout", Value: strconv.Itoa(timeout) + "s", Reason: optWhy(rc.Timeout.Pos, "default 5 s") + " (glibc caps at 30)", Source: confPos(rc.Timeout.Pos)})
	add(Step{Key: "attempts", Value: strconv.Itoa(attempts), Reason: optWhy(rc.Attempts.Pos, "default 2") + " (glibc caps at 5)", Source: confPos(rc.Attempts.Pos)})
	if rc.Rotate.On {
		res.notes = append(res.notes, "rotate: glibc 2.26+ starts at a random server; modelled as the first")
	}
	if rc.SingleRequest.On {
		add(Step{Key: "single-request", Value: "on", Reason: "A first; AAAA only after the A reply, to the server that gave it", Source: confPos(rc.SingleRequest.Pos)})
	}
	if rc.UseVC.On {
		add(Step{Key: "use-vc", Value: "on", Reason: "queries over TCP only; a SERVFAIL answer ends the query", Source: confPos(rc.UseVC.Pos)})
		res.notes = append(res.notes, "use-vc with a server that accepts the connection but never answers: glibc waits with no timeout (seen in the lab); the model assumes the per-server wait")
	}
	hosts := parseHostsFile(conf.Glibc, env.Hosts, conf.HostsOptions{})
	g := &glibcSim{servers: servers, sc: sc, timeout: timeout, attempts: attempts, single: rc.SingleRequest.On, useVC: rc.UseVC.On}
	res.srv, res.timeout, res.attempts, res.single = servers, g.perServerWait(0), attempts, rc.SingleRequest.On
	var t time.Duration
	status := nssNotFound
	herr := "HOST_NOT_FOUND"
chain:
	for _, s := range chain {
		sp := confPos(s.Pos)
		switch {
		case s.Name == "files":
			if env.Hosts.Missing || env.Hosts.ReadErr != "" {
				status, herr = nssUnavail, "HOST_NOT_FOUND"
				add(Step{Key: "files", Value: "unavail", Reason: "/etc/hosts cannot be opened", Source: filePos(env.Hosts)})
				break
			}
			a, lines := hosts.Lookup(req.Name)
			a = hints.filter(a)
			if len(a) > 0 {
				status, res.addrs, res.from = nssSuccess, a, FromHosts
				add(Step{Key: "files", Value: joinAddrs(a), Reason: "/etc/hosts has the name", Source: confPos(lines[0])})
			} else {
				status, herr = nssNotFound, "HOST_NOT_FOUND"
				add(Step{Key: "files", Value: "notfound", Reason: "/etc/hosts has no line for " + strconv.Quote(req.Name), Source: filePos(env.Hosts)})
			}
		case s.Name == "dns":
			var a []netip.Addr
			var h string
			var cands []string
			for _, qtypes := range hints.glibcPasses() {

				var e time.Duration
				var pa []netip.Addr
				g.t = t
				e, h, pa, cands = g.search(req.Name, search, rc.Ndots.Value, rc.NoTLDQuery.On, qtypes)
				a = append(a, pa...)
				for _, c := range cands {
					if !slices.Contains(res.cands, c) {
						res.cands = append(res.cands, c)
					}
				}
				t = e
			}
			switch {
			case len(a) > 0:
				status, res.addrs, res.from = nssSuccess, a, FromDNS
			case g.errno == "ECONNREFUSED" || g.errno == "ETIMEDOUT":
				status, herr = nssUnavail, h
			case h == "TRY_AGAIN":
				status, herr = nssTryAgain, h
			default:
				status, herr = nssNotFound, h
			}
			add(Step{Key: "dns", Value: status, Reason: fmt.Sprintf("res_search asked %d name(s); h_errno %s, errno %s", len(cands), orDash(h), orDash(g.errno)), Source: sp})
		case s.Name == "myhostname" && !env.hasNSSModule("myhostname"):
			status = nssUnavail
			add(Step{Key: "myhostname", Value: "unavail", Reason: "libnss_myhostname is not installed in this root: glibc skips the source", Source: sp})
		case s.Name == "myhostname":
			if isLocalhostName(strings.TrimSuffix(req.Name, ".")) || strings.EqualFold(strings.TrimSuffix(req.Name, "."), env.Hostname) {
				a := hints.filter([]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")})
				status, res.addrs, res.from = nssSuccess, a, "myhostname"
				add(Step{Key: "myhostname", Value: joinAddrs(a), Reason: "nss-myhostname answers localhost names and the host's own name", Source: sp})
			} else {
				status = nssNotFound
			}
		default:
			status = nssUnavail
			add(Step{Key: s.Name, Value: "unavail", Reason: "service not modelled: treated as absent (libnss_" + s.Name + " not loaded)", Source: sp})
			res.notes = append(res.notes, "nss service "+strconv.Quote(s.Name)+" is treated as unavailable")
		}
		if glibcAction(s, status) == "return" {
			break chain
		}
	}
	res.ex = g.ex
	res.end = t
	if status == nssSuccess {
		return res
	}
	res.from = FromNone
	switch herr {
	case "TRY_AGAIN":
		res.eai = "EAI_AGAIN"
	case "NO_DATA":
		res.eai = "EAI_NODATA"
	default:
		res.eai = "EAI_NONAME"
	}
	return res
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func joinAddrs(a []netip.Addr) string {
	s := make([]string, len(a))
	for i, x := range a {
		s[i] = x.String()
	}
	return strings.Join(s, " ")
}

// ----- musl ------------------------------------------------------------

type muslSim struct {
	servers  []string
	sc       Scenario
	timeout  time.Duration
	attempts int
	v        Version
	ex       []Exchange
}

type muslQ struct {
	qtype    string
	answered bool
	at       time.Duration
	out      string
	addrs    []netip.Addr
}

// msend is __res_msend_rc (§C.4): every unanswered query to every server
// at each retry interval; the first NOERROR/NXDOMAIN reply is taken;
// SERVFAIL triggers an immediate resend (bounded); everything else is
// ignored; the whole exchange ends at timeout.
func (m *muslSim) msend(t0 time.Duration, name string, qtypes []string) (time.Duration, []muslQ) {
	qs := make([]muslQ, len(qtypes))
	for i, q := range qtypes {
		qs[i] = muslQ{qtype: q}
	}
	ri := m.timeout / time.Duration(m.attempts)
	tcp := m.v.IsZero() || m.v.AtLeast(1, 2, 4)
	type pending struct {
		at  time.Duration // reply time
		qi  int
		srv int
	}
	for k := 0; time.Duration(k)*ri < m.timeout; k++ {
		ts := t0 + time.Duration(k)*ri
		// Stop if everything was answered before this send.
		all := true
		for _, q := range qs {
			if !q.answered || q.at > ts {
				all = false
			}
		}
		if all {
			break
		}
		budget := 2 * len(qs)
		var queue []pending
		send := func(at time.Duration, qi, srv int, attempt int) {
			b := m.sc.For(srv)
			wait := t0 + m.timeout - at
			r := serverReply(b, qs[qi].qtype, "udp", wait, false)
			out := r.outcome
			if out == OutTruncated && !tcp {
				out = OutNoData
			}
			m.ex = append(m.ex, Exchange{Start: at, End: at + r.after, Server: m.servers[srv], Name: name, Type: qs[qi].qtype, Transport: "udp", Attempt: attempt, Outcome: out})
			accept := func(when time.Duration, o string, a []netip.Addr) {
				if !qs[qi].answered || when < qs[qi].at {
					qs[qi] = muslQ{qtype: qs[qi].qtype, answered: true, at: when, out: o, addrs: a}
				}
			}
			switch out {
			case OutNXDomain, OutNoData, OutAnswer:
				accept(at+r.after, out, r.addrs)
			case OutTruncated:
				r2 := serverReply(b, qs[qi].qtype, "tcp", wait-r.after, false)
				m.ex = append(m.ex, Exchange{Start: at + r.after, End: at + r.after + r2.after, Server: m.servers[srv], Name: name, Type: qs[qi].qtype, Transport: "tcp", Attempt: attempt, Outcome: r2.outcome})
				switch r2.outcome {
				case OutNXDomain, OutNoData, OutAnswer:
					accept(at+r.after+r2.after, r2.outcome, r2.addrs)
				}
			case OutServFail:
				queue = append(queue, pending{at: at + r.after, qi: qi, srv: srv})
			}
		}
		for qi := range qs {
			if qs[qi].answered && qs[qi].at <= ts {
				continue
			}
			for srv := range m.servers {
				send(ts, qi, srv, k+1)
			}
		}
		for len(queue) > 0 && budget > 0 {
			p := queue[0]
			queue = queue[1:]
			if p.at >= t0+m.timeout || (k+1 < m.attempts && p.at >= ts+ri) {
				continue
			}
			if qs[p.qi].answered && qs[p.qi].at <= p.at {
				continue
			}
			budget--
			send(p.at, p.qi, p.srv, k+1)
		}
	}
	end := t0
	for _, q := range qs {
		if !q.answered {
			return t0 + m.timeout, qs
		}
		end = max(end, q.at)
	}
	return end, qs
}

// nameFromDNS is musl's name_from_dns: the EAI code of one name.
func (m *muslSim) nameFromDNS(t time.Duration, name string, qtypes []string) (time.Duration, string, []netip.Addr) {
	end, qs := m.msend(t, name, qtypes)
	for _, q := range qs {
		if !q.answered || q.out == OutServFail {
			return end, "EAI_AGAIN", nil
		}
	}
	var addrs []netip.Addr
	for i := len(qs) - 1; i >= 0; i-- {
		if qs[i].out == OutNXDomain {
			return end, "NXDOMAIN", nil // the only result that continues the search
		}
	}
	for _, q := range qs {
		addrs = append(addrs, q.addrs...)
	}
	if len(addrs) > 0 {
		return end, "", addrs
	}
	if m.v.IsZero() || m.v.AtLeast(1, 2, 4) {
		return end, "EAI_NODATA", nil
	}
	return end, "EAI_NONAME", nil
}

// predictMusl is getaddrinfo in musl (§C).
func predictMusl(env Env, libc Libc, req Request, hints gaiHints, sc Scenario, add func(Step)) libcResult {
	var res libcResult
	v := libc.Version
	res.order = "files,dns"
	add(Step{Key: "order", Value: "files,dns", Reason: "musl has no NSS: /etc/hosts first, then DNS, whatever /etc/nsswitch.conf says"})
	if ld, ok := lookupEnv(env, "LOCALDOMAIN"); ok {
		_ = ld
		res.notes = append(res.notes, "LOCALDOMAIN is ignored by musl")
	}
	rc := parseFile(conf.Musl, env.ResolvConf, conf.ResolvOptions{Version: v})
	for _, s := range rc.Skipped {
		add(Step{Key: "skipped", Value: s.Pos.String(), Reason: s.What, Source: confPos(s.Pos)})
	}
	hosts := parseHostsFile(conf.Musl, env.Hosts, conf.HostsOptions{})
	name := req.Name
	if a, lines := hosts.Lookup(name); len(a) > 0 {
		if f := hints.filter(a); len(f) > 0 {
			res.addrs, res.from = f, FromHosts
			add(Step{Key: "files", Value: joinAddrs(f), Reason: "/etc/hosts has the name (musl matches it case-sensitively, as a whole word)", Source: confPos(lines[0])})
			return res
		}
		// The name is there, but only with the other family: musl's
		// name_from_hosts returns EAI_NONAME and DNS is never asked.
		add(Step{Key: "files", Value: "wrong family", Reason: "/etc/hosts has the name only with addresses of the other family (" + hints.String() + "): musl fails at once, without DNS", Source: confPos(lines[0])})
		res.from, res.eai = FromNone, "EAI_NONAME"
		return res
	}
	add(Step{Key: "files", Value: "notfound", Reason: "/etc/hosts has no line for " + strconv.Quote(name), Source: filePos(env.Hosts)})
	servers := []string{}
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
	m := &muslSim{servers: servers, sc: sc, timeout: timeout, attempts: attempts, v: v}
	res.srv, res.timeout, res.attempts = servers, timeout, attempts
	qtypes := hints.muslTypes()
	var t time.Duration
	var cands []string
	dots := strings.Count(name, ".")
	search := rc.Search
	if strings.HasSuffix(name, ".") || dots >= rc.Ndots.Value {
		search = nil
	} else if len(search) > 0 {
		add(Step{Key: "search", Value: strings.Join(search, " "), Reason: "search list from resolv.conf; any result but NXDOMAIN ends the search", Source: confPos(rc.SearchPos)})
	}
	base := strings.TrimSuffix(name, ".")
	eai := "EAI_NONAME"
	var addrs []netip.Addr
	done := false
	for _, d := range search {
		if len(base)+1+len(d) >= 255 {
			continue
		}
		n := conf.EnsureRooted(base + "." + strings.TrimSuffix(d, "."))
		cands = append(cands, n)
		e, code, a := m.nameFromDNS(t, n, qtypes)
		t = e
		if code == "NXDOMAIN" {
			continue
		}
		eai, addrs, done = code, a, true
		break
	}
	if !done {
		n := base + "."
		cands = append(cands, n)
		e, code, a := m.nameFromDNS(t, n, qtypes)
		t = e
		eai, addrs = code, a
	}
	if eai == "NXDOMAIN" {
		eai = "EAI_NONAME"
	}
	res.cands, res.ex, res.end = cands, m.ex, t
	if len(addrs) > 0 {
		res.addrs, res.from = addrs, FromDNS
		return res
	}
	res.from, res.eai = FromNone, eai
	return res
}

// sortExchanges orders exchanges by start time, A before AAAA, then by
// server order of appearance (stable).
func sortExchanges(ex []Exchange) {
	sort.SliceStable(ex, func(i, j int) bool {
		if ex[i].Start != ex[j].Start {
			return ex[i].Start < ex[j].Start
		}
		return false
	})
}
