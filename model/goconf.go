package model

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nsscope/nsscope/conf"
)

// Order is a source order chosen by Go's hostLookupOrder.
type Order string

const (
	OrderCgo      Order = "cgo"
	OrderFilesDNS Order = "files,dns"
	OrderDNSFiles Order = "dns,files"
	OrderFiles    Order = "files"
	OrderDNS      Order = "dns"
)

// goDebug is the netdns part of GODEBUG.
type goDebug struct {
	mode    string // "go", "cgo", other (invalid) or ""
	level   int
	edns0   string // netedns0 value ("" unset)
	source  string // where netdns came from (for citing)
	invalid bool   // mode given but neither go nor cgo
}

// parseGODEBUG merges the build's DefaultGODEBUG (Go 1.21+) with the
// environment's GODEBUG; the environment wins key by key, later keys win.
// Only netdns and netedns0 matter here.
func parseGODEBUG(defaults, env string, envSet bool, v Version) goDebug {
	var d goDebug
	apply := func(s, src string) {
		for _, kv := range strings.Split(s, ",") {
			switch k, val, ok := strings.Cut(strings.TrimSpace(kv), "="); {
			case !ok:
			case k == "netdns":
				d.mode, d.level = goNetDNS(val)
				d.invalid = d.mode != "" && d.mode != "go" && d.mode != "cgo"
				d.source = src
			case k == "netedns0":
				d.edns0 = val
			}
		}
	}
	if v.AtLeast(1, 21, 0) && defaults != "" {
		apply(defaults, "build setting DefaultGODEBUG="+defaults)
	}
	if envSet {
		apply(env, "GODEBUG="+env)
	}
	return d
}

// goNetDNS reads a netdns value (go-resolver.md §b.2): at most two
// parts around the first '+'; a part starting with a digit is the debug
// level (its leading digits), any other non-empty part the mode; the
// second part wins over the first of its kind.
func goNetDNS(val string) (mode string, level int) {
	first, second, _ := strings.Cut(val, "+")
	for _, part := range []string{first, second} {
		switch {
		case part == "":
		case '0' <= part[0] && part[0] <= '9':
			level = goDebugLevel(part)
		default:
			mode = part
		}
	}
	return mode, level
}

