package conf

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"

	"github.com/nsscope/nsscope/version"
)

// Note is a line (or part of one) that the implementation treated
// specially: ignored, skipped, or counted as unknown.
type Note struct {
	Pos  Pos    `json:"pos"`
	What string `json:"what"`
}

// Nameserver is one usable nameserver line.
type Nameserver struct {
	Addr netip.Addr `json:"addr"`
	Pos  Pos        `json:"pos"`
}

// IntOption is a numeric option with where it was set (Pos zero: default).
type IntOption struct {
	Value int `json:"value"`
	Pos   Pos `json:"pos,omitzero"`
}

// Flag is a boolean option with where it was set.
type Flag struct {
	On  bool `json:"on"`
	Pos Pos  `json:"pos,omitzero"`
}

// ResolvConf is /etc/resolv.conf as one implementation reads it. Values the
// file does not set hold the implementation's defaults (with a zero Pos).
// Default nameservers and the hostname-derived search domain are not
// filled in here: they depend on more than the file (see the model).
type ResolvConf struct {
	Dialect Dialect `json:"dialect"`
	File    string  `json:"file"`
	// Nameservers in use (at most 3), in file order.
	Nameservers []Nameserver `json:"nameservers"`
	// Search is the search list as stored by the implementation (Go: each
	// domain rooted with a trailing dot). SearchPos is the line that set
	// it; SearchSet reports that a search or domain line was seen at all.
	Search    []string `json:"search"`
	SearchPos Pos      `json:"search_pos,omitzero"`
	SearchSet bool     `json:"search_set"`

	Ndots    IntOption `json:"ndots"`
	Timeout  IntOption `json:"timeout"`
	Attempts IntOption `json:"attempts"`

	Rotate              Flag `json:"rotate"`
	SingleRequest       Flag `json:"single_request"`
	SingleRequestReopen Flag `json:"single_request_reopen"`
	UseVC               Flag `json:"use_vc"`
	TrustAD             Flag `json:"trust_ad"`
	EDNS0               Flag `json:"edns0"`
	NoReload            Flag `json:"no_reload"`
	NoTLDQuery          Flag `json:"no_tld_query"`

	// Unknown lists what makes Go's unknownOpt true (an unknown keyword or
	// option); empty for other dialects.
	Unknown []Note `json:"unknown,omitempty"`
	// Ignored lists lines and values the implementation silently ignored
	// (a fourth nameserver, a nameserver that is not an IP literal, an
	// option it does not know).
	Ignored []Note `json:"ignored,omitempty"`
	// Skipped lists lines the implementation never saw whole (musl's
	// 256-byte line buffer).
	Skipped []Note `json:"skipped,omitempty"`
}

// ResolvOptions selects the release whose rules apply.
type ResolvOptions struct {
	// Version of Go, glibc or musl. Zero means the newest behaviour.
	Version version.Version
}

func (o ResolvOptions) atLeast(major, minor, patch int) bool {
	return o.Version.IsZero() || o.Version.AtLeast(major, minor, patch)
}

// MaxNameservers is the cap all three implementations share (MAXNS).
const MaxNameservers = 3

func newResolv(d Dialect, file string) *ResolvConf {
	return &ResolvConf{
		Dialect:  d,
		File:     file,
		Ndots:    IntOption{Value: 1},
		Timeout:  IntOption{Value: 5},
		Attempts: IntOption{Value: 2},
	}
}

// ParseResolvConf reads data as the given implementation would. file names
// the file in citations.
func ParseResolvConf(d Dialect, file string, data []byte, o ResolvOptions) *ResolvConf {
	switch d {
	case Glibc:
		return parseResolvGlibc(file, data, o)
	case Musl:
		return parseResolvMusl(file, data, o)
	default:
		return parseResolvGo(file, data, o)
	}
}

// addNameserver applies the shared rules: the first three IP literals
// count, the rest is ignored (and said so).
func (rc *ResolvConf) addNameserver(field string, p Pos) {
	if len(rc.Nameservers) >= MaxNameservers {
		rc.Ignored = append(rc.Ignored, Note{p, "more than 3 nameservers: ignored"})
		return
	}
	a, err := netip.ParseAddr(field)
	if err != nil {
		rc.Ignored = append(rc.Ignored, Note{p, "nameserver is not an IP address: ignored"})
		return
	}
	rc.Nameservers = append(rc.Nameservers, Nameserver{a, p})
}

