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

// goDNSConf is Go's resolver configuration (dnsConfig) after defaults.
type goDNSConf struct {
	servers   []string // "ip:53" / "[ip]:53"
	search    []string // rooted
	ndots     int
	timeout   time.Duration
	attempts  int
	rotate    bool
	single    bool
	useTCP    bool
	edns      bool
	defaultNS bool
}

func hostPort(a netip.Addr) string {
	return netip.AddrPortFrom(a, 53).String()
}

// goDNSConfig applies Go's defaults to a parsed resolv.conf (§b.8).
func goDNSConfig(env Env, rc *conf.ResolvConf, b GoBuild, dbg goDebug, add func(Step)) goDNSConf {
	v := b.Version
	c := goDNSConf{
		ndots:    rc.Ndots.Value,
		timeout:  time.Duration(rc.Timeout.Value) * time.Second,
		attempts: rc.Attempts.Value,
		rotate:   rc.Rotate.On,
		single:   rc.SingleRequest.On,
		useTCP:   rc.UseVC.On,
	}
	for _, ns := range rc.Nameservers {
		c.servers = append(c.servers, hostPort(ns.Addr))
	}
	switch {
	case env.ResolvConf.Missing:
		c.servers, c.defaultNS = []string{"127.0.0.1:53", "[::1]:53"}, true
		add(Step{Key: "servers", Value: strings.Join(c.servers, " "), Reason: "resolv.conf is missing: Go uses its default nameservers", Source: filePos(env.ResolvConf)})
	case len(c.servers) == 0:
		c.servers, c.defaultNS = []string{"127.0.0.1:53", "[::1]:53"}, true
		add(Step{Key: "servers", Value: strings.Join(c.servers, " "), Reason: "no usable nameserver line: Go uses its default nameservers", Source: filePos(env.ResolvConf)})
	default:
		src := confPos(rc.Nameservers[0].Pos)
		why := fmt.Sprintf("%d nameserver line(s), tried in order for every attempt", len(c.servers)) + ignoredNameservers(rc.Ignored)
		add(Step{Key: "servers", Value: strings.Join(c.servers, " "), Reason: why, Source: src})
	}
	if len(rc.Search) > 0 {
		c.search = rc.Search
		add(Step{Key: "search", Value: strings.Join(c.search, " "), Reason: "search list from resolv.conf", Source: confPos(rc.SearchPos)})
	} else if i := strings.IndexByte(env.Hostname, '.'); i >= 0 && i < len(env.Hostname)-1 {
		c.search = []string{conf.EnsureRooted(env.Hostname[i+1:])}
		add(Step{Key: "search", Value: c.search[0], Reason: "no search list: Go takes the domain of the host name " + strconv.Quote(env.Hostname), Source: confPos(rc.SearchPos)})
	}
	add(Step{Key: "ndots", Value: strconv.Itoa(c.ndots), Reason: optWhy(rc.Ndots.Pos, "default 1"), Source: confPos(rc.Ndots.Pos)})
	add(Step{Key: "timeout", Value: c.timeout.String(), Reason: optWhy(rc.Timeout.Pos, "default 5 s") + "; per server, per attempt", Source: confPos(rc.Timeout.Pos)})
	add(Step{Key: "attempts", Value: strconv.Itoa(c.attempts), Reason: optWhy(rc.Attempts.Pos, "default 2"), Source: confPos(rc.Attempts.Pos)})
	if c.rotate {
		add(Step{Key: "rotate", Value: "on", Reason: "each query starts at the next server", Source: confPos(rc.Rotate.Pos)})
	}
	if c.single {
		add(Step{Key: "single-request", Value: "on", Reason: "A and AAAA are asked one after the other (Go 1.13+)", Source: confPos(rc.SingleRequest.Pos)})
	}
	if c.useTCP {
		add(Step{Key: "use-vc", Value: "on", Reason: "queries go over TCP only (Go 1.13+)", Source: confPos(rc.UseVC.Pos)})
	}
	// EDNS(0): Go 1.19+, unless netedns0=0 (set explicitly, or baked into
	// DefaultGODEBUG for a main module whose go line is older than 1.19).
	if v.AtLeast(1, 19, 0) {
		c.edns = true
		switch {
		case dbg.edns0 == "0":
			c.edns = false
			add(Step{Key: "edns0", Value: "off", Reason: "GODEBUG netedns0=0"})
		case dbg.edns0 == "" && !b.GoModVersion.IsZero() && b.GoModVersion.Less(V(1, 19, 0)) && v.AtLeast(1, 21, 12):
			c.edns = false
			add(Step{Key: "edns0", Value: "off", Reason: "the main module's go line is older than 1.19, so netedns0=0 is the default"})
		}
	}
	return c
}