// goDebugLevel is the number the leading digits of s spell, read until it
// reaches a million (more than any level means).
func goDebugLevel(s string) int {
	n := 0
	for i := 0; i < len(s) && '0' <= s[i] && s[i] <= '9' && n < 1e6; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// goConf is what Go's initConfVal computes once per process.
type goConf struct {
	v          Version
	netGo      bool   // ≤1.20: netgo tag or no cgo, or netdns=go; 1.21+: netgo tag or netdns=go
	netGoBuild bool   // netGo came from the build (for the debug text)
	netCgo     bool   // netcgo tag or netdns=cgo
	cgoAvail   bool   // cgo resolver compiled in
	forceCgo   bool   // ≤1.20 forceCgoLookupHost
	preferCgo  bool   // 1.21+ preferCgo
	forceWhy   string // reason for forceCgo/preferCgo
	forcePos   *Pos
	dbg        goDebug
	preferGo   bool
}

func lookupEnv(env Env, k string) (string, bool) {
	v, ok := env.Vars[k]
	return v, ok
}

func newGoConf(env Env, b GoBuild) goConf {
	g, gset := lookupEnv(env, "GODEBUG")
	c := goConf{v: b.Version, cgoAvail: b.Cgo, preferGo: b.PreferGo}
	c.dbg = parseGODEBUG(b.DefaultGODEBUG, g, gset, b.Version)
	if b.Version.AtLeast(1, 21, 0) {
		c.netGoBuild = b.NetgoTag
	} else {
		c.netGoBuild = b.NetgoTag || !b.Cgo
	}
	c.netGo = c.netGoBuild || c.dbg.mode == "go"
	c.netCgo = b.NetcgoTag || c.dbg.mode == "cgo"
	var why string
	var p *Pos
	ld, ldSet := lookupEnv(env, "LOCALDOMAIN")
	ro, _ := lookupEnv(env, "RES_OPTIONS")
	ha, _ := lookupEnv(env, "HOSTALIASES")
	switch {
	case ldSet:
		why, p = "LOCALDOMAIN is set (even empty, it counts)", &Pos{File: "environment", Text: "LOCALDOMAIN=" + ld}
	case ro != "":
		why, p = "RES_OPTIONS is set", &Pos{File: "environment", Text: "RES_OPTIONS=" + ro}
	case ha != "":
		why, p = "HOSTALIASES is set", &Pos{File: "environment", Text: "HOSTALIASES=" + ha}
	}
	if b.Version.AtLeast(1, 21, 0) {
		if c.cgoAvail && why != "" {
			c.preferCgo, c.forceWhy, c.forcePos = true, why, p
		}
	} else {
		switch {
		case why != "":
			c.forceCgo, c.forceWhy, c.forcePos = true, why, p
		case c.netCgo:
			c.forceCgo = true
			if b.NetcgoTag {
				c.forceWhy = "built with the netcgo tag"
			} else {
				c.forceWhy = "GODEBUG netdns=cgo"
				c.forcePos = &Pos{File: "environment", Text: c.dbg.source}
			}
		}
	}
	return c
}

// choiceLines renders the resolver-choice debug lines (go-resolver.md
// §b.11) at the given level.
func (c goConf) choiceLines(level int) []string {
	const pfx = "go package net: "
	var out []string
	if level >= 2 && c.v.AtLeast(1, 19, 0) {
		out = append(out, fmt.Sprintf("%sconfVal.netCgo = %t  netGo = %t", pfx, c.netCgo, c.netGo))
	}
	if level < 1 {
		return out
	}
	switch {
	case c.v.AtLeast(1, 24, 0):
		if c.dbg.invalid {
			out = append(out, pfx+"GODEBUG=netdns contains an invalid dns mode, ignoring it")
		}
		switch {
		case c.netGoBuild || !c.cgoAvail:
			if c.dbg.mode == "cgo" {
				out = append(out, pfx+"ignoring GODEBUG=netdns=cgo as the binary was compiled without support for the cgo resolver")
			} else {
				out = append(out, pfx+"using the Go DNS resolver")
			}
		case c.netCgo && c.dbg.mode != "go" && c.dbg.mode != "cgo":
			out = append(out, pfx+"using the cgo DNS resolver")
		case c.dbg.mode == "go":
			out = append(out, pfx+"GODEBUG setting forcing use of the Go resolver")
		case c.dbg.mode == "cgo":
			out = append(out, pfx+"GODEBUG setting forcing use of the cgo resolver")
		default:
			out = append(out, pfx+"dynamic selection of DNS resolver")
		}
	case c.v.AtLeast(1, 21, 0):
		switch {
		case c.netGo:
			if c.netGoBuild {
				out = append(out, pfx+"built with netgo build tag; using Go's DNS resolver")
			} else {
				out = append(out, pfx+"GODEBUG setting forcing use of Go's resolver")
			}
		case !c.cgoAvail:
			out = append(out, pfx+"cgo resolver not supported; using Go's DNS resolver")
		case c.netCgo || c.preferCgo:
			out = append(out, pfx+"using cgo DNS resolver")
		default:
			out = append(out, pfx+"dynamic selection of DNS resolver")
		}
	default:
		switch {
		case c.netGo:
			if c.netGoBuild {
				out = append(out, pfx+"built with netgo build tag; using Go's DNS resolver")
			} else {
				out = append(out, pfx+"GODEBUG setting forcing use of Go's resolver")
			}
		case c.forceCgo:
			out = append(out, pfx+"using cgo DNS resolver")
		default:
			out = append(out, pfx+"dynamic selection of DNS resolver")
		}
	}
	return out
}

// orderDecision is the outcome of hostLookupOrder with its trail.
type orderDecision struct {
	order Order
	// shown is the name as the debug line prints it.
	shown string
	steps []Step
}

func (d *orderDecision) step(key, value, reason string, p *Pos) {
	d.steps = append(d.steps, Step{Key: key, Value: value, Reason: reason, Source: p})
}

func confPos(p conf.Pos) *Pos {
	if p.IsZero() {
		return nil
	}
	return &Pos{File: p.File, Line: p.Line, Text: p.Text}
}

func filePos(f File) *Pos { return &Pos{File: f.Name()} }

// isLocalhostName: localhost, localhost.localdomain and their subdomains.
func isLocalhostName(h string) bool {
	h = strings.ToLower(h)
	return h == "localhost" || h == "localhost.localdomain" ||
		strings.HasSuffix(h, ".localhost") || strings.HasSuffix(h, ".localhost.localdomain")
}

func isGatewayName(h string, v Version) bool {
	if v.AtLeast(1, 20, 0) {
		return h == "_gateway" || h == "_outbound"
	}
	return h == "gateway"
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// nssState summarises nsswitch.conf for the order decision.
type nssState struct {
	missing bool // ENOENT
	err     string
	errPos  *Pos
	ns      *conf.NSSwitch
}

func readNSS(f File) nssState {
	switch {
	case f.Missing:
		return nssState{missing: true}
	case f.ReadErr != "":
		return nssState{err: f.ReadErr, errPos: filePos(f)}
	}
	ns := conf.ParseNSSwitch(conf.Go, f.Name(), f.Data)
	if ns.Err != "" {
		return nssState{err: ns.Err, errPos: confPos(ns.ErrPos), ns: ns}
	}
	return nssState{ns: ns}
}

func hostsLinePos(ns *conf.NSSwitch) *Pos {
	if ns == nil || len(ns.HostsLines) == 0 {
		return nil
	}
	return confPos(ns.HostsLines[0])
}

// goOrderEra1 is hostLookupOrder for Go 1.10–1.20 (go-resolver.md §b.3):
// the fallback the build gives (goEra1Fallback); the reasons to take it
// before the name is canonicalised (goEra1Early); then, for the name
// without its final dot, .local, the era's default when nsswitch.conf has
// no hosts line, an unusable file, and the hosts line source by source
// (goEra1Sources). Every reason to take the fallback says so the same way.
func goOrderEra1(c goConf, env Env, rc *conf.ResolvConf, name string) orderDecision {
	d := orderDecision{shown: name}
	fb := goEra1Fallback(c)
	fallback := func(r fallbackReason) orderDecision {
		return d.decide(fb.order, r.why+": Go defers to its fallback ("+fb.why+")", r.pos)
	}
	if r := goEra1Early(c, env, rc, name); r != nil {
		return fallback(*r)
	}
	name = strings.TrimSuffix(name, ".")
	d.shown = name
	if hasSuffixFold(name, ".local") {
		return fallback(fallbackReason{"the name ends in .local (mDNS)", nil})
	}
	nss := readNSS(env.NSSwitch)
	switch {
	case nss.missing || (nss.err == "" && len(nss.ns.Hosts) == 0):
		o, why := goEra1Default(c.v, nss.missing)
		return d.decide(o, why, filePos(env.NSSwitch))
	case nss.err != "":
		return fallback(fallbackReason{"/etc/nsswitch.conf is unusable (" + nss.err + ")", nss.errPos})
	}
	sum, r := goEra1Sources(c, env, nss.ns.Hosts, name)
	if r != nil {
		return fallback(*r)
	}
	hp := hostsLinePos(nss.ns)
	if o, ok := sum.order(); ok {
		return d.decide(o, era1OrderWhy(o), hp)
	}
	return fallback(fallbackReason{"the hosts line lists neither files nor dns", hp})
}

// fallbackReason is why Go 1.10–1.20 take the fallback order.
type fallbackReason struct {
	why string
	pos *Pos
}

// goFallback is an order to defer to, and why it is that one.
type goFallback struct {
	order Order
	why   string
}

// goEra1Fallback is the order Go 1.10–1.20 defer to: cgo, unless Go's
// resolver is forced (netgo, GODEBUG) or, from Go 1.11, PreferGo is set.
func goEra1Fallback(c goConf) goFallback {
	type fb = goFallback
	switch {
	case c.netGo:
		return fb{OrderFilesDNS, "Go's resolver is forced (netgo build or GODEBUG), so the fallback is files,dns"}
	case c.preferGo && c.v.AtLeast(1, 11, 0):
		return fb{OrderFilesDNS, "Resolver.PreferGo is set, so the fallback is files,dns"}
	}
	return fb{OrderCgo, "the cgo resolver is compiled in and may be used"}
}

// goEra1Early are the reasons to take the fallback whatever nsswitch.conf
// says: a cgo-forcing setting, an unreadable resolv.conf (other than
// EACCES), an unknown resolv.conf keyword or option, a name with '\' or
// '%'.
func goEra1Early(c goConf, env Env, rc *conf.ResolvConf, name string) *fallbackReason {
	switch {
	case c.forceCgo:
		return &fallbackReason{c.forceWhy, c.forcePos}
	case env.ResolvConf.ReadErr != "" && !env.ResolvConf.PermissionDenied:
		return &fallbackReason{"resolv.conf cannot be read (" + env.ResolvConf.ReadErr + ")", filePos(env.ResolvConf)}
	case len(rc.Unknown) > 0:
		return &fallbackReason{rc.Unknown[0].What + " in resolv.conf sets unknownOpt", confPos(rc.Unknown[0].Pos)}
	case strings.ContainsAny(name, `\%`):
		return &fallbackReason{`the name contains '\' or '%'`, nil}
	}
	return nil
}

// goEra1Default is the order without a hosts line (golang/go#35305): on
// Linux dns,files before Go 1.16, files,dns from it.
func goEra1Default(v Version, missing bool) (Order, string) {
	why := "/etc/nsswitch.conf is missing"
	if !missing {
		why = "/etc/nsswitch.conf has no hosts: sources"
	}
	if v.AtLeast(1, 16, 0) {
		return OrderFilesDNS, why + ": Go 1.16+ uses files,dns (golang/go#35305)"
	}
	return OrderDNSFiles, why + ": Go 1.10–1.15 use dns,files on Linux, after glibc's old default \"dns [!UNAVAIL=return] files\" (changed in Go 1.16, golang/go#35305)"
}

// goEra1Sources reads the hosts line for Go 1.10–1.20: files and dns count
// when their criteria are standard; myhostname is passed over unless it
// answers the name (localhost, the gateway names, this host's name); an
// mdns source is passed over unless /etc/mdns.allow exists; any other
// source takes the fallback.
func goEra1Sources(c goConf, env Env, srcs []conf.Source, name string) (sourceSummary, *fallbackReason) {
	var sum sourceSummary
	mdns := false
	for _, src := range srcs {
		sp := confPos(src.Pos)
		known := src.Name == "files" || src.Name == "dns"
		myhostname := src.Name == "myhostname"
		switch {
		case myhostname && (isLocalhostName(name) || isGatewayName(name, c.v)):
			return sum, &fallbackReason{"nsswitch lists myhostname and the name is one it answers", sp}
		case myhostname && (env.HostnameErr || strings.EqualFold(name, env.Hostname)):
			return sum, &fallbackReason{"nsswitch lists myhostname and the name is this host's name", sp}
		case myhostname:
		case known && !src.StandardCriteria():
			return sum, &fallbackReason{fmt.Sprintf("source %q has non-standard criteria", src.String()), sp}
		case known:
			sum.add(src.Name)
		case strings.HasPrefix(src.Name, "mdns"):
			mdns = true
		default:
			return sum, &fallbackReason{fmt.Sprintf("unknown source %q in the hosts line", src.Name), sp}
		}
	}
	if mdns && !env.MDNSAllow.Missing && env.MDNSAllow.ReadErr == "" && env.MDNSAllow.Path != "" {
		return sum, &fallbackReason{"an mdns source is listed and /etc/mdns.allow exists", filePos(env.MDNSAllow)}
	}
	return sum, nil
}

// era1OrderWhy says why the hosts line gives order o (Go 1.10–1.20).
func era1OrderWhy(o Order) string {
	switch o {
	case OrderFilesDNS:
		return "the hosts line lists files before dns"
	case OrderDNSFiles:
		return "the hosts line lists dns before files"
	case OrderFiles:
		return "the hosts line lists files only"
	}
	return "the hosts line lists dns only"
}

// goOrderEra2 is lookupOrder for Go 1.21–1.27 (go-resolver.md §b.5): which
// resolvers may run, the early reasons to leave the lookup to cgo, then
// the hosts line of nsswitch.conf, source by source.
func goOrderEra2(c goConf, env Env, rc *conf.ResolvConf, name string) orderDecision {
	d := orderDecision{shown: name}
	sel, done := goEra2Selection(c, name, &d)
	if done {
		return d
	}
	if o, why, p, ok := goEra2Early(sel, c, env, rc, name); ok {
		return d.decide(o, why, p)
	}
	nss := readNSS(env.NSSwitch)
	switch {
	case nss.missing:
		return d.decide(OrderFilesDNS, "/etc/nsswitch.conf is missing: files,dns", filePos(env.NSSwitch))
	case nss.err != "":
		return d.decide(sel.fallback, "/etc/nsswitch.conf is unusable ("+nss.err+"): fallback "+sel.why(), nss.errPos)
	case len(nss.ns.Hosts) == 0:
		return d.decide(OrderFilesDNS, "/etc/nsswitch.conf has no hosts: sources: files,dns", filePos(env.NSSwitch))
	}
	sum, cgo := goEra2Sources(sel, c, env, nss.ns.Hosts, strings.TrimSuffix(name, "."), &d)
	if cgo != nil {
		return d.decide(OrderCgo, cgo.why, cgo.pos)
	}
	hp := hostsLinePos(nss.ns)
	if o, ok := sum.order(); ok {
		return d.decide(o, era2OrderWhy(o), hp)
	}
	return d.decide(sel.fallback, "the hosts line lists neither files nor dns: fallback "+sel.why(), hp)
}

// era2OrderWhy says why the hosts line gives order o (Go 1.21+).
func era2OrderWhy(o Order) string {
	switch o {
	case OrderFilesDNS:
		return "the hosts line puts files before dns"
	case OrderDNSFiles:
		return "the hosts line puts dns before files"
	case OrderFiles:
		return "the hosts line lists files only"
	}
	return "the hosts line lists dns only"
}

// decide ends the decision with order o.
func (d *orderDecision) decide(o Order, why string, p *Pos) orderDecision {
	d.order = o
	d.step("order", string(o), why, p)
	return *d
}

// goSelection is which resolvers a Go 1.21+ lookup may use: canUseCgo when
// the cgo resolver is available and nothing forces Go's; fallback is the
// order when nsswitch.conf decides nothing.
type goSelection struct {
	fallback  Order
	canUseCgo bool
}

func (s goSelection) why() string {
	if s.canUseCgo {
		return "cgo"
	}
	return "files,dns, as Go's resolver must be used"
}

// goEra2Selection applies the build and the environment: Go's resolver is
// forced without cgo, by netgo, netdns=go or PreferGo; cgo is chosen
// outright by netcgo, netdns=cgo, a cgo-forcing setting, or a name with
// '\' or '%'. done reports that the order is already decided.
func goEra2Selection(c goConf, name string, d *orderDecision) (goSelection, bool) {
	goOnly := goSelection{fallback: OrderFilesDNS}
	switch {
	case !c.cgoAvail:
		d.step("resolver", "go", "the cgo resolver is not compiled in: Go's resolver must be used", nil)
		return goOnly, false
	case c.netGo && c.netGoBuild:
		d.step("resolver", "go", "built with the netgo tag: Go's resolver must be used", nil)
		return goOnly, false
	case c.netGo:
		d.step("resolver", "go", "GODEBUG netdns=go forces Go's resolver", &Pos{File: "environment", Text: c.dbg.source})
		return goOnly, false
	case c.preferGo:
		d.step("resolver", "go", "Resolver.PreferGo is set: Go's resolver must be used", nil)
		return goOnly, false
	case c.netCgo && c.dbg.mode == "cgo":
		d.decide(OrderCgo, "GODEBUG netdns=cgo asks for the cgo resolver", &Pos{File: "environment", Text: c.dbg.source})
		return goSelection{}, true
	case c.netCgo:
		d.decide(OrderCgo, "built with the netcgo tag", nil)
		return goSelection{}, true
	case c.preferCgo:
		d.decide(OrderCgo, c.forceWhy+": the cgo resolver is preferred", c.forcePos)
		return goSelection{}, true
	case strings.ContainsAny(name, `\%`):
		d.decide(OrderCgo, `the name contains '\' or '%': left to the cgo resolver`, nil)
		return goSelection{}, true
	}
	return goSelection{fallback: OrderCgo, canUseCgo: true}, false
}

// goEra2Early are the reasons a cgo-capable lookup is left to cgo before
// nsswitch.conf is read: an unreadable resolv.conf (other than EACCES), an
// unknown resolv.conf keyword or option, and, in Go 1.21–1.22, a name
// ending in .local.
func goEra2Early(sel goSelection, c goConf, env Env, rc *conf.ResolvConf, name string) (Order, string, *Pos, bool) {
	if !sel.canUseCgo {
		return "", "", nil, false
	}
	switch {
	case env.ResolvConf.ReadErr != "" && !env.ResolvConf.PermissionDenied:
		return OrderCgo, "resolv.conf cannot be read (" + env.ResolvConf.ReadErr + "): left to the cgo resolver", filePos(env.ResolvConf), true
	case len(rc.Unknown) > 0:
		return OrderCgo, rc.Unknown[0].What + " in resolv.conf: left to the cgo resolver", confPos(rc.Unknown[0].Pos), true
	case !c.v.AtLeast(1, 23, 0) && hasSuffixFold(strings.TrimSuffix(name, "."), ".local"):
		return OrderCgo, "the name ends in .local and the cgo resolver is available (Go 1.21–1.22)", nil, true
	}
	return "", "", nil, false
}

// sourceSummary is what the hosts line says once every source is read:
// whether files and dns count, and which came first.
type sourceSummary struct {
	files, dns bool
	first      string
}

func (s *sourceSummary) add(name string) {
	if name == "files" {
		s.files = true
	} else {
		s.dns = true
	}
	if s.first == "" {
		s.first = name
	}
}

// order is the order the summary gives, if files or dns count.
func (s sourceSummary) order() (Order, bool) {
	switch {
	case s.files && s.dns && s.first == "files":
		return OrderFilesDNS, true
	case s.files && s.dns:
		return OrderDNSFiles, true
	case s.files:
		return OrderFiles, true
	case s.dns:
		return OrderDNS, true
	}
	return "", false
}

// cgoReason is why a source leaves the lookup to cgo.
type cgoReason struct {
	why string
	pos *Pos
}

// goEra2Sources reads the hosts line. With cgo available, a source Go
// cannot honour leaves the lookup to cgo (non-standard criteria on files
// or dns; myhostname for a name it answers; mdns for .local names or when
// /etc/mdns.allow exists; any other service). Without it, Go's resolver
// reads what it can: an unknown source counts as dns when the line lists
// no dns source at all, and is skipped otherwise.
func goEra2Sources(sel goSelection, c goConf, env Env, srcs []conf.Source, name string, d *orderDecision) (sourceSummary, *cgoReason) {
	var sum sourceSummary
	listsDNS := slices.ContainsFunc(srcs, func(s conf.Source) bool { return s.Name == "dns" })
	for _, src := range srcs {
		sp := confPos(src.Pos)
		known := src.Name == "files" || src.Name == "dns"
		switch {
		case known && sel.canUseCgo && !src.StandardCriteria():
			return sum, &cgoReason{fmt.Sprintf("source %q has non-standard criteria: left to the cgo resolver", src.String()), sp}
		case known:
			sum.add(src.Name)
		case sel.canUseCgo:
			if r := goEra2CgoSource(c, env, src, name, sp); r != nil {
				return sum, r
			}
		case !listsDNS:
			sum.add("dns")
			d.step("source", src.Name, fmt.Sprintf("Go's resolver cannot use source %q and no dns source follows: it counts as dns (Go 1.21+)", src.Name), sp)
		default:
			d.step("source", src.Name, fmt.Sprintf("Go's resolver skips source %q (a dns source is listed)", src.Name), sp)
		}
	}
	return sum, nil
}

// goEra2CgoSource decides a source other than files and dns when cgo is
// available: nil when Go's resolver may still answer (myhostname or mdns
// for a name they do not answer).
func goEra2CgoSource(c goConf, env Env, src conf.Source, name string, sp *Pos) *cgoReason {
	if name == "" {
		// The root name: no source but files and dns is honoured.
		return &cgoReason{fmt.Sprintf("unknown source %q in the hosts line: left to the cgo resolver", src.Name), sp}
	}
	switch {
	case src.Name == "myhostname" && (isLocalhostName(name) || isGatewayName(name, c.v)):
		return &cgoReason{"nsswitch lists myhostname and the name is one it answers: left to the cgo resolver", sp}
	case src.Name == "myhostname" && (env.HostnameErr || strings.EqualFold(name, env.Hostname)):
		return &cgoReason{"nsswitch lists myhostname and the name is this host's name: left to the cgo resolver", sp}
	case src.Name == "myhostname":
		return nil
	case strings.HasPrefix(src.Name, "mdns") && c.v.AtLeast(1, 23, 0) && hasSuffixFold(name, ".local"):
		return &cgoReason{"an mdns source is listed and the name ends in .local: left to the cgo resolver", sp}
	case strings.HasPrefix(src.Name, "mdns") && (env.MDNSAllow.ReadErr != "" || (!env.MDNSAllow.Missing && env.MDNSAllow.Path != "")):
		return &cgoReason{"an mdns source is listed and /etc/mdns.allow exists: left to the cgo resolver", filePos(env.MDNSAllow)}
	case strings.HasPrefix(src.Name, "mdns"):
		return nil
	}
	return &cgoReason{fmt.Sprintf("unknown source %q in the hosts line: left to the cgo resolver", src.Name), sp}
}
