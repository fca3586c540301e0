package conf

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nsscope/nsscope/version"
)

// HostEntry is one usable line of /etc/hosts.
type HostEntry struct {
	Addr  netip.Addr `json:"addr"`
	Names []string   `json:"names"`
	Pos   Pos        `json:"pos"`
}

// Hosts is /etc/hosts as one implementation reads it.
type Hosts struct {
	Dialect Dialect     `json:"dialect"`
	File    string      `json:"file"`
	Entries []HostEntry `json:"entries"`
	// Ignored lists lines the implementation skips (bad address, no name).
	Ignored []Note `json:"ignored,omitempty"`
}

// HostsOptions selects the release whose rules apply.
type HostsOptions struct {
	// Version of Go (decides whether IPv4 components with leading zeros are
	// accepted: before Go 1.17 they are). Zero means the newest behaviour.
	Version version.Version
}

// ParseHosts reads data as the given implementation would.
func ParseHosts(d Dialect, file string, data []byte, o HostsOptions) *Hosts {
	h := &Hosts{Dialect: d, File: file}
	sep := isCSpace
	if d == Go {
		sep = isGoSpace
	}
	oldGo := d == Go && !o.Version.IsZero() && !o.Version.AtLeast(1, 17, 0)
	for _, l := range splitLines(data) {
		t := l.text
		if i := bytes.IndexByte(t, '#'); i >= 0 {
			t = t[:i]
		}
		f := fieldsFunc(t, sep)
		if len(f) == 0 {
			continue
		}
		p := pos(h.File, l)
		if len(f) < 2 {
			h.Ignored = append(h.Ignored, Note{p, "no host name on the line: skipped"})
			continue
		}
		a, ok := parseHostsAddr(f[0], d, oldGo)
		if !ok {
			h.Ignored = append(h.Ignored, Note{p, "first field is not an IP address: skipped"})
			continue
		}
		h.Entries = append(h.Entries, HostEntry{Addr: a, Names: f[1:], Pos: p})
	}
	return h
}

func parseHostsAddr(s string, d Dialect, leadingZeros bool) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" && a.Is4() {
			return netip.Addr{}, false
		}
		if a.Zone() != "" && d != Go {
			// glibc and musl accept a scope only as a number or an
			// interface; keep it, the lookup does not care.
			return a, true
		}
		return a, true
	}
	if leadingZeros {
		parts := strings.Split(s, ".")
		if len(parts) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, p := range parts {
			if p == "" || len(p) > 3 {
				return netip.Addr{}, false
			}
			n, err := strconv.Atoi(p)
			if err != nil || n > 255 {
				return netip.Addr{}, false
			}
			b[i] = byte(n)
		}
		return netip.AddrFrom4(b), true
	}
	return netip.Addr{}, false
}

// goHostsKey is Go's key for a hosts name: lower-cased, and rooted when it
// contains a dot (so "localhost." never matches "localhost").
func goHostsKey(s string) string {
	s = lowerASCII(s)
	if strings.IndexByte(s, '.') >= 0 && !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// Lookup returns the addresses the implementation finds for name, in file
// order, with the lines that gave them.
//
// Go: case-insensitive, a name with a dot is compared rooted, so the query
// "localhost." does not match a "localhost" line. glibc: case-insensitive
// comparison of the name as given. musl: case-sensitive, the name must
// stand as a whole word on the line.
func (h *Hosts) Lookup(name string) ([]netip.Addr, []Pos) {
	if h == nil {
		return nil, nil
	}
	var addrs []netip.Addr
	var lines []Pos
	match := func(n string) bool { return false }
	switch h.Dialect {
	case Go:
		key := goHostsKey(name)
		match = func(n string) bool { return goHostsKey(n) == key }
	case Glibc:
		match = func(n string) bool { return strings.EqualFold(n, name) }
	case Musl:
		match = func(n string) bool { return n == name }
	}
	for _, e := range h.Entries {
		for _, n := range e.Names {
			if match(n) {
				addrs = append(addrs, e.Addr)
				lines = append(lines, e.Pos)
				break
			}
		}
	}
	return addrs, lines
}
