package model

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nsscope/nsscope/conf"
	"github.com/nsscope/nsscope/version"
)

// Lookup operations (Request.Op). They differ in how the caller's
// deadline ends a Go lookup and in the error text.
const (
	OpDial       = "dial"        // net.Dial / DialContext (deadline: Dialer.Timeout)
	OpListen     = "listen"      // net.Listen on a host name (no deadline)
	OpLookupIP   = "lookup-ip"   // LookupIP, LookupIPAddr, LookupNetIP
	OpLookupHost = "lookup-host" // LookupHost
	// OpHostByName2 is a C program calling gethostbyname2 once per family
	// in sequence: AF_INET6, then AF_INET only if that found nothing, for
	// the ip networks (as getent hosts does); one family for ip6 or ip4
	// (gethostbyname is the ip4 case). C programs only.
	OpHostByName2 = "gethostbyname2"
)

// Operations lists the valid Request.Op values.
func Operations() []string {
	return []string{OpDial, OpListen, OpLookupIP, OpLookupHost, OpHostByName2}
}

// Networks accepted in a Request.
var validNetworks = map[string]bool{
	"ip": true, "ip4": true, "ip6": true,
	"tcp": true, "tcp4": true, "tcp6": true,
	"udp": true, "udp4": true, "udp6": true,
}

// GoModelled reports whether the model knows Go release v: a series of
// version.Go(), the one table of Go releases (1.10–1.27 today), any
// patch release of it (whether the patch exists is version's check).
func GoModelled(v Version) bool {
	series := version.Go().Series
	first, last := series[0], series[len(series)-1]
	return !v.Less(V(first.Major, first.Minor, 0)) && !V(last.Major, last.Minor, 1<<30).Less(v)
}

// GoRange is the modelled Go releases as text, "1.10–1.27".
func GoRange() string { return version.Go().Range() }

// DefaultPaths are where the resolvers look for their files.
const (
	PathResolvConf = "/etc/resolv.conf"
	PathNSSwitch   = "/etc/nsswitch.conf"
	PathHosts      = "/etc/hosts"
	PathMDNSAllow  = "/etc/mdns.allow"
)

func normalizeFile(f File, path string) File {
	if f.Path == "" {
		f.Path = path
		if f.Data == nil && f.ReadErr == "" {
			f.Missing = true
		}
	}
	if f.Missing {
		f.Data = nil
	}
	return f
}

// Normalize fills in default paths; a zero File means "missing".
func (e Env) Normalize() Env {
	e.ResolvConf = normalizeFile(e.ResolvConf, PathResolvConf)
	e.NSSwitch = normalizeFile(e.NSSwitch, PathNSSwitch)
	e.Hosts = normalizeFile(e.Hosts, PathHosts)
	e.MDNSAllow = normalizeFile(e.MDNSAllow, PathMDNSAllow)
	return e
}

// op returns the request's operation.
func (r Request) op() string {
	if r.Op != "" {
		return r.Op
	}
	if r.Dial {
		return OpDial
	}
	return OpLookupHost
}

func parseFile(d conf.Dialect, f File, o conf.ResolvOptions) *conf.ResolvConf {
	if f.Missing || f.ReadErr != "" {
		return conf.ParseResolvConf(d, f.Name(), nil, o)
	}
	return conf.ParseResolvConf(d, f.Name(), f.Data, o)
}

func parseHostsFile(d conf.Dialect, f File, o conf.HostsOptions) *conf.Hosts {
	if f.Missing || f.ReadErr != "" {
		return conf.ParseHosts(d, f.Name(), nil, o)
	}
	return conf.ParseHosts(d, f.Name(), f.Data, o)
}

// PredictFunc is Predict's signature: the verbs that grade or explain
// predictions take the model as one, so tests can give them another.
type PredictFunc func(Env, Program, Request, Scenario) (*Prediction, error)

