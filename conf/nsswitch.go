package conf

import (
	"bytes"
	"strings"
)

// Criterion is one [STATUS=ACTION] item after a source.
type Criterion struct {
	Negate bool   `json:"negate,omitempty"`
	Status string `json:"status"` // lower case: success, notfound, unavail, tryagain
	Action string `json:"action"` // lower case: return, continue, merge
}

func (c Criterion) String() string {
	s := c.Status + "=" + c.Action
	if c.Negate {
		s = "!" + s
	}
	return s
}

// Source is one service on a database line, with its criteria.
type Source struct {
	Name     string      `json:"name"`
	Criteria []Criterion `json:"criteria,omitempty"`
	Pos      Pos         `json:"pos"`
}

func (s Source) String() string {
	if len(s.Criteria) == 0 {
		return s.Name
	}
	parts := make([]string, len(s.Criteria))
	for i, c := range s.Criteria {
		parts[i] = strings.ToUpper(c.Status) + "=" + c.Action
		if c.Negate {
			parts[i] = "!" + parts[i]
		}
	}
	return s.Name + " [" + strings.Join(parts, " ") + "]"
}

// NSSwitch is the hosts database of /etc/nsswitch.conf as one
// implementation reads it.
type NSSwitch struct {
	Dialect Dialect `json:"dialect"`
	File    string  `json:"file"`
	// Hosts are the sources of the hosts database in order (Go
	// concatenates several hosts lines; glibc uses the first).
	Hosts []Source `json:"hosts"`
	// HostsLines are the lines that contributed to Hosts.
	HostsLines []Pos `json:"hosts_lines,omitempty"`
	// Err is a parse error that makes Go treat the whole file as unusable
	// ("no colon on line", "unclosed criterion bracket", ...); ErrPos the
	// line. Always empty for glibc, which skips bad lines instead.
	Err    string `json:"error,omitempty"`
	ErrPos Pos    `json:"error_pos,omitzero"`
	// Ignored lists lines that glibc skipped.
	Ignored []Note `json:"ignored,omitempty"`
}

// ParseNSSwitch reads data as the given implementation would. musl never
// reads the file; asking for the Musl dialect returns an empty result.
func ParseNSSwitch(d Dialect, file string, data []byte) *NSSwitch {
	switch d {
	case Glibc:
		return parseNSSGlibc(file, data)
	case Musl:
		return &NSSwitch{Dialect: Musl, File: file}
	default:
		return parseNSSGo(file, data)
	}
}

// goTrim trims Go's parse.go whitespace (space, tab, CR, LF).
func goTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r < 0x80 && isGoSpace(byte(r)) })
}

// Go's nsswitch.conf rules (go-resolver.md §b.4), as its reader applies
// them: a '#' starts a comment; a line needs a colon; sources are split on
// the space character only (a TAB glues two into one); a source may be
// followed by criteria in brackets, each "[!]STATUS=ACTION" of at least
// three bytes. Any broken rule makes the whole file unusable to Go.
const (
	goNSSNoColon      = "no colon on line"
	goNSSUnclosed     = "unclosed criterion bracket"
	goNSSShort        = "criterion too short"
	goNSSNoEqualsSign = "criterion lacks equal sign"
)

// parseNSSGo reads the file with Go's rules: every hosts line's sources,
// concatenated, or the first broken rule.
func parseNSSGo(file string, data []byte) *NSSwitch {
	ns := &NSSwitch{Dialect: Go, File: file}
	for _, l := range splitLines(data) {
		body, _, _ := bytes.Cut(l.text, []byte("#"))
		s := goTrim(string(body))
		if s == "" {
			continue
		}
		p := pos(file, l)
		db, srcs, err := goNSSLine(s, p)
		if err != "" {
			ns.Err, ns.ErrPos = err, p
			ns.Hosts, ns.HostsLines = nil, nil
			return ns
		}
		if db == "hosts" {
			ns.Hosts = append(ns.Hosts, srcs...)
			ns.HostsLines = append(ns.HostsLines, p)
		}
	}
	return ns
}

// goNSSLine splits one line into its database and sources.
func goNSSLine(s string, p Pos) (string, []Source, string) {
	db, rest, ok := strings.Cut(s, ":")
	if !ok {
		return "", nil, goNSSNoColon
	}
	var srcs []Source
	for rest = goTrim(rest); rest != ""; rest = goTrim(rest) {
		var src Source
		var err string
		src, rest, err = goNSSSource(rest, p)
		if err != "" {
			return "", nil, err
		}
		srcs = append(srcs, src)
	}
	return goTrim(db), srcs, ""
}

// goNSSSource takes one source (and its criteria) off the front of s.
func goNSSSource(s string, p Pos) (Source, string, string) {
	name, rest, _ := strings.Cut(s, " ")
	src := Source{Name: name, Pos: p}
	rest = goTrim(rest)
	if !strings.HasPrefix(rest, "[") {
		return src, rest, ""
	}
	inside, after, ok := strings.Cut(rest[1:], "]")
	if !ok {
		return src, "", goNSSUnclosed
	}
	crit, err := parseGoCriteria(inside)
	if err != "" {
		return src, "", "invalid criteria: " + err
	}
	src.Criteria = crit
	return src, after, ""
}