// maxCited is how many ignored lines a reason cites one by one; the rest
// are counted (a file with thousands of them stays one short line).
const maxCited = 3

// ignoredNameservers cites the nameserver lines Go ignored: the first
// maxCited by position, then how many more.
func ignoredNameservers(ignored []conf.Note) string {
	var b strings.Builder
	n := 0
	for _, note := range ignored {
		if !strings.Contains(note.What, "nameserver") {
			continue
		}
		n++
		if n <= maxCited {
			b.WriteString("; " + note.Pos.String() + ": " + note.What)
		}
	}
	if n > maxCited {
		fmt.Fprintf(&b, "; and %d more nameserver lines ignored", n-maxCited)
	}
	return b.String()
}

func optWhy(p conf.Pos, def string) string {
	if p.IsZero() {
		return def
	}
	return "set in resolv.conf"
}

// goIsDomainName is Go's check of a name before DNS (go-resolver.md §b.6),
// as rules:
//
//   - "." is a name from Go 1.18 (before, it is refused);
//   - at most 253 bytes, or 254 with the final dot of a rooted name;
//   - labels (between dots; a rooted name's final dot ends the last one)
//     of 1 to 63 bytes: letters, digits, '_' and '-', neither first nor
//     last a '-';
//   - from Go 1.12, not all digits: some label has a letter, '_' or '-'.
func goIsDomainName(s string, v Version) bool {
	if s == "." {
		return v.AtLeast(1, 18, 0)
	}
	if len(s) == 0 || len(s) > 254 || (len(s) == 254 && !strings.HasSuffix(s, ".")) {
		return false
	}
	numericOnly := true
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		ok, numeric := goLabel(label)
		if !ok {
			return false
		}
		numericOnly = numericOnly && numeric
	}
	return !numericOnly || !v.AtLeast(1, 12, 0)
}

// goLabel checks one label: 1–63 bytes of letters, digits, '_' and '-',
// not starting or ending with '-'. numeric reports a label of digits only.
func goLabel(l string) (ok, numeric bool) {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false, false
	}
	numeric = true
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case '0' <= c && c <= '9':
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_', c == '-':
			numeric = false
		default:
			return false, false
		}
	}
	return true, numeric
}

func isOnion(s string) bool {
	return hasSuffixFold(strings.TrimSuffix(s, "."), ".onion")
}

// Go's DNS candidate names (go-resolver.md §b.9 "Candidate list"), as
// named rules:
//
//   - goNameFits: a name Go will send is at most 254 bytes with the final
//     dot, so an unrooted name of 254 bytes does not fit either;
//   - goOnionRefused: a rooted .onion name is never asked, and before
//     Go 1.22 neither is an unrooted one;
//   - a rooted name is its own only candidate (no search list);
//   - otherwise the bare name (with its final dot) comes first when it has
//     at least ndots dots and last when it has fewer, around the search
//     list in file order; a search candidate is kept when it fits in 254
//     bytes and, from Go 1.22, is not a .onion name (the bare name is
//     held to the same .onion rule).
func goNameList(name string, c goDNSConf, v Version) []string {
	rooted := strings.HasSuffix(name, ".")
	if !goNameFits(name) || goOnionRefused(name, rooted, v) {
		return nil
	}
	if rooted {
		return []string{name}
	}
	bare := name + "."
	var searched []string
	for _, s := range c.search {
		if cand := bare + s; len(cand) <= goMaxName && !goOnionSkipped(cand, v) {
			searched = append(searched, cand)
		}
	}
	var head, tail []string
	if !isOnion(bare) { // reached only from Go 1.22: goOnionRefused took the rest
		if strings.Count(name, ".") >= c.ndots {
			head = []string{bare}
		} else {
			tail = []string{bare}
		}
	}
	return slices.Concat(head, searched, tail)
}