// EnsureRooted appends a dot to a name that lacks one.
func EnsureRooted(s string) string {
	if strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// Go's reading of resolv.conf (go-resolver.md §b.8) as tables: a line
// is its white-space separated words, the first of them the keyword; a
// line starting with ';' or '#' is a comment. goResolvKeywords says what
// each keyword does with the words after it; any other keyword is noted in
// Unknown (it makes Go's unknownOpt true).
var goResolvKeywords = map[string]func(rc *ResolvConf, args []string, p Pos, o ResolvOptions){
	"nameserver": func(rc *ResolvConf, args []string, p Pos, _ ResolvOptions) {
		if len(args) > 0 {
			rc.addNameserver(args[0], p)
		}
	},
	// domain: the search list is that one domain.
	"domain": func(rc *ResolvConf, args []string, p Pos, _ ResolvOptions) {
		if len(args) > 0 {
			rc.Search = []string{EnsureRooted(args[0])}
			rc.SearchPos, rc.SearchSet = p, true
		}
	},
	// search: the list is every word, rooted; even an empty line empties
	// it; from Go 1.20 "." is dropped.
	"search": func(rc *ResolvConf, args []string, p Pos, o ResolvOptions) {
		rc.Search = []string{}
		rc.SearchPos, rc.SearchSet = p, true
		for _, s := range args {
			if s == "." && o.atLeast(1, 20, 0) {
				rc.Ignored = append(rc.Ignored, Note{p, `search entry "." dropped (Go 1.20+)`})
				continue
			}
			rc.Search = append(rc.Search, EnsureRooted(s))
		}
	},
	"options": func(rc *ResolvConf, args []string, p Pos, o ResolvOptions) {
		for _, s := range args {
			parseGoOption(rc, s, p, o)
		}
	},
	// lookup: OpenBSD's keyword; accepted (and ignored) everywhere.
	"lookup": func(*ResolvConf, []string, Pos, ResolvOptions) {},
}

// parseResolvGo reads the file with goResolvKeywords.
func parseResolvGo(file string, data []byte, o ResolvOptions) *ResolvConf {
	rc := newResolv(Go, file)
	for _, l := range splitLines(data) {
		if len(l.text) > 0 && (l.text[0] == ';' || l.text[0] == '#') {
			continue
		}
		words := fieldsFunc(l.text, isGoSpace)
		if len(words) == 0 {
			continue
		}
		p := pos(file, l)
		if apply, ok := goResolvKeywords[words[0]]; ok {
			apply(rc, words[1:], p, o)
		} else {
			rc.Unknown = append(rc.Unknown, Note{p, "unknown keyword " + quote(words[0])})
		}
	}
	return rc
}

// goValueOptions are Go's "NAME:N" options (§b.8): N is read as Go's
// decimal prefix (what does not parse counts as 0) and held to a range.
var goValueOptions = map[string]func(rc *ResolvConf, n int, p Pos){
	"ndots":    func(rc *ResolvConf, n int, p Pos) { rc.Ndots = IntOption{min(max(n, 0), 15), p} },
	"timeout":  func(rc *ResolvConf, n int, p Pos) { rc.Timeout = IntOption{max(n, 1), p} },
	"attempts": func(rc *ResolvConf, n int, p Pos) { rc.Attempts = IntOption{max(n, 1), p} },
}

// goFlagOptions are Go's on/off options (§b.8), each with the first Go
// release that knows it (a release before it counts it as unknown).
var goFlagOptions = map[string]struct {
	since [3]int
	set   func(rc *ResolvConf, p Pos)
}{
	"rotate":                {[3]int{}, func(rc *ResolvConf, p Pos) { rc.Rotate = Flag{true, p} }},
	"single-request":        {[3]int{1, 13, 0}, func(rc *ResolvConf, p Pos) { rc.SingleRequest = Flag{true, p} }},
	"single-request-reopen": {[3]int{1, 13, 0}, func(rc *ResolvConf, p Pos) { rc.SingleRequest, rc.SingleRequestReopen = Flag{true, p}, Flag{true, p} }},
	"use-vc":                {[3]int{1, 13, 0}, func(rc *ResolvConf, p Pos) { rc.UseVC = Flag{true, p} }},
	"usevc":                 {[3]int{1, 13, 0}, func(rc *ResolvConf, p Pos) { rc.UseVC = Flag{true, p} }},
	"tcp":                   {[3]int{1, 13, 0}, func(rc *ResolvConf, p Pos) { rc.UseVC = Flag{true, p} }},
	"trust-ad":              {[3]int{1, 20, 0}, func(rc *ResolvConf, p Pos) { rc.TrustAD = Flag{true, p} }},
	"edns0":                 {[3]int{1, 20, 0}, func(rc *ResolvConf, p Pos) { rc.EDNS0 = Flag{true, p} }},
	"no-reload":             {[3]int{1, 20, 0}, func(rc *ResolvConf, p Pos) { rc.NoReload = Flag{true, p} }},
}

// parseGoOption applies one word of an options line: a value option, a
// flag the release knows, or an unknown option.
func parseGoOption(rc *ResolvConf, s string, p Pos, o ResolvOptions) {
	if name, value, ok := strings.Cut(s, ":"); ok {
		if apply, known := goValueOptions[name]; known {
			n, _ := goDtoi(value)
			apply(rc, n, p)
			return
		}
	}
	if f, known := goFlagOptions[s]; known && o.atLeast(f.since[0], f.since[1], f.since[2]) {
		f.set(rc, p)
		return
	}
	rc.Unknown = append(rc.Unknown, Note{p, "unknown option " + quote(s)})
}

// glibc's caps (resolv.h): RES_MAXNDOTS, RES_MAXRETRANS, RES_MAXRETRY, and
// MAXDNSRCH before 2.26.
const (
	glibcMaxNdots    = 15
	glibcMaxTimeout  = 30
	glibcMaxAttempts = 5
	glibcOldMaxSrch  = 6
)

// glibc's reading of resolv.conf (libc-k8s-resolver.md §D.2) as tables: a
// line starting with ';' or '#' is a comment; a keyword counts only when a
// space or tab follows it at the very start of the line (no leading white
// space, no other separator); glibcResolvKeywords says what each does with
// the rest of the line. Any other non-blank line is ignored, and noted.
var glibcResolvKeywords = map[string]func(rc *ResolvConf, rest []byte, p Pos, o ResolvOptions){
	// domain: the search list is its first word.
	"domain": func(rc *ResolvConf, rest []byte, p Pos, _ ResolvOptions) {
		if f := fieldsFunc(rest, isCSpace); len(f) > 0 {
			rc.Search = []string{f[0]}
			rc.SearchPos, rc.SearchSet = p, true
		}
	},
	// search: every word, as written; an empty line changes nothing;
	// before 2.26 only the first MAXDNSRCH are kept.
	"search": func(rc *ResolvConf, rest []byte, p Pos, o ResolvOptions) {
		f := fieldsFunc(rest, isCSpace)
		if len(f) == 0 {
			return
		}
		rc.Search = f
		rc.SearchPos, rc.SearchSet = p, true
		if !o.atLeast(2, 26, 0) && len(rc.Search) > glibcOldMaxSrch {
			rc.Ignored = append(rc.Ignored, Note{p, "glibc before 2.26 keeps 6 search domains"})
			rc.Search = rc.Search[:glibcOldMaxSrch]
		}
	},
	"nameserver": func(rc *ResolvConf, rest []byte, p Pos, _ ResolvOptions) {
		if f := fieldsFunc(rest, isCSpace); len(f) > 0 {
			rc.addNameserver(f[0], p)
		}
	},
	"options": func(rc *ResolvConf, rest []byte, p Pos, _ ResolvOptions) {
		applyGlibcOptions(rc, string(rest), p)
	},
	// sortlist: address sorting; no effect on what is asked.
	"sortlist": func(*ResolvConf, []byte, Pos, ResolvOptions) {},
}

// parseResolvGlibc reads the file with glibcResolvKeywords.
func parseResolvGlibc(file string, data []byte, o ResolvOptions) *ResolvConf {
	rc := newResolv(Glibc, file)
	for _, l := range splitLines(data) {
		t := l.text
		if len(t) > 0 && (t[0] == ';' || t[0] == '#') {
			continue
		}
		p := pos(file, l)
		if i := bytes.IndexAny(t, " \t"); i >= 0 {
			if apply, ok := glibcResolvKeywords[string(t[:i])]; ok {
				apply(rc, t[i+1:], p, o)
				continue
			}
		}
		if len(fieldsFunc(t, isCSpace)) > 0 {
			rc.Ignored = append(rc.Ignored, Note{p, "not a keyword glibc reads: ignored"})
		}
	}
	return rc
}

// glibcValueOptions are glibc's "NAME:N" options: N read as atoi, held to
// 0 and to resolv.h's cap.
var glibcValueOptions = map[string]func(rc *ResolvConf, n int, p Pos){
	"ndots":    func(rc *ResolvConf, n int, p Pos) { rc.Ndots = IntOption{min(max(n, 0), glibcMaxNdots), p} },
	"timeout":  func(rc *ResolvConf, n int, p Pos) { rc.Timeout = IntOption{min(max(n, 0), glibcMaxTimeout), p} },
	"attempts": func(rc *ResolvConf, n int, p Pos) { rc.Attempts = IntOption{min(max(n, 0), glibcMaxAttempts), p} },
}

// glibcFlagOptions are glibc's on/off options the model uses.
var glibcFlagOptions = map[string]func(rc *ResolvConf, p Pos){
	"rotate":                func(rc *ResolvConf, p Pos) { rc.Rotate = Flag{true, p} },
	"single-request":        func(rc *ResolvConf, p Pos) { rc.SingleRequest = Flag{true, p} },
	"single-request-reopen": func(rc *ResolvConf, p Pos) { rc.SingleRequest, rc.SingleRequestReopen = Flag{true, p}, Flag{true, p} },
	"use-vc":                func(rc *ResolvConf, p Pos) { rc.UseVC = Flag{true, p} },
	"trust-ad":              func(rc *ResolvConf, p Pos) { rc.TrustAD = Flag{true, p} },
	"edns0":                 func(rc *ResolvConf, p Pos) { rc.EDNS0 = Flag{true, p} },
	"no-reload":             func(rc *ResolvConf, p Pos) { rc.NoReload = Flag{true, p} },
	"no-tld-query":          func(rc *ResolvConf, p Pos) { rc.NoTLDQuery = Flag{true, p} },
}

// glibcUnmodelledOptions are options glibc knows that change nothing the
// model predicts.
var glibcUnmodelledOptions = []string{"debug", "no-check-names", "inet6", "no-aaaa", "ip6-bytestring", "ip6-dotint", "no-ip6-dotint"}

// applyGlibcOptions applies an options string (a resolv.conf options line
// or RES_OPTIONS), word by word.
func applyGlibcOptions(rc *ResolvConf, s string, p Pos) {
	for _, opt := range fieldsFunc([]byte(s), isCSpace) {
		if name, value, ok := strings.Cut(opt, ":"); ok {
			if apply, known := glibcValueOptions[name]; known {
				apply(rc, cAtoi(value), p)
				continue
			}
		}
		switch set, known := glibcFlagOptions[opt]; {
		case known:
			set(rc, p)
		case slices.Contains(glibcUnmodelledOptions, opt):
			rc.Ignored = append(rc.Ignored, Note{p, "option " + quote(opt) + " not modelled"})
		default:
			rc.Ignored = append(rc.Ignored, Note{p, "unknown option " + quote(opt) + ": ignored by glibc"})
		}
	}
}

// ApplyGlibcEnv applies glibc's environment overrides after the file:
// LOCALDOMAIN (when present) replaces the search list, RES_OPTIONS adds
// options. localdomain is nil when the variable is absent.
func ApplyGlibcEnv(rc *ResolvConf, localdomain *string, resOptions string) {
	if localdomain != nil {
		p := Pos{File: "$LOCALDOMAIN", Text: printable([]byte(*localdomain))}
		rc.Search = fieldsFunc([]byte(*localdomain), isCSpace)
		rc.SearchPos, rc.SearchSet = p, true
	}
	if resOptions != "" {
		applyGlibcOptions(rc, resOptions, Pos{File: "$RES_OPTIONS", Text: printable([]byte(resOptions))})
	}
}

// musl's line buffer (resolvconf.c): a line that does not fit in 256
// bytes including its newline is skipped whole.
const muslLineBuf = 256

// musl's reading of resolv.conf (libc-k8s-resolver.md §C.2), as rules:
//   - a line of 256 bytes or more (with its newline) is skipped whole;
//   - there is no comment syntax;
//   - a keyword counts when any C white space follows it at the start of
//     the line; the others are not read at all;
//   - options are found anywhere on an options line (muslOpt), each taken
//     as musl's release caps it;
//   - nameserver takes the line's next word; domain and search both set
//     the list to every word after the keyword (from 1.1.13; before, musl
//     has no search support).
func parseResolvMusl(file string, data []byte, o ResolvOptions) *ResolvConf {
	rc := newResolv(Musl, file)
	r := muslResolvRulesFor(o)
	for _, l := range splitLines(data) {
		p := pos(file, l)
		// fgets into a 256-byte buffer: a line of 255 bytes or more (256
		// with its newline) does not fit, and musl discards all of it.
		if len(l.text) >= muslLineBuf-1 {
			rc.Skipped = append(rc.Skipped, Note{p, "line of 256 bytes or more: musl skips it"})
			continue
		}
		i := bytes.IndexFunc(l.text, func(c rune) bool { return c < 0x80 && isCSpace(byte(c)) })
		if i < 0 {
			continue
		}
		rest := l.text[i+1:]
		switch string(l.text[:i]) {
		case "options":
			r.options(rc, string(l.text), p)
		case "nameserver":
			if f := fieldsFunc(rest, isCSpace); len(f) > 0 {
				rc.addNameserver(f[0], p)
			}
		case "domain", "search":
			if !r.search {
				rc.Ignored = append(rc.Ignored, Note{p, "musl before 1.1.13 has no search support"})
				continue
			}
			rc.Search = fieldsFunc(rest, isCSpace)
			rc.SearchPos, rc.SearchSet = p, true
		}
	}
	return rc
}

// muslResolvRules are the release-dependent parts of musl's reading.
type muslResolvRules struct {
	search bool // domain/search lines are read (1.1.13+)
	// oldCaps: before 1.1.13, attempts is 1..10 and timeout at most 30;
	// later releases cap attempts at 10 and timeout at 60.
	oldCaps bool
	// attemptsIgnored: 1.1.13–1.1.16 never apply attempts:.
	attemptsIgnored bool
}

func muslResolvRulesFor(o ResolvOptions) muslResolvRules {
	known := !o.Version.IsZero()
	return muslResolvRules{
		search:          o.atLeast(1, 1, 13),
		oldCaps:         known && !o.Version.AtLeast(1, 1, 13),
		attemptsIgnored: known && o.Version.AtLeast(1, 1, 13) && !o.Version.AtLeast(1, 1, 17),
	}
}

// options applies an options line under the release's caps.
func (r muslResolvRules) options(rc *ResolvConf, line string, p Pos) {
	if v, ok := muslOpt(line, "ndots:"); ok {
		rc.Ndots = IntOption{int(min(v, 15)), p}
	}
	if v, ok := muslOpt(line, "attempts:"); ok {
		switch {
		case r.attemptsIgnored:
			rc.Ignored = append(rc.Ignored, Note{p, "musl 1.1.13–1.1.16 ignore attempts:"})
		case r.oldCaps:
			rc.Attempts = IntOption{int(max(min(v, 10), 1)), p}
		default:
			rc.Attempts = IntOption{int(min(v, 10)), p}
		}
	}
	if v, ok := muslOpt(line, "timeout:"); ok {
		maxTimeout := uint64(60)
		if r.oldCaps {
			maxTimeout = 30
		}
		rc.Timeout = IntOption{int(min(v, maxTimeout)), p}
	}
}

// muslOpt finds key anywhere on the line (strstr) followed by a digit.
func muslOpt(s, key string) (uint64, bool) {
	i := strings.Index(s, key)
	if i < 0 {
		return 0, false
	}
	rest := s[i+len(key):]
	if rest == "" || rest[0] < '0' || rest[0] > '9' {
		return 0, false
	}
	return cStrtoul(rest)
}

func quote(s string) string { return "\"" + printable([]byte(s)) + "\"" }