// Predict runs the model for one program, environment, request and
// scenario. It returns an error only for inputs outside the model (a Go
// version outside GoRange(), an unknown network, contradictory build facts).
func Predict(env Env, prog Program, req Request, sc Scenario) (*Prediction, error) {
	env = env.Normalize()
	if req.Network == "" {
		req.Network = "ip"
	}
	if !validNetworks[req.Network] {
		return nil, fmt.Errorf("unknown network %q (want ip, ip4, ip6, tcp, tcp4, tcp6, udp, udp4 or udp6)", req.Network)
	}
	if !slices.Contains(Operations(), req.op()) {
		return nil, fmt.Errorf("unknown operation %q (want %s)", req.Op, strings.Join(Operations(), ", "))
	}
	if req.op() == OpHostByName2 && prog.Impl == ImplGo {
		return nil, fmt.Errorf("operation %s is a C library call: it needs a C program (glibc or musl), not Go", OpHostByName2)
	}
	req.Op = req.op()
	if req.Name == "" {
		return nil, fmt.Errorf("empty host name")
	}
	if req.Deadline < 0 {
		return nil, fmt.Errorf("negative deadline %s", req.Deadline)
	}
	for i, b := range sc.Servers {
		switch b.Kind {
		case Silent, Refuse, NXDomain, ServFail, Refused, NoData, Answer:
		default:
			return nil, fmt.Errorf("server %d: unknown behaviour %q", i+1, b.Kind)
		}
		if b.Delay < 0 {
			return nil, fmt.Errorf("server %d: negative delay", i+1)
		}
	}
	p := &Prediction{Program: prog, Request: req, Scenario: sc}
	var err error
	switch prog.Impl {
	case ImplGo:
		err = predictGo(p, env, prog, req, sc)
	case ImplGlibc, ImplMusl:
		err = predictC(p, env, prog, req, sc)
	default:
		err = fmt.Errorf("unknown program kind %q (want go, glibc or musl)", prog.Impl)
	}
	if err != nil {
		return nil, err
	}
	finish(p)
	return p, nil
}

// finish fills the derived fields.
func finish(p *Prediction) {
	sortExchanges(p.Exchanges)
	p.Queries = len(p.Exchanges)
	if p.Candidates == nil {
		p.Candidates = []string{}
	}
	if p.Exchanges == nil {
		p.Exchanges = []Exchange{}
	}
	if p.Servers == nil {
		p.Servers = []string{}
	}
	if p.AnsweredFrom == "" {
		p.AnsweredFrom = FromNone
	}
	if p.Request.Deadline > 0 && p.Total >= p.Request.Deadline {
		p.DeadlineExceeded = true
	}
}

func validateGo(b GoBuild) error {
	v := b.Version
	if v.IsZero() {
		return fmt.Errorf("no Go version given")
	}
	if !GoModelled(v) {
		return fmt.Errorf("version %s of Go is outside the modelled range %s", v, GoRange())
	}
	if b.NetgoTag && b.Cgo {
		return fmt.Errorf("contradictory build: the netgo tag compiles the cgo resolver out")
	}
	if b.NetgoTag && b.NetcgoTag && v.AtLeast(1, 21, 0) {
		return fmt.Errorf("contradictory build: netgo and netcgo together do not compile in Go 1.21+")
	}
	if b.NetcgoTag && !b.Cgo {
		return fmt.Errorf("contradictory build: the netcgo tag needs cgo")
	}
	return nil
}

// describeBuild is the program step's value: the program's one label
// (Describe), then what of its build matters.
func describeBuild(prog Program) string {
	b := prog.Go
	parts := []string{prog.Describe()}
	if b.Cgo {
		parts = append(parts, "cgo resolver compiled in")
	} else {
		parts = append(parts, "no cgo resolver (CGO_ENABLED=0 or netgo)")
	}
	if b.NetcgoTag {
		parts = append(parts, "-tags netcgo")
	}
	if b.DefaultGODEBUG != "" {
		parts = append(parts, "DefaultGODEBUG="+b.DefaultGODEBUG)
	}
	if b.PreferGo {
		parts = append(parts, "Resolver.PreferGo")
	}
	if b.StrictErrors {
		parts = append(parts, "Resolver.StrictErrors")
	}
	return strings.Join(parts, ", ")
}