// goMaxName is the longest name Go's DNS client asks for, counting the
// final dot (§b.9).
const goMaxName = 254

// goNameFits: at most goMaxName bytes, and an unrooted name one byte
// shorter, since Go adds the final dot (§b.9).
func goNameFits(name string) bool {
	return len(name) < goMaxName || len(name) == goMaxName && strings.HasSuffix(name, ".")
}

// goOnionRefused: a rooted .onion name yields no candidate in any version;
// before Go 1.22 an unrooted one yields none either (§b.9).
func goOnionRefused(name string, rooted bool, v Version) bool {
	return isOnion(name) && (rooted || !v.AtLeast(1, 22, 0))
}

// goOnionSkipped: from Go 1.22 a .onion candidate is left out of the list
// while the others are kept (§b.9).
func goOnionSkipped(cand string, v Version) bool {
	return v.AtLeast(1, 22, 0) && isOnion(cand)
}

// dnsErr is Go's *DNSError, enough to print it.
type dnsErr struct {
	text      string
	server    string
	notFound  bool
	temporary bool
	timeout   bool
}

type goSim struct {
	cfg   goDNSConf
	sc    Scenario
	clk   clock
	ex    []Exchange
	rotor int
}

// validDNSName reports whether the name can be packed into a query
// (no empty label); Go fails such a candidate without sending anything.
func validDNSName(n string) bool {
	if n == "." {
		return true
	}
	if n == "" || len(n) > 254 {
		return false
	}
	for _, l := range strings.Split(strings.TrimSuffix(n, "."), ".") {
		if l == "" || len(l) > 63 {
			return false
		}
	}
	return true
}

func (s *goSim) exchange(t time.Duration, srv int, name, qtype string, attempt int) (time.Duration, reply, bool) {
	if s.clk.expired(t) {
		return t, reply{outcome: OutCancelled}, false
	}
	tr := "udp"
	if s.cfg.useTCP {
		tr = "tcp"
	}
	b := s.sc.For(srv)
	end, cut := s.clk.clip(t, s.cfg.timeout)
	r := serverReply(b, qtype, tr, end-t, true)
	if r.outcome == OutTimeout && cut {
		r.outcome = OutCancelled
	}
	s.ex = append(s.ex, Exchange{Start: Seconds(t), End: Seconds(t + r.after), Server: s.cfg.servers[srv], Name: name, Type: qtype, Transport: tr, Attempt: attempt, Outcome: r.outcome, EDNS: s.cfg.edns})
	if r.outcome != OutTruncated {
		return t + r.after, r, true
	}
	t2 := t + r.after
	if s.clk.expired(t2) {
		return t2, reply{outcome: OutCancelled}, true
	}
	end, cut = s.clk.clip(t2, s.cfg.timeout)
	r2 := serverReply(b, qtype, "tcp", end-t2, true)
	if r2.outcome == OutTimeout && cut {
		r2.outcome = OutCancelled
	}
	s.ex = append(s.ex, Exchange{Start: Seconds(t2), End: Seconds(t2 + r2.after), Server: s.cfg.servers[srv], Name: name, Type: qtype, Transport: "tcp", Attempt: attempt, Outcome: r2.outcome, EDNS: s.cfg.edns})
	return t2 + r2.after, r2, true
}

