// Package conf reads /etc/resolv.conf, /etc/nsswitch.conf and /etc/hosts the
// way each resolver implementation reads them. The implementations disagree
// (Go per release, glibc, musl): comments, field separators, caps on values,
// which options exist, what happens to over-long lines. Every parsed value
// keeps the file and line it came from, so a decision made on it can cite it.
//
// Parsers never fail on content: a malformed line is recorded (Unknown,
// Skipped, Err) the way the implementation would treat it, because for a
// resolver "the file is odd" is a behaviour, not an error. The package does
// no I/O; callers pass the bytes.
package conf

import (
	"bytes"
	"fmt"
)

// Dialect names the implementation whose reading rules apply.
type Dialect string

const (
	Go    Dialect = "go"
	Glibc Dialect = "glibc"
	Musl  Dialect = "musl"
)

// Pos is a position in a configuration file.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	// Text is the whole line as written (without the newline).
	Text string `json:"text,omitempty"`
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// IsZero reports whether p is unset.
func (p Pos) IsZero() bool { return p == Pos{} }

// line is one physical line of a file.
type line struct {
	n    int    // 1-based
	text []byte // without the trailing newline
	// cut reports that the line had no terminating newline (last line).
	unterminated bool
}

// splitLines splits data into lines, all of it: a parser never truncates
// (a file too large to read is refused where it is read, with its name and
// the limit: sysenv.MaxFileSize), and its work is linear in the input.
func splitLines(data []byte) []line {
	out := make([]line, 0, bytes.Count(data, []byte{'\n'})+1)
	n := 0
	for len(data) > 0 {
		n++
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			out = append(out, line{n: n, text: data, unterminated: true})
			break
		}
		out = append(out, line{n: n, text: data[:i]})
		data = data[i+1:]
	}
	return out
}

// maxExcerpt bounds a citation's rendered text: a line of binary garbage
// is shown as a short excerpt (its line number says where the rest is),
// never as hundreds of escaped bytes.
const maxExcerpt = 120

// printable renders a line for citation: invalid or control bytes are
// escaped so that reports stay one line per citation, and the rendering is
// cut at maxExcerpt characters, with "…" and the line's length in bytes.
func printable(b []byte) string {
	var buf bytes.Buffer
	for _, c := range b {
		var r string
		switch {
		case c == '\t':
			r = `\t`
		case c == '\r':
			r = `\r`
		case c < 0x20 || c == 0x7f || c >= 0x80:
			r = fmt.Sprintf(`\x%02x`, c)
		default:
			r = string(c)
		}
		if buf.Len()+len(r) > maxExcerpt {
			fmt.Fprintf(&buf, "… (%d bytes)", len(b))
			break
		}
		buf.WriteString(r)
	}
	return buf.String()
}

func pos(file string, l line) Pos { return Pos{File: file, Line: l.n, Text: printable(l.text)} }

// Go's field splitting (net/parse.go getFields): space, tab, CR and LF.
func isGoSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// C isspace in the "C" locale.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func fieldsFunc(b []byte, sep func(byte) bool) []string {
	var out []string
	i := 0
	for i < len(b) {
		for i < len(b) && sep(b[i]) {
			i++
		}
		j := i
		for j < len(b) && !sep(b[j]) {
			j++
		}
		if j > i {
			out = append(out, string(b[i:j]))
		}
		i = j
	}
	return out
}

// goDtoi is Go's decimal parser: leading digits only; no digits gives
// (0, false). Values saturate at a large bound.
func goDtoi(s string) (int, bool) {
	n, i := 0, 0
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		if n >= 0xFFFFFF {
			return 0xFFFFFF, false
		}
	}
	if i == 0 {
		return 0, false
	}
	return n, true
}

// cStrtoul parses leading decimal digits the way strtoul does for the
// values resolvers read (no sign handling needed: callers checked for a
// digit). It saturates instead of overflowing.
func cStrtoul(s string) (uint64, bool) {
	var n uint64
	i := 0
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		if n > (1<<63)/10 {
			n = 1 << 63
			continue
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return n, i > 0
}

// cAtoi parses like atoi: optional spaces and sign, then digits; 0 if none.
func cAtoi(s string) int {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	n := 0
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		if n < 1<<30 {
			n = n*10 + int(s[i]-'0')
		}
	}
	if neg {
		return -n
	}
	return n
}