// era names the resolver-selection era of Go release v. What an era does
// without /etc/nsswitch.conf is said only when the file is missing: where
// it is present, its hosts line decides (the order step says how).
func era(v Version, nsswitchMissing bool) string {
	switch {
	case !v.AtLeast(1, 16, 0) && nsswitchMissing:
		return "Go 1.10–1.15: a missing nsswitch.conf means dns,files"
	case !v.AtLeast(1, 16, 0):
		return "Go 1.10–1.15 resolver selection"
	case !v.AtLeast(1, 21, 0) && nsswitchMissing:
		return "Go 1.16–1.20: a missing nsswitch.conf means files,dns"
	case !v.AtLeast(1, 21, 0):
		return "Go 1.16–1.20 resolver selection"
	default:
		return "Go 1.21+: resolver-selection rewrite (Go-only binaries follow nsswitch best-effort)"
	}
}

func predictGo(p *Prediction, env Env, prog Program, req Request, sc Scenario) error {
	b := prog.Go
	if err := validateGo(b); err != nil {
		return err
	}
	v := b.Version
	add := func(s Step) { p.Steps = append(p.Steps, s) }
	add(Step{Key: "program", Value: describeBuild(prog), Reason: era(v, env.NSSwitch.Missing)})
	c := newGoConf(env, b)
	rc := parseFile(conf.Go, env.ResolvConf, conf.ResolvOptions{Version: v})
	var d orderDecision
	if !v.AtLeast(1, 11, 0) && b.PreferGo {
		d = orderDecision{order: OrderFilesDNS, shown: req.Name}
		d.step("order", string(OrderFilesDNS), "Go 1.10 with Resolver.PreferGo always uses files,dns", nil)
	} else if v.AtLeast(1, 21, 0) {
		d = goOrderEra2(c, env, rc, req.Name)
	} else {
		d = goOrderEra1(c, env, rc, req.Name)
	}
	p.Steps = append(p.Steps, d.steps...)
	// Debug output: what GODEBUG=netdns=<mode>+2 prints for this decision.
	p.Debug = append(p.Debug, c.choiceLines(2)...)
	shown := d.shown
	if v.AtLeast(1, 21, 0) {
		shown = req.Name
	}
	p.Debug = append(p.Debug, "go package net: hostLookupOrder("+shown+") = "+string(d.order))
	order := d.order
	if order == OrderCgo && !c.cgoAvail {
		order = OrderFilesDNS
		add(Step{Key: "order", Value: string(order), Reason: "the cgo resolver is not compiled in: Go falls back to files,dns"})
	}
	if order == OrderCgo {
		return predictGoCgo(p, env, prog, req, sc, add)
	}
	p.Resolver = "go"
	p.Order = string(order)
	return predictGoResolver(p, env, b, c, rc, order, req, sc, add)
}

func goDeadlineErr(v Version, name string) string {
	if v.AtLeast(1, 18, 0) {
		return "lookup " + name + ": i/o timeout"
	}
	return "i/o timeout"
}

func wrapGoErr(req Request, inner string) string {
	switch req.Op {
	case OpDial:
		return "dial " + goDialNet(req.Network) + ": " + inner
	case OpListen:
		return "listen " + goDialNet(req.Network) + ": " + inner
	}
	return inner
}

func goDialNet(n string) string {
	if strings.HasPrefix(n, "ip") {
		return "ip" + strings.TrimPrefix(n, "ip")
	}
	return n
}

func (e *dnsErr) format(name string) string {
	s := "lookup " + name
	if e.server != "" {
		s += " on " + e.server
	}
	return s + ": " + e.text
}

// goLookup is one lookup by Go's own resolver: what it reads and the
// prediction it fills in, phase by phase.
type goLookup struct {
	p     *Prediction
	env   Env
	req   Request
	v     Version
	hosts *conf.Hosts
	add   func(Step)
}

func predictGoResolver(p *Prediction, env Env, b GoBuild, c goConf, rc *conf.ResolvConf, order Order, req Request, sc Scenario, add func(Step)) error {
	l := &goLookup{p: p, env: env, req: req, v: b.Version, hosts: parseHostsFile(conf.Go, env.Hosts, conf.HostsOptions{Version: b.Version}), add: add}
	// The DNS configuration and the candidate names are part of the
	// prediction even when /etc/hosts answers first.
	cfg := goDNSConfig(env, rc, b, c.dbg, add)
	p.Servers, p.Timeout, p.Attempts, p.SingleRequest = cfg.servers, Seconds(cfg.timeout), cfg.attempts, cfg.single
	cands := goNameList(req.Name, cfg, l.v)
	p.Candidates = cands
	if order == OrderFilesDNS || order == OrderFiles {
		if l.fromHosts("before DNS") {
			return nil
		}
		if order == OrderFiles {
			l.filesOnlyMiss()
			return nil
		}
	}
	if !goIsDomainName(req.Name, l.v) {
		add(Step{Key: "dns", Value: "skipped", Reason: strconv.Quote(req.Name) + " is not a valid domain name: no DNS query, no hosts fallback"})
		p.Error = wrapGoErr(req, "lookup "+req.Name+": no such host")
		return nil
	}
	done, dnsErr := l.dns(cfg, cands, rc, order, sc, b.StrictErrors)
	if done {
		return nil
	}
	if order == OrderDNSFiles && l.fromHosts(fmt.Sprintf("after DNS gave nothing, at %s", durS(p.DNS.Duration()))) {
		return nil
	}
	p.Error = dnsErr
	return nil
}