// tryOneName asks every server, attempts times, for one name and type.
func (s *goSim) tryOneName(t time.Duration, name, qtype string) (time.Duration, []netip.Addr, *dnsErr) {
	n := len(s.cfg.servers)
	off := 0
	if s.cfg.rotate {
		off = s.rotor % n
		s.rotor++
	}
	if !validDNSName(name) {
		return t, nil, &dnsErr{text: "cannot marshal DNS message", notFound: false}
	}
	var last *dnsErr
	for a := 1; a <= s.cfg.attempts; a++ {
		for j := 0; j < n; j++ {
			i := (off + j) % n
			srv := s.cfg.servers[i]
			end, r, sent := s.exchange(t, i, name, qtype, a)
			t = end
			tr := "udp"
			if s.cfg.useTCP {
				tr = "tcp"
			}
			if !sent {
				last = &dnsErr{text: "i/o timeout", server: srv, timeout: true, temporary: true}
				continue
			}
			switch r.outcome {
			case OutTimeout, OutCancelled:
				last = &dnsErr{text: "read " + tr + " <local>->" + srv + ": i/o timeout", server: srv, timeout: true, temporary: true}
			case OutRefused:
				last = &dnsErr{text: "read " + tr + " <local>->" + srv + ": read: connection refused", server: srv, temporary: true}
			case OutServFail:
				last = &dnsErr{text: "server misbehaving", server: srv, temporary: true}
			case OutRcodeRef:
				last = &dnsErr{text: "server misbehaving", server: srv}
			case OutNXDomain, OutNoData:
				return t, nil, &dnsErr{text: "no such host", server: srv, notFound: true}
			case OutAnswer:
				return t, r.addrs, nil
			}
		}
	}
	return t, nil, last
}

// goDNSResult is the DNS phase of a Go lookup.
type goDNSResult struct {
	addrs []netip.Addr
	err   *dnsErr
	end   time.Duration
	// stopped says which candidate ended the loop (-1: all tried).
	stopped int
	strict  bool
}

// run asks DNS for every candidate in turn (§b.6).
func (s *goSim) run(name string, cands []string, qtypes []string, strict bool) goDNSResult {
	res := goDNSResult{stopped: -1}
	t := time.Duration(0)
	for ci, fqdn := range cands {
		type one struct {
			addrs []netip.Addr
			err   *dnsErr
			end   time.Duration
		}
		var got []one
		if s.cfg.single {
			tt := t
			for _, q := range qtypes {
				e, a, err := s.tryOneName(tt, fqdn, q)
				got = append(got, one{a, err, e})
				tt = e
			}
		} else {
			for _, q := range qtypes {
				e, a, err := s.tryOneName(t, fqdn, q)
				got = append(got, one{a, err, e})
			}
		}
		end := t
		hitStrict := false
		for _, g := range got {
			end = max(end, g.end)
			if g.err != nil {
				if strict && g.err.temporary {
					hitStrict = true
					res.err = g.err
				} else if res.err == nil || fqdn == name+"." {
					res.err = g.err
				}
				continue
			}
			res.addrs = append(res.addrs, g.addrs...)
		}
		t = end
		if hitStrict {
			res.addrs, res.strict, res.stopped = nil, true, ci
			break
		}
		if len(res.addrs) > 0 {
			res.stopped = ci
			break
		}
	}
	res.end = t
	return res
}

// goQtypes is the query types Go asks for a network (§b.6: one type for
// single-family networks from Go 1.17).
func goQtypes(network string, v Version) []string {
	if v.AtLeast(1, 17, 0) {
		switch network {
		case "ip4", "tcp4", "udp4":
			return []string{"A"}
		case "ip6", "tcp6", "udp6":
			return []string{"AAAA"}
		}
	}
	return []string{"A", "AAAA"}
}

// familyFilter keeps the addresses a network can use.
func familyFilter(network string, addrs []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		switch {
		case strings.HasSuffix(network, "4") && !a.Unmap().Is4():
		case strings.HasSuffix(network, "6") && a.Unmap().Is4():
		default:
			out = append(out, a)
		}
	}
	return out
}
