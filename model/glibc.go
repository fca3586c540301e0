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
				g.ex = append(g.ex, Exchange{Start: Seconds(at), End: Seconds(at + r.after), Server: g.servers[ns], Name: name, Type: q, Transport: tr, Attempt: a, Outcome: r.outcome})
				if r.outcome == OutTruncated {
					r2 := serverReply(b, q, "tcp", wait, true)
					g.ex = append(g.ex, Exchange{Start: Seconds(at + r.after), End: Seconds(at + r.after + r2.after), Server: g.servers[ns], Name: name, Type: q, Transport: "tcp", Attempt: a, Outcome: r2.outcome})
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

// search is res_search (§D.4): the name as is first when it has at least
// ndots dots (only that when it is rooted), the search list, then the name
// as is last when it was not first (unless no-tld-query keeps a dot-less
// name off DNS). Each answer of the list is judged by glibcListRule; the
// error returned by glibcSearchError.
func (g *glibcSim) search(name string, search []string, ndots int, noTLD bool, qtypes []string) (time.Duration, string, []netip.Addr, []string) {
	w := glibcWalk{g: g, t: g.t, qtypes: qtypes}
	dots := strings.Count(name, ".")
	rooted := strings.HasSuffix(name, ".")
	bare := conf.EnsureRooted(name)
	asIsFirst := dots >= ndots || rooted
	var first, remembered, last string
	if asIsFirst {
		h, a := w.ask(bare)
		if len(a) > 0 || rooted {
			return w.t, servfailAsTryAgain(h), a, w.cands
		}
		first, last = servfailAsTryAgain(h), h
	}
	for _, n := range glibcSearchNames(bare, search) {
		h, a := w.ask(n)
		if len(a) > 0 {
			return w.t, "", a, w.cands
		}
		last = h
		if g.errno == "ECONNREFUSED" {
			// Every server refused: the whole lookup ends here.
			return w.t, "TRY_AGAIN", nil, w.cands
		}
		next, keep := glibcListRule(h)
		if keep == "NO_DATA" || (keep != "" && remembered == "") {
			remembered = keep
		}
		if !next {
			break
		}
	}
	if !asIsFirst && !(dots == 0 && noTLD) {
		h, a := w.ask(bare)
		if len(a) > 0 {
			return w.t, "", a, w.cands
		}
		last = h
	}
	return w.t, glibcSearchError(first, remembered, last), nil, w.cands
}

// glibcWalk asks the names of one search, one after the other.
type glibcWalk struct {
	g      *glibcSim
	t      time.Duration
	qtypes []string
	cands  []string
}

func (w *glibcWalk) ask(n string) (string, []netip.Addr) {
	w.cands = append(w.cands, n)
	e, h, a := w.g.query(w.t, n, w.qtypes)
	w.t = e
	return h, a
}

// glibcSearchNames are the names built from the search list: NAME.DOMAIN.,
// or the name itself for an empty or "." domain.
func glibcSearchNames(bare string, search []string) []string {
	out := make([]string, 0, len(search))
	for _, d := range search {
		if d == "." || d == "" {
			out = append(out, bare)
			continue
		}
		out = append(out, strings.TrimSuffix(bare, ".")+"."+conf.EnsureRooted(d))
	}
	return out
}

// glibcListRule is what one failed answer of the search list does: NXDOMAIN
// (HOST_NOT_FOUND) goes on; no data goes on and is remembered as NO_DATA; a
// SERVFAIL answer goes on and is remembered as TRY_AGAIN; anything else (a
// timeout) ends the list.
func glibcListRule(herr string) (next bool, remember string) {
	switch herr {
	case "HOST_NOT_FOUND":
		return true, ""
	case "NO_DATA":
		return true, "NO_DATA"
	case "SERVFAIL":
		return true, "TRY_AGAIN"
	}
	return false, ""
}

// glibcSearchError is the h_errno a failed search returns: the as-is
// query's when it was asked first; else NO_DATA, then TRY_AGAIN, when the
// list saw them; else the last answer's.
func glibcSearchError(first, remembered, last string) string {
	switch {
	case first != "":
		return first
	case remembered != "":
		return remembered
	}
	return servfailAsTryAgain(last)
}

// servfailAsTryAgain: a SERVFAIL answer is reported as TRY_AGAIN.
func servfailAsTryAgain(h string) string {
	if h == "SERVFAIL" {
		return "TRY_AGAIN"
	}
	return h
}

// predictGlibc is getaddrinfo in glibc (§D), after any Go wrapper: the
// settings from the environment and the files, then the hosts chain of
// nsswitch.conf run source by source.
func predictGlibc(env Env, libc Libc, req Request, hints gaiHints, sc Scenario, add func(Step)) libcResult {
	var res libcResult
	rc := parseFile(conf.Glibc, env.ResolvConf, conf.ResolvOptions{Version: libc.Version})
	ldSet := glibcApplyEnv(env, rc, add, &res)
	chain := glibcHostsChain(env, libc.Version, add)
	res.order = conf.HostsLine(chain)
	set := glibcResolverSettings(env, rc, ldSet, add, &res)
	g := &glibcSim{servers: set.servers, sc: sc, timeout: set.timeout, attempts: set.attempts, single: rc.SingleRequest.On, useVC: rc.UseVC.On}
	res.srv, res.timeout, res.attempts, res.single = set.servers, g.perServerWait(0), set.attempts, rc.SingleRequest.On
	run := glibcChainRun{env: env, req: req, hints: hints, g: g, set: set, rc: rc, add: add, res: &res,
		hosts: parseHostsFile(conf.Glibc, env.Hosts, conf.HostsOptions{})}
	run.passes = hints.glibcPasses()
	run.walk(chain)
	return res
}

// glibcApplyEnv applies LOCALDOMAIN and RES_OPTIONS to the parsed file
// (glibc reads them after resolv.conf) and notes HOSTALIASES. It reports
// whether LOCALDOMAIN set the search list.
func glibcApplyEnv(env Env, rc *conf.ResolvConf, add func(Step), res *libcResult) bool {
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
	return ldSet
}

// glibcDefaultChain is the hosts chain glibc uses when nsswitch.conf gives
// none: "dns [!UNAVAIL=return] files" before 2.35 (glibc bug 28700),
// "files dns" from 2.35 (commit b99b0f93; Debian patched it in earlier).
func glibcDefaultChain(v Version) ([]conf.Source, string) {
	if !v.IsZero() && !v.AtLeast(2, 35, 0) {
		return []conf.Source{{Name: "dns", Criteria: []conf.Criterion{{Negate: true, Status: "unavail", Action: "return"}}}, {Name: "files"}},
			`glibc before 2.35 defaults to "dns [!UNAVAIL=return] files" (glibc bug 28700)`
	}
	return []conf.Source{{Name: "files"}, {Name: "dns"}}, `glibc 2.35+ defaults to "files dns" (commit b99b0f93)`
}

// glibcHostsChain is the hosts line of nsswitch.conf, or glibc's built-in
// default when the file is missing, unreadable or has no hosts line.
func glibcHostsChain(env Env, v Version, add func(Step)) []conf.Source {
	var why string
	src := filePos(env.NSSwitch)
	switch {
	case env.NSSwitch.ReadErr != "":
		why = "/etc/nsswitch.conf cannot be read (" + env.NSSwitch.ReadErr + ")"
	case env.NSSwitch.Missing:
		why = "/etc/nsswitch.conf is missing"
	default:
		ns := conf.ParseNSSwitch(conf.Glibc, env.NSSwitch.Name(), env.NSSwitch.Data)
		if len(ns.Hosts) > 0 {
			add(Step{Key: "order", Value: conf.HostsLine(ns.Hosts), Reason: "hosts line of /etc/nsswitch.conf", Source: confPos(ns.HostsLines[0])})
			return ns.Hosts
		}
		why = "/etc/nsswitch.conf has no hosts line"
	}
	chain, def := glibcDefaultChain(v)
	add(Step{Key: "order", Value: conf.HostsLine(chain), Reason: why + ": " + def, Source: src})
	return chain
}

// glibcSettings are the resolver settings after glibc's defaults and caps.
type glibcSettings struct {
	servers  []string
	search   []string
	ndots    int
	timeout  int // seconds
	attempts int
}

// glibcResolverSettings applies glibc's defaults to resolv.conf: the local
// host when no nameserver is listed, the host name's domain when there is
// no search list, attempts of at least 1.
func glibcResolverSettings(env Env, rc *conf.ResolvConf, ldSet bool, add func(Step), res *libcResult) glibcSettings {
	set := glibcSettings{search: rc.Search, ndots: rc.Ndots.Value, timeout: rc.Timeout.Value, attempts: rc.Attempts.Value}
	for _, n := range rc.Nameservers {
		set.servers = append(set.servers, hostPort(n.Addr))
	}
	if len(set.servers) == 0 {
		set.servers = []string{"127.0.0.1:53"}
		add(Step{Key: "servers", Value: "127.0.0.1:53", Reason: "no nameserver: glibc uses the local host", Source: filePos(env.ResolvConf)})
	} else {
		add(Step{Key: "servers", Value: strings.Join(set.servers, " "), Reason: "tried one after another; waits T, then (T<<i)/N per position i", Source: confPos(rc.Nameservers[0].Pos)})
	}
	if !rc.SearchSet {
		if i := strings.IndexByte(env.Hostname, '.'); i >= 0 && i < len(env.Hostname)-1 {
			set.search = []string{env.Hostname[i+1:]}
			add(Step{Key: "search", Value: set.search[0], Reason: "no search list: glibc takes the domain of the host name"})
		}
	} else if !ldSet {
		add(Step{Key: "search", Value: strings.Join(set.search, " "), Reason: "search list from resolv.conf", Source: confPos(rc.SearchPos)})
	}
	if set.attempts < 1 {
		set.attempts = 1
		res.notes = append(res.notes, "attempts:0 makes glibc send nothing; modelled as 1")
	}
	add(Step{Key: "ndots", Value: strconv.Itoa(set.ndots), Reason: optWhy(rc.Ndots.Pos, "default 1") + " (glibc caps at 15)", Source: confPos(rc.Ndots.Pos)})
	add(Step{Key: "timeout", Value: strconv.Itoa(set.timeout) + "s", Reason: optWhy(rc.Timeout.Pos, "default 5 s") + " (glibc caps at 30)", Source: confPos(rc.Timeout.Pos)})
	add(Step{Key: "attempts", Value: strconv.Itoa(set.attempts), Reason: optWhy(rc.Attempts.Pos, "default 2") + " (glibc caps at 5)", Source: confPos(rc.Attempts.Pos)})
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
	return set
}

// glibcChainRun walks the hosts chain: each source gives a status, and the
// source's criteria decide whether the walk returns or goes on.
type glibcChainRun struct {
	env    Env
	req    Request
	hints  gaiHints
	passes [][]string // query types per res_search pass
	hosts  *conf.Hosts
	g      *glibcSim
	set    glibcSettings
	rc     *conf.ResolvConf
	add    func(Step)
	res    *libcResult
	t      time.Duration
}

// walk runs the chain and fills the result: addresses and source on
// success, the EAI code of the last source's h_errno otherwise.
func (r *glibcChainRun) walk(chain []conf.Source) {
	status, herr := nssNotFound, "HOST_NOT_FOUND"
	for _, s := range chain {
		var h string
		status, h = r.source(s)
		if h != "" {
			// Sources that do not set h_errno leave the previous one.
			herr = h
		}
		if glibcAction(s, status) == "return" {
			break
		}
	}
	r.res.ex, r.res.end = r.g.ex, r.t
	if status == nssSuccess {
		return
	}
	r.res.from = FromNone
	r.res.eai = glibcEAI(herr)
}

// glibcEAI is getaddrinfo's code for the h_errno of the failing source.
func glibcEAI(herr string) string {
	switch herr {
	case "TRY_AGAIN":
		return "EAI_AGAIN"
	case "NO_DATA":
		return "EAI_NODATA"
	}
	return "EAI_NONAME"
}

// source runs one source of the chain and returns its NSS status and the
// h_errno it sets ("" when it leaves h_errno as it was).
func (r *glibcChainRun) source(s conf.Source) (string, string) {
	sp := confPos(s.Pos)
	switch {
	case s.Name == "files":
		return r.files()
	case s.Name == "dns":
		return r.dns(sp)
	case s.Name == "myhostname" && !r.env.hasNSSModule("myhostname"):
		r.add(Step{Key: "myhostname", Value: "unavail", Reason: "libnss_myhostname is not installed in this root: glibc skips the source", Source: sp})
		return nssUnavail, ""
	case s.Name == "myhostname":
		return r.myhostname(sp)
	}
	r.add(Step{Key: s.Name, Value: "unavail", Reason: "service not modelled: treated as absent (libnss_" + s.Name + " not loaded)", Source: sp})
	r.res.notes = append(r.res.notes, "nss service "+strconv.Quote(s.Name)+" is treated as unavailable")
	return nssUnavail, ""
}

// files is the files source: /etc/hosts, filtered by the hints.
func (r *glibcChainRun) files() (string, string) {
	if r.env.Hosts.Missing || r.env.Hosts.ReadErr != "" {
		r.add(Step{Key: "files", Value: "unavail", Reason: "/etc/hosts cannot be opened", Source: filePos(r.env.Hosts)})
		return nssUnavail, "HOST_NOT_FOUND"
	}
	a, lines := r.hosts.Lookup(r.req.Name)
	a = r.hints.filter(a)
	if len(a) == 0 {
		r.add(Step{Key: "files", Value: "notfound", Reason: "/etc/hosts has no line for " + strconv.Quote(r.req.Name), Source: filePos(r.env.Hosts)})
		return nssNotFound, "HOST_NOT_FOUND"
	}
	r.res.addrs, r.res.from = a, FromHosts
	r.add(Step{Key: "files", Value: joinAddrs(a), Reason: "/etc/hosts has the name", Source: confPos(lines[0])})
	return nssSuccess, ""
}

// myhostname is nss-myhostname: localhost names and the host's own name.
func (r *glibcChainRun) myhostname(sp *Pos) (string, string) {
	name := strings.TrimSuffix(r.req.Name, ".")
	if !isLocalhostName(name) && !strings.EqualFold(name, r.env.Hostname) {
		return nssNotFound, ""
	}
	a := r.hints.filter([]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")})
	r.res.addrs, r.res.from = a, "myhostname"
	r.add(Step{Key: "myhostname", Value: joinAddrs(a), Reason: "nss-myhostname answers localhost names and the host's own name", Source: sp})
	return nssSuccess, ""
}

// dns is the dns source: one res_search per pass of query types.
func (r *glibcChainRun) dns(sp *Pos) (string, string) {
	var a []netip.Addr
	var h string
	var cands []string
	for _, qtypes := range r.passes {
		var pa []netip.Addr
		var e time.Duration
		r.g.t = r.t
		e, h, pa, cands = r.g.search(r.req.Name, r.set.search, r.set.ndots, r.rc.NoTLDQuery.On, qtypes)
		a = append(a, pa...)
		for _, c := range cands {
			if !slices.Contains(r.res.cands, c) {
				r.res.cands = append(r.res.cands, c)
			}
		}
		r.t = e
	}
	status := nssNotFound
	switch {
	case len(a) > 0:
		status, r.res.addrs, r.res.from = nssSuccess, a, FromDNS
	case r.g.errno == "ECONNREFUSED" || r.g.errno == "ETIMEDOUT":
		status = nssUnavail
	case h == "TRY_AGAIN":
		status = nssTryAgain
	}
	r.add(Step{Key: "dns", Value: status, Reason: fmt.Sprintf("res_search asked %d name(s); h_errno %s, errno %s", len(cands), orDash(h), orDash(r.g.errno)), Source: sp})
	return status, h
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