// fromHosts looks the name up in /etc/hosts (at says when) and, when it is
// there, answers with it.
func (l *goLookup) fromHosts(at string) bool {
	a, lines := l.hosts.Lookup(l.req.Name)
	if l.env.Hosts.Missing || l.env.Hosts.ReadErr != "" {
		l.add(Step{Key: "hosts", Value: "unreadable", Reason: "/etc/hosts is missing or unreadable (" + at + ")", Source: filePos(l.env.Hosts)})
		return false
	}
	if len(a) == 0 {
		l.add(Step{Key: "hosts", Value: "no match", Reason: hostsMissWhy(l.req.Name) + " (" + at + ")", Source: filePos(l.env.Hosts)})
		return false
	}
	l.add(Step{Key: "hosts", Value: joinAddrs(a), Reason: "/etc/hosts answers (" + at + ")", Source: confPos(lines[0])})
	l.answer(a, FromHosts)
	return true
}

// hostsMissWhy says why /etc/hosts has no line for name; Go compares a
// rooted single-label name with its dot, so "localhost." never matches a
// "localhost" line.
func hostsMissWhy(name string) string {
	why := "/etc/hosts has no line for " + strconv.Quote(name)
	if bare := strings.TrimSuffix(name, "."); bare != name && bare != "" && !strings.Contains(bare, ".") {
		why += " (Go compares a dotted name rooted: \"" + name + "\" never matches a \"" + bare + "\" line)"
	}
	return why
}

// answer records the addresses found and where; a dial or listen that
// finds none of its network's family fails.
func (l *goLookup) answer(addrs []netip.Addr, from string) {
	l.p.AnsweredFrom = from
	for _, a := range addrs {
		l.p.Addrs = append(l.p.Addrs, a.String())
	}
	if len(familyFilter(l.req.Network, addrs)) == 0 && (l.req.Op == OpDial || l.req.Op == OpListen) {
		l.p.Error = wrapGoErr(l.req, "address "+l.req.Name+": no suitable address found")
	}
}

// filesOnlyMiss is the result of "hosts: files" when /etc/hosts lacks the
// name: an error since Go 1.20; before, no addresses and, for a lookup, no
// error either.
func (l *goLookup) filesOnlyMiss() {
	switch {
	case l.v.AtLeast(1, 20, 0):
		l.p.Error = wrapGoErr(l.req, "lookup "+l.req.Name+": no such host")
	case l.req.Op == OpDial || l.req.Op == OpListen:
		l.p.Error = wrapGoErr(l.req, "address "+l.req.Name+": no suitable address found")
	default:
		l.p.Notes = append(l.p.Notes, "Go before 1.20 returns no addresses and no error for a files-only miss")
	}
}

