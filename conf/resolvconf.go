package conf

import (
	"net/netip"
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

// parseResolvGo follows Go's dnsReadConfig (go-resolver.md §b.8).
func parseResolvGo(file string, data []byte, o ResolvOptions) *ResolvConf {
	rc := newResolv(Go, file)
	for _, l := range splitLines(data) {
		if len(l.text) > 0 && (l.text[0] == ';' || l.text[0] == '#') {
			continue
		}
		f := fieldsFunc(l.text, isGoSpace)
		if len(f) < 1 {
			continue
		}
		p := pos(file, l)
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				rc.addNameserver(f[1], p)
			}
		case "domain":
			if len(f) > 1 {
				rc.Search = []string{EnsureRooted(f[1])}
				rc.SearchPos, rc.SearchSet = p, true
			}
		case "search":
			rc.Search = []string{}
			rc.SearchPos, rc.SearchSet = p, true
			for _, s := range f[1:] {
				if s == "." && o.atLeast(1, 20, 0) {
					rc.Ignored = append(rc.Ignored, Note{p, `search entry "." dropped (Go 1.20+)`})
					continue
				}
				rc.Search = append(rc.Search, EnsureRooted(s))
			}
		case "options":
			for _, s := range f[1:] {
				parseGoOption(rc, s, p, o)
			}
		case "lookup":
			// OpenBSD's keyword; accepted (and ignored) everywhere.
		default:
			rc.Unknown = append(rc.Unknown, Note{p, "unknown keyword " + quote(f[0])})
		}
	}
	return rc
}

func parseGoOption(rc *ResolvConf, s string, p Pos, o ResolvOptions) {
	switch {
	case strings.HasPrefix(s, "ndots:"):
		n, _ := goDtoi(s[6:])
		rc.Ndots = IntOption{min(max(n, 0), 15), p}
	case strings.HasPrefix(s, "timeout:"):
		n, _ := goDtoi(s[8:])
		rc.Timeout = IntOption{max(n, 1), p}
	case strings.HasPrefix(s, "attempts:"):
		n, _ := goDtoi(s[9:])
		rc.Attempts = IntOption{max(n, 1), p}
	case s == "rotate":
		rc.Rotate = Flag{true, p}
	case (s == "single-request" || s == "single-request-reopen") && o.atLeast(1, 13, 0):
		rc.SingleRequest = Flag{true, p}
		if s == "single-request-reopen" {
			rc.SingleRequestReopen = Flag{true, p}
		}
	case (s == "use-vc" || s == "usevc" || s == "tcp") && o.atLeast(1, 13, 0):
		rc.UseVC = Flag{true, p}
	case s == "trust-ad" && o.atLeast(1, 20, 0):
		rc.TrustAD = Flag{true, p}
	case s == "edns0" && o.atLeast(1, 20, 0):
		rc.EDNS0 = Flag{true, p}
	case s == "no-reload" && o.atLeast(1, 20, 0):
		rc.NoReload = Flag{true, p}
	default:
		rc.Unknown = append(rc.Unknown, Note{p, "unknown option " + quote(s)})
	}
}

// glibc's caps (resolv.h): RES_MAXNDOTS, RES_MAXRETRANS, RES_MAXRETRY, and
// MAXDNSRCH before 2.26.
const (
	glibcMaxNdots    = 15
	glibcMaxTimeout  = 30
	glibcMaxAttempts = 5
	glibcOldMaxSrch  = 6
)

// glibcKeyword reports whether line starts with kw followed by space or tab
// (res_init.c's MATCH).
func glibcKeyword(line []byte, kw string) bool {
	return len(line) > len(kw) && string(line[:len(kw)]) == kw && (line[len(kw)] == ' ' || line[len(kw)] == '\t')
}

// parseResolvGlibc follows glibc's res_init (libc-k8s-resolver.md §D.2).
func parseResolvGlibc(file string, data []byte, o ResolvOptions) *ResolvConf {
	rc := newResolv(Glibc, file)
	for _, l := range splitLines(data) {
		t := l.text
		if len(t) > 0 && (t[0] == ';' || t[0] == '#') {
			continue
		}
		p := pos(file, l)
		switch {
		case glibcKeyword(t, "domain"):
			f := fieldsFunc(t[6:], isCSpace)
			if len(f) == 0 {
				continue
			}
			rc.Search = []string{f[0]}
			rc.SearchPos, rc.SearchSet = p, true
		case glibcKeyword(t, "search"):
			f := fieldsFunc(t[6:], isCSpace)
			if len(f) == 0 {
				continue
			}
			rc.Search = f
			rc.SearchPos, rc.SearchSet = p, true
			if o.Version.IsZero() || o.Version.AtLeast(2, 26, 0) {
				continue
			}
			if len(rc.Search) > glibcOldMaxSrch {
				rc.Ignored = append(rc.Ignored, Note{p, "glibc before 2.26 keeps 6 search domains"})
				rc.Search = rc.Search[:glibcOldMaxSrch]
			}
		case glibcKeyword(t, "nameserver"):
			if f := fieldsFunc(t[10:], isCSpace); len(f) > 0 {
				rc.addNameserver(f[0], p)
			}
		case glibcKeyword(t, "options"):
			applyGlibcOptions(rc, string(t[7:]), p)
		case glibcKeyword(t, "sortlist"):
			// Address sorting; no effect on what is asked.
		default:
			if len(fieldsFunc(t, isCSpace)) > 0 {
				rc.Ignored = append(rc.Ignored, Note{p, "not a keyword glibc reads: ignored"})
			}
		}
	}
	return rc
}

