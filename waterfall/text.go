package waterfall

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// TextOptions tune [WriteText].
type TextOptions struct {
	// Width is the terminal width in columns; below 60 (or zero) 80 is
	// used.
	Width int
	// Color adds ANSI colours; the caller decides (a terminal, NO_COLOR
	// unset). The glyphs alone tell the outcomes apart.
	Color bool
	// Times prefixes each exchange with the second it was sent at.
	Times bool
}

// glyph is the character a bar of each outcome is drawn with: the bars
// differ without colour.
func glyph(outcome string) rune {
	switch outcome {
	case Answered:
		return '█'
	case NXDomain:
		return '▓'
	case NoData:
		return '▆'
	case ServFail:
		return '▒'
	case Refused:
		return '×'
	case Silent:
		return '░'
	case Truncate:
		return 'T'
	case Cancel:
		return '-'
	}
	return '·'
}

// ansi is each outcome's colour on a terminal.
func ansi(outcome string) string {
	switch outcome {
	case Answered:
		return "\x1b[32m"
	case NXDomain:
		return "\x1b[34m"
	case NoData:
		return "\x1b[36m"
	case ServFail:
		return "\x1b[31m"
	case Refused:
		return "\x1b[35m"
	case Silent:
		return "\x1b[90m"
	case Truncate:
		return "\x1b[33m"
	case Cancel:
		return "\x1b[33m"
	}
	return ""
}

const ansiReset = "\x1b[0m"

// WriteText writes the chart as a terminal waterfall: an axis line, one
// line per exchange with a bar proportional to its time, the deadline as
// a │ column, and a line per series for how the lookup ended (◆). A legend
// of the glyphs closes it.
func WriteText(w io.Writer, c Chart, o TextOptions) error {
	l := newTextLayout(c, o)
	var b strings.Builder
	l.writeAxis(&b)
	for _, s := range c.Series {
		if s.Name != "" {
			fmt.Fprintf(&b, "  %s\n", s.Name)
		}
		for _, r := range s.Rows {
			l.writeRow(&b, r)
		}
		line := l.track()
		line[l.col(s.End)] = '◆'
		fmt.Fprintf(&b, "  %s%-*s %s %s s\n", l.pad(), l.labelW, clip(resultWord(s.Result.Kind), l.labelW), string(line), seconds(s.End))
	}
	for _, e := range c.Events {
		fmt.Fprintf(&b, "  %s at %s s\n", e.Label, seconds(e.At))
	}
	b.WriteString(legend(c))
	_, err := io.WriteString(w, b.String())
	return err
}

// textLayout is the geometry of a terminal waterfall: the columns of the
// labels, the times and the bars, and where the deadline falls.
type textLayout struct {
	o           TextOptions
	span        time.Duration
	labelW      int
	timeW       int
	barW        int
	deadlineCol int // -1: no deadline
}

// outcomeW is the width of the outcome word after a bar.
const outcomeW = 10

func newTextLayout(c Chart, o TextOptions) textLayout {
	width := o.Width
	if width < 60 {
		width = 80
	}
	l := textLayout{o: o, span: c.Span(), labelW: 12, deadlineCol: -1}
	for _, s := range c.Series {
		for _, r := range s.Rows {
			l.labelW = max(l.labelW, utf8.RuneCountInString(r.Label()))
		}
	}
	l.labelW = min(l.labelW, width/2-4)
	if o.Times {
		l.timeW = 9 // "%8.3f "
	}
	l.barW = max(10, width-2-l.timeW-l.labelW-1-1-outcomeW)
	if c.Deadline > 0 {
		l.deadlineCol = l.col(c.Deadline)
	}
	return l
}

// col is the bar column of the time t.
func (l textLayout) col(t time.Duration) int {
	if t <= 0 {
		return 0
	}
	return min(int(int64(l.barW)*int64(t)/int64(l.span)), l.barW-1)
}

// track is an empty bar with the deadline's column drawn.
func (l textLayout) track() []rune {
	line := []rune(strings.Repeat(" ", l.barW))
	if l.deadlineCol >= 0 {
		line[l.deadlineCol] = '│'
	}
	return line
}

// pad fills the times column on lines without a time.
func (l textLayout) pad() string { return strings.Repeat(" ", l.timeW) }

// writeAxis writes the scale (0 at the left, the span at the right) and
// the axis, with the deadline where it falls.
func (l textLayout) writeAxis(b *strings.Builder) {
	axis := []rune(strings.Repeat("─", l.barW))
	axis[0] = '├'
	axis[l.barW-1] = '┤'
	if l.deadlineCol >= 0 {
		axis[l.deadlineCol] = '┼'
	}
	left, right := "0 s", seconds(l.span)+" s"
	head := l.pad()
	if l.o.Times {
		head = fmt.Sprintf("%8s ", "t (s)")
	}
	fmt.Fprintf(b, "  %s%-*s %s%s%s\n", l.pad(), l.labelW, "", left, strings.Repeat(" ", max(1, l.barW-len(left)-len(right))), right)
	fmt.Fprintf(b, "  %s%-*s %s\n", head, l.labelW, "", string(axis))
}

// writeRow writes one exchange: its mark (! a difference, ~ a note), its
// start time, label, bar and outcome.
func (l textLayout) writeRow(b *strings.Builder, r Row) {
	line := l.track()
	a, z := l.col(r.Start), l.col(max(r.End, r.Start))
	if z <= a {
		z = a + 1
	}
	g := glyph(r.Outcome)
	for i := a; i < z && i < l.barW; i++ {
		line[i] = g
	}
	bar := string(line)
	if l.o.Color {
		bar = string(line[:a]) + ansi(r.Outcome) + string(line[a:min(z, l.barW)]) + ansiReset + string(line[min(z, l.barW):])
	}
	mark := " "
	switch {
	case r.Diff:
		mark = "!"
	case r.Note != "":
		mark = "~"
	}
	at := ""
	if l.o.Times {
		at = fmt.Sprintf("%8.3f ", r.Start.Seconds())
	}
	fmt.Fprintf(b, "%s %s%-*s %s %s\n", mark, at, l.labelW, clip(r.Label(), l.labelW), bar, outcomeWord(r.Outcome))
}

// legend lists the glyphs used in the chart, the deadline and the end mark.
func legend(c Chart) string {
	seen := map[string]bool{}
	var parts []string
	for _, s := range c.Series {
		for _, r := range s.Rows {
			if !seen[r.Outcome] {
				seen[r.Outcome] = true
				parts = append(parts, fmt.Sprintf("%c %s", glyph(r.Outcome), outcomeWord(r.Outcome)))
			}
		}
	}
	if c.Deadline > 0 {
		parts = append(parts, "│ deadline "+seconds(c.Deadline)+" s")
	}
	parts = append(parts, "◆ end")
	for _, s := range c.Series {
		for _, r := range s.Rows {
			if r.Note != "" && !r.Diff {
				parts = append(parts, "~ "+r.Note)
				break
			}
		}
	}
	for _, s := range c.Series {
		for _, r := range s.Rows {
			if r.Diff {
				parts = append(parts, "! differs")
				return "  " + strings.Join(parts, "  ") + "\n"
			}
		}
	}
	return "  " + strings.Join(parts, "  ") + "\n"
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
