// Package unidiff applies line edits to a text file and writes them as a
// unified diff that `git apply` and `patch` accept. It is the one diff
// writer of nsscope's fixes (scan's configuration-file fixes and
// dockerfile's Dockerfile fixes).
//
// The edits are known exactly (the fixes are computed, not discovered), so
// there is no diff algorithm here: the diff is the edit list rendered with
// three lines of context. Line ends are kept as the file has them (LF or
// CRLF), and a last line without a line end is marked the way diff(1)
// marks it, so the diff applies to the bytes on disk.
package unidiff

import (
	"fmt"
	"slices"
	"strings"
)

// Edit replaces Delete lines starting at Line (1-based) by Insert (lines
// without their line ends). A pure insertion has Delete 0 and puts Insert
// before Line; Line = number of lines + 1 appends.
type Edit struct {
	Line   int
	Delete int
	Insert []string
}

// line is one line of a file: its text without "\n" (a CRLF file keeps the
// "\r") and whether a "\n" ends it.
type line struct {
	text string
	eol  bool
}

// split cuts src into lines.
func split(src []byte) []line {
	s := string(src)
	var out []line
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, line{text: s})
			break
		}
		out = append(out, line{text: s[:i], eol: true})
		s = s[i+1:]
	}
	return out
}

// crlf reports whether the file's lines end in CRLF (its first line
// decides, as editors do).
func crlf(ls []line) bool {
	return len(ls) > 0 && ls[0].eol && strings.HasSuffix(ls[0].text, "\r")
}

// op is one line of the edit script: kept, deleted or inserted.
type op struct {
	kind byte // ' ', '-', '+'
	line
}

// script turns the edits into the sequence of kept, deleted and inserted
// lines. Edits are applied in line order; overlapping edits are clipped.
// Every line that another line follows gets a line end, so an edit after
// an unterminated last line rewrites that line with one.
func script(src []byte, edits []Edit) []op {
	old := split(src)
	cr := ""
	if crlf(old) {
		cr = "\r"
	}
	es := slices.Clone(edits)
	slices.SortStableFunc(es, func(a, b Edit) int { return a.Line - b.Line })
	var seq []op
	i := 0 // next old line (0-based)
	for _, e := range es {
		at := min(max(e.Line-1, i), len(old))
		for ; i < at; i++ {
			seq = append(seq, op{' ', old[i]})
		}
		for k := 0; k < e.Delete && i < len(old); k++ {
			seq = append(seq, op{'-', old[i]})
			i++
		}
		for _, s := range e.Insert {
			seq = append(seq, op{'+', line{text: s + cr, eol: true}})
		}
	}
	for ; i < len(old); i++ {
		seq = append(seq, op{' ', old[i]})
	}
	// The last old line, unterminated and kept, followed by new lines: it
	// becomes "-line" (no newline) and "+line\n" where it stood.
	k := slices.IndexFunc(seq, func(o op) bool { return o.kind == ' ' && !o.eol })
	if k >= 0 && k+1 < len(seq) {
		seq[k].kind = '-'
		seq = slices.Insert(seq, k+1, op{'+', line{text: seq[k].text, eol: true}})
	}
	return seq
}

// Apply returns src with the edits applied. Inserted lines get the file's
// line end (CRLF when its first line has one).
func Apply(src []byte, edits []Edit) []byte {
	var b strings.Builder
	for _, o := range script(src, edits) {
		if o.kind == '-' {
			continue
		}
		b.WriteString(o.text)
		if o.eol {
			b.WriteByte('\n')
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return []byte(b.String())
}

// context is the number of unchanged lines around each change.
const context = 3

// Diff renders the edits of src as a unified diff ("" when nothing
// changes). oldPath and newPath are the names on the --- and +++ lines:
// a relative path gets git's a/ and b/ prefixes (`git apply`, `patch
// -p1`), an absolute path is written as it is, and "/dev/null" as oldPath
// marks a file the diff creates.
func Diff(oldPath, newPath string, src []byte, edits []Edit) string {
	seq := script(src, edits)
	if !slices.ContainsFunc(seq, func(o op) bool { return o.kind != ' ' }) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s\n", header(oldPath, "a/"), header(newPath, "b/"))
	for start := 0; start < len(seq); {
		lo, hi, ok := nextHunk(seq, start)
		if !ok {
			break
		}
		writeHunk(&b, seq, lo, hi)
		start = hi + 1
	}
	return b.String()
}

func header(p, prefix string) string {
	if p == "/dev/null" || strings.HasPrefix(p, "/") {
		return p
	}
	return prefix + p
}

// nextHunk finds the hunk that holds the first change at or after start:
// changes closer than 2*context lines share a hunk.
func nextHunk(seq []op, start int) (lo, hi int, ok bool) {
	first := slices.IndexFunc(seq[start:], func(o op) bool { return o.kind != ' ' })
	if first < 0 {
		return 0, 0, false
	}
	first += start
	last := first
	for k := first; k < len(seq); k++ {
		if seq[k].kind != ' ' {
			last = k
		} else if k-last > 2*context {
			break
		}
	}
	return max(first-context, start), min(last+context, len(seq)-1), true
}

// writeHunk writes seq[lo:hi+1] with its @@ header.
func writeHunk(b *strings.Builder, seq []op, lo, hi int) {
	oldStart, newStart := 1, 1
	for _, o := range seq[:lo] {
		if o.kind != '+' {
			oldStart++
		}
		if o.kind != '-' {
			newStart++
		}
	}
	oldLen, newLen := 0, 0
	for _, o := range seq[lo : hi+1] {
		if o.kind != '+' {
			oldLen++
		}
		if o.kind != '-' {
			newLen++
		}
	}
	// An empty range names the line before it (diff(1)'s convention).
	if oldLen == 0 {
		oldStart--
	}
	if newLen == 0 {
		newStart--
	}
	fmt.Fprintf(b, "@@ -%s +%s @@\n", hunkRange(oldStart, oldLen), hunkRange(newStart, newLen))
	for _, o := range seq[lo : hi+1] {
		b.WriteByte(o.kind)
		b.WriteString(o.text)
		b.WriteByte('\n')
		if !o.eol {
			b.WriteString("\\ No newline at end of file\n")
		}
	}
}

func hunkRange(start, n int) string {
	if n == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}