// applyGlibcOptions applies an options string (a resolv.conf options line
// or RES_OPTIONS).
func applyGlibcOptions(rc *ResolvConf, s string, p Pos) {
	for _, opt := range fieldsFunc([]byte(s), isCSpace) {
		switch {
		case strings.HasPrefix(opt, "ndots:"):
			rc.Ndots = IntOption{min(max(cAtoi(opt[6:]), 0), glibcMaxNdots), p}
		case strings.HasPrefix(opt, "timeout:"):
			rc.Timeout = IntOption{min(max(cAtoi(opt[8:]), 0), glibcMaxTimeout), p}
		case strings.HasPrefix(opt, "attempts:"):
			rc.Attempts = IntOption{min(max(cAtoi(opt[9:]), 0), glibcMaxAttempts), p}
		case opt == "rotate":
			rc.Rotate = Flag{true, p}
		case opt == "single-request":
			rc.SingleRequest = Flag{true, p}
		case opt == "single-request-reopen":
			rc.SingleRequest = Flag{true, p}
			rc.SingleRequestReopen = Flag{true, p}
		case opt == "use-vc":
			rc.UseVC = Flag{true, p}
		case opt == "trust-ad":
			rc.TrustAD = Flag{true, p}
		case opt == "edns0":
			rc.EDNS0 = Flag{true, p}
		case opt == "no-reload":
			rc.NoReload = Flag{true, p}
		case opt == "no-tld-query":
			rc.NoTLDQuery = Flag{true, p}
		case opt == "debug", opt == "no-check-names", opt == "inet6", opt == "no-aaaa",
			opt == "ip6-bytestring", opt == "ip6-dotint", opt == "no-ip6-dotint":
			// Known to glibc; no effect modelled here.
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

// parseResolvMusl follows musl's __get_resolv_conf (libc-k8s-resolver.md
// §C.2): keyword matching by prefix, options found with strstr anywhere on
// the line, no comment syntax, long lines skipped.
func parseResolvMusl(file string, data []byte, o ResolvOptions) *ResolvConf {
	rc := newResolv(Musl, file)
	searchSupported := o.atLeast(1, 1, 13)
	oldCaps := !o.Version.IsZero() && !o.Version.AtLeast(1, 1, 13)
	brokenAttempts := !o.Version.IsZero() && o.Version.AtLeast(1, 1, 13) && !o.Version.AtLeast(1, 1, 17)
	for _, l := range splitLines(data) {
		t := l.text
		p := pos(file, l)
		// fgets into a 256-byte buffer: a line of 255 bytes or more (256
		// with its newline) does not fit, and musl discards all of it.
		if len(t) >= muslLineBuf-1 {
			rc.Skipped = append(rc.Skipped, Note{p, "line of 256 bytes or more: musl skips it"})
			continue
		}
		s := string(t)
		switch {
		case strings.HasPrefix(s, "options") && len(s) > 7 && isCSpace(s[7]):
			if v, ok := muslOpt(s, "ndots:"); ok {
				rc.Ndots = IntOption{int(min(v, 15)), p}
			}
			if v, ok := muslOpt(s, "attempts:"); ok {
				if brokenAttempts {
					rc.Ignored = append(rc.Ignored, Note{p, "musl 1.1.13–1.1.16 ignore attempts:"})
				} else if oldCaps {
					rc.Attempts = IntOption{int(max(min(v, 10), 1)), p}
				} else {
					rc.Attempts = IntOption{int(min(v, 10)), p}
				}
			}
			if v, ok := muslOpt(s, "timeout:"); ok {
				if oldCaps {
					rc.Timeout = IntOption{int(min(v, 30)), p}
				} else {
					rc.Timeout = IntOption{int(min(v, 60)), p}
				}
			}
		case strings.HasPrefix(s, "nameserver") && len(s) > 10 && isCSpace(s[10]):
			if f := fieldsFunc(t[11:], isCSpace); len(f) > 0 {
				rc.addNameserver(f[0], p)
			}
		case (strings.HasPrefix(s, "domain") || strings.HasPrefix(s, "search")) && len(s) > 6 && isCSpace(s[6]):
			if !searchSupported {
				rc.Ignored = append(rc.Ignored, Note{p, "musl before 1.1.13 has no search support"})
				continue
			}
			// The rest of the line is the list, every word of it (musl has
			// no comment syntax).
			rc.Search = fieldsFunc(t[7:], isCSpace)
			rc.SearchPos, rc.SearchSet = p, true
		}
	}
	return rc
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