// dns asks the nameservers for each candidate name, as far as the caller's
// deadline lets it. It reports whether the lookup is over: answered, or cut
// by the deadline. When it is not, it returns DNS's error, the lookup's
// unless /etc/hosts is read after DNS and has the name.
func (l *goLookup) dns(cfg goDNSConf, cands []string, rc *conf.ResolvConf, order Order, sc Scenario, strict bool) (bool, string) {
	p, req := l.p, l.req
	qtypes := goQtypes(req.Network, l.v)
	if len(cands) == 0 {
		l.add(Step{Key: "candidates", Value: "none", Reason: "no candidate name (too long, or .onion)"})
	} else {
		l.add(Step{Key: "candidates", Value: strings.Join(cands, " "), Reason: candWhy(req.Name, cfg.ndots, len(cfg.search)), Source: confPos(rc.Ndots.Pos)})
	}
	D := req.Deadline.Duration()
	sim := &goSim{cfg: cfg, sc: sc, clk: clock{deadline: D}}
	res := sim.run(req.Name, cands, qtypes, strict)
	p.Exchanges = sim.ex
	p.DNS = Seconds(res.end)
	if D > 0 {
		p.DNS = Seconds(min(res.end, D))
	}
	if req.Op != OpLookupHost && D > 0 && res.end >= D {
		// The caller's context ended while DNS was still being asked: the
		// lookup returns at the deadline with a timeout (go-resolver.md §b.10).
		p.Total = Seconds(D)
		p.DeadlineExceeded = true
		l.add(Step{Key: "deadline", Value: D.String(), Reason: fmt.Sprintf("the caller's deadline ends the lookup while DNS is still being asked (DNS alone would take %s)", durS(dnsUncut(cfg, cands, qtypes, sc, req.Name, strict)))})
		if a, lines := l.hosts.Lookup(req.Name); order == OrderDNSFiles && len(a) > 0 {
			l.add(Step{Key: "hosts", Value: joinAddrs(a), Reason: "/etc/hosts has the name, but it is read only after DNS, which the deadline never lets finish", Source: confPos(lines[0])})
		}
		p.Error = wrapGoErr(req, goDeadlineErr(l.v, req.Name))
		return true, ""
	}
	p.Total = p.DNS
	if len(res.addrs) > 0 {
		l.add(Step{Key: "dns", Value: joinAddrs(res.addrs), Reason: "answered by DNS for " + cands[res.stopped]})
		l.answer(res.addrs, FromDNS)
		return true, ""
	}
	if res.strict {
		l.add(Step{Key: "dns", Value: "stopped", Reason: "Resolver.StrictErrors: a temporary error ends the search"})
	}
	e := res.err
	if e == nil {
		e = &dnsErr{text: "no such host", notFound: true}
	}
	return false, wrapGoErr(req, e.format(req.Name))
}

// dnsUncut is the DNS time without the caller's deadline.
func dnsUncut(cfg goDNSConf, cands, qtypes []string, sc Scenario, name string, strict bool) time.Duration {
	s := &goSim{cfg: cfg, sc: sc}
	return s.run(name, cands, qtypes, strict).end
}

func candWhy(name string, ndots, nsearch int) string {
	if strings.HasSuffix(name, ".") {
		return "the name is rooted: asked as is, no search list"
	}
	dots := strings.Count(name, ".")
	if nsearch == 0 {
		return "no search list: only the name itself"
	}
	if dots >= ndots {
		return fmt.Sprintf("%d dot(s) ≥ ndots %d: the bare name first, then %d search domain(s)", dots, ndots, nsearch)
	}
	return fmt.Sprintf("%d dot(s) < ndots %d: %d search domain(s) first, the bare name last", dots, ndots, nsearch)
}

func durS(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}

func libcOrDefault(p *Prediction, l Libc) Libc {
	if l.Known() {
		return l
	}
	p.Notes = append(p.Notes, "libc unknown: assumed glibc 2.36 (Debian 12)")
	return Libc{Kind: "glibc", Version: V(2, 36, 0), Distro: "debian"}
}

func runLibc(env Env, l Libc, req Request, h gaiHints, sc Scenario, add func(Step)) libcResult {
	if l.Kind == "musl" {
		return predictMusl(env, l, req, h, sc, add)
	}
	return predictGlibc(env, l, req, h, sc, add)
}

func fillLibc(p *Prediction, r libcResult) {
	p.Order = r.order
	p.Candidates = r.cands
	p.Exchanges = r.ex
	p.Servers, p.Timeout, p.Attempts, p.SingleRequest = r.srv, Seconds(r.timeout), r.attempts, r.single
	p.Notes = append(p.Notes, r.notes...)
	p.QueriesRange = r.queriesRange
	p.DNS = 0
	for _, e := range r.ex {
		p.DNS = max(p.DNS, e.End)
	}
	p.Total = Seconds(r.end)
	if r.from != FromNone && r.from != "" {
		p.AnsweredFrom = r.from
		if r.from == "myhostname" {
			p.AnsweredFrom = FromHosts
		}
		for _, a := range r.addrs {
			p.Addrs = append(p.Addrs, a.String())
		}
	}
}