// goCriterionRules are the checks Go's reader makes of one criterion (the
// text after an optional '!'), in order; the first one broken makes the
// whole file unusable (go-resolver.md §b.4: "malformed criterion ⇒ parse
// error"). Status and action are not checked here: an unknown one only
// makes the criteria non-standard (StandardCriteria).
var goCriterionRules = []struct {
	broken func(body string) bool
	err    string
}{
	{func(body string) bool { return len(body) < 3 }, goNSSShort},
	{func(body string) bool { return !strings.Contains(body, "=") }, goNSSNoEqualsSign},
}

// parseGoCriteria reads the criteria between brackets: white-space
// separated "[!]STATUS=ACTION" items, lowercased (§b.4).
func parseGoCriteria(x string) ([]Criterion, string) {
	var out []Criterion
	for _, f := range fieldsFunc([]byte(x), isGoSpace) {
		body, negate := strings.CutPrefix(f, "!")
		for _, r := range goCriterionRules {
			if r.broken(body) {
				return nil, r.err
			}
		}
		status, action, _ := strings.Cut(lowerASCII(body), "=")
		out = append(out, Criterion{Negate: negate, Status: status, Action: action})
	}
	return out, ""
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// glibcDefaultAction is the action glibc takes for a status when no
// criterion names it: return on success, continue otherwise. ok is false
// for a status glibc does not know.
func glibcDefaultAction(status string) (action string, ok bool) {
	switch status {
	case "success":
		return "return", true
	case "notfound", "unavail", "tryagain":
		return "continue", true
	}
	return "", false
}

// StandardCriteria reports whether Go's resolver can honour the source's
// criteria as if there were none (go-resolver.md §b.4). Rule: every
// criterion is un-negated, names a status glibc knows and asks for that
// status's default action; the last criterion may ask for return instead
// (it only ends a walk that is over anyway).
func (s Source) StandardCriteria() bool {
	for i, c := range s.Criteria {
		def, known := glibcDefaultAction(c.Status)
		lastReturn := i == len(s.Criteria)-1 && c.Action == "return"
		if c.Negate || !known || (c.Action != def && !lastReturn) {
			return false
		}
	}
	return true
}

// parseNSSGlibc follows glibc's nsswitch parser: any white space separates
// sources, database and status names are case-insensitive, a malformed
// line is skipped, and the first line for a database is the one used.
func parseNSSGlibc(file string, data []byte) *NSSwitch {
	ns := &NSSwitch{Dialect: Glibc, File: file}
	for _, l := range splitLines(data) {
		t := l.text
		if i := bytes.IndexByte(t, '#'); i >= 0 {
			t = t[:i]
		}
		s := strings.TrimFunc(string(t), func(r rune) bool { return r < 0x80 && isCSpace(byte(r)) })
		if s == "" {
			continue
		}
		p := pos(file, l)
		colon := strings.IndexByte(s, ':')
		if colon < 0 {
			ns.Ignored = append(ns.Ignored, Note{p, "no colon: line ignored"})
			continue
		}
		db := strings.TrimFunc(s[:colon], func(r rune) bool { return r < 0x80 && isCSpace(byte(r)) })
		if !strings.EqualFold(db, "hosts") {
			continue
		}
		srcs, err := parseGlibcSources(s[colon+1:], p)
		if err != "" {
			ns.Ignored = append(ns.Ignored, Note{p, err + ": line ignored"})
			continue
		}
		if ns.HostsLines != nil {
			ns.Ignored = append(ns.Ignored, Note{p, "second hosts line: glibc uses the first"})
			continue
		}
		ns.Hosts = srcs
		ns.HostsLines = []Pos{p}
	}
	return ns
}

func parseGlibcSources(s string, p Pos) ([]Source, string) {
	var out []Source
	i := 0
	for {
		for i < len(s) && isCSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '[' {
			if len(out) == 0 {
				return nil, "criteria before any source"
			}
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, "unclosed criterion bracket"
			}
			for _, f := range fieldsFunc([]byte(s[i+1:i+end]), isCSpace) {
				c := Criterion{}
				if f[0] == '!' {
					c.Negate, f = true, f[1:]
				}
				eq := strings.IndexByte(f, '=')
				if eq < 0 {
					return nil, "criterion lacks equal sign"
				}
				c.Status, c.Action = lowerASCII(f[:eq]), lowerASCII(f[eq+1:])
				switch c.Status {
				case "success", "notfound", "unavail", "tryagain":
				default:
					return nil, "unknown status " + quote(f[:eq])
				}
				switch c.Action {
				case "return", "continue", "merge":
				default:
					return nil, "unknown action " + quote(f[eq+1:])
				}
				out[len(out)-1].Criteria = append(out[len(out)-1].Criteria, c)
			}
			i += end + 1
			continue
		}
		j := i
		for j < len(s) && !isCSpace(s[j]) && s[j] != '[' {
			j++
		}
		out = append(out, Source{Name: s[i:j], Pos: p})
		i = j
	}
	return out, ""
}

// HostsLine renders the sources as a nsswitch.conf hosts line body.
func HostsLine(srcs []Source) string {
	parts := make([]string, len(srcs))
	for i, s := range srcs {
		parts[i] = s.String()
	}
	return strings.Join(parts, " ")
}