// predictGoCgo hands the lookup to getaddrinfo (§b.12).
func predictGoCgo(p *Prediction, env Env, prog Program, req Request, sc Scenario, add func(Step)) error {
	l := libcOrDefault(p, prog.Libc)
	p.Resolver = "cgo/" + l.Kind
	h := hintsFor(req.Network, true)
	add(Step{Key: "resolver", Value: p.Resolver, Reason: "Go calls getaddrinfo of " + l.String() + " (" + h.String() + "): order, search and timing are the C library's"})
	r := runLibc(env, l, req, h, sc, add)
	fillLibc(p, r)
	v := prog.Go.Version
	D := req.Deadline
	if D > 0 && Seconds(r.end) >= D {
		// The cgo call runs on; Go's caller returns at its deadline.
		var kept []Exchange
		for _, e := range p.Exchanges {
			if e.Start < D {
				if e.End > D {
					e.End, e.Outcome = D, OutCancelled
				}
				kept = append(kept, e)
			}
		}
		p.Exchanges = kept
		p.DNS = min(p.DNS, D)
		p.Total = D
		p.DeadlineExceeded = true
		p.AnsweredFrom, p.Addrs = FromNone, nil
		add(Step{Key: "deadline", Value: D.String(), Reason: fmt.Sprintf("the caller's deadline ends the wait for getaddrinfo (which alone takes %s)", durS(r.end))})
		p.Error = wrapGoErr(req, goDeadlineErr(v, req.Name))
		return nil
	}
	if r.eai != "" {
		txt := gaiText(l.Kind, r.eai)
		if r.eai == "EAI_NONAME" || r.eai == "EAI_NODATA" {
			txt = "no such host"
		}
		p.Error = wrapGoErr(req, "lookup "+req.Name+": "+txt)
		return nil
	}
	if len(familyFilter(req.Network, r.addrs)) == 0 && (req.Op == OpDial || req.Op == OpListen) {
		p.Error = wrapGoErr(req, "address "+req.Name+": no suitable address found")
	}
	return nil
}

// predictC models a C program calling getaddrinfo.
func predictC(p *Prediction, env Env, prog Program, req Request, sc Scenario) error {
	add := func(s Step) { p.Steps = append(p.Steps, s) }
	l := prog.Libc
	if !l.Known() {
		l = Libc{Kind: string(prog.Impl)}
	}
	if l.Kind != string(prog.Impl) {
		return fmt.Errorf("contradictory program: %s program with libc %s", prog.Impl, l.Kind)
	}
	if l.Kind == "musl" && !l.Version.IsZero() && !l.Version.AtLeast(1, 1, 0) {
		return fmt.Errorf("musl %s is older than the modelled 1.1 series", l.Version)
	}
	if l.Kind == "glibc" && !l.Version.IsZero() && !l.Version.AtLeast(2, 17, 0) {
		return fmt.Errorf("glibc %s is older than the modelled 2.17+", l.Version)
	}
	p.Resolver = l.Kind
	add(Step{Key: "program", Value: Program{Label: prog.Label, Impl: prog.Impl, Libc: l}.Describe(), Reason: "getaddrinfo does the lookup"})
	if l.Version.IsZero() {
		p.Notes = append(p.Notes, l.Kind+" version unknown: newest behaviour assumed")
	}
	var r libcResult
	if req.Op == OpHostByName2 {
		r = hostByName2(env, l, req, sc, add)
	} else {
		r = runLibc(env, l, req, hintsFor(req.Network, false), sc, add)
	}
	fillLibc(p, r)
	switch {
	case r.eai == "":
	case req.Op == OpHostByName2:
		p.Error = "gethostbyname2(" + strconv.Quote(req.Name) + "): " + hstrerror(l.Kind, hErrno(r.eai))
	default:
		p.Error = "getaddrinfo(" + strconv.Quote(req.Name) + "): " + gaiText(l.Kind, r.eai)
	}
	if req.Deadline > 0 && Seconds(r.end) >= req.Deadline {
		p.Notes = append(p.Notes, "a C program has no deadline of its own: the lookup runs to its end; the verdict compares it with the deadline")
	}
	return nil
}
