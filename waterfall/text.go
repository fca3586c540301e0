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
	width := o.Width
	if width < 60 {
		width = 80
	}
	span := c.Span()
	labelW := 12
	for _, s := range c.Series {
		for _, r := range s.Rows {
			labelW = max(labelW, utf8.RuneCountInString(r.Label()))
		}
	}
	labelW = min(labelW, width/2-4)
	const outcomeW = 10
	timeW := 0
	if o.Times {
		timeW = 9 // "%8.3f "
	}
	barW := width - 2 - timeW - labelW - 1 - 1 - outcomeW
	if barW < 10 {
		barW = 10
	}
	col := func(t time.Duration) int {
		if t <= 0 {
			return 0
		}
		x := int(int64(barW) * int64(t) / int64(span))
		return min(x, barW-1)
	}
	deadlineCol := -1
	if c.Deadline > 0 {
		deadlineCol = col(c.Deadline)
	}
	var b strings.Builder
	// Axis: 0 at the left, the span at the right, the deadline where it falls.
	axis := []rune(strings.Repeat("─", barW))
	axis[0] = '├'
	axis[barW-1] = '┤'
	if deadlineCol >= 0 {
		axis[deadlineCol] = '┼'
	}
	left := "0 s"
	right := seconds(span) + " s"
	pad := strings.Repeat(" ", timeW)
	head := pad
	if o.Times {
		head = fmt.Sprintf("%8s ", "t (s)")
	}
	fmt.Fprintf(&b, "  %s%-*s %s%s%s\n", pad, labelW, "", left, strings.Repeat(" ", max(1, barW-len(left)-len(right))), right)
	fmt.Fprintf(&b, "  %s%-*s %s\n", head, labelW, "", string(axis))
	for _, s := range c.Series {
		if s.Name != "" {
			fmt.Fprintf(&b, "  %s\n", s.Name)
		}
		for _, r := range s.Rows {
			line := []rune(strings.Repeat(" ", barW))
			if deadlineCol >= 0 {
				line[deadlineCol] = '│'
			}
			end := r.End
			if end < r.Start {
				end = r.Start
			}
			a, z := col(r.Start), col(end)
			if z <= a {
				z = a + 1
			}
			g := glyph(r.Outcome)
			for i := a; i < z && i < barW; i++ {
				line[i] = g
			}
			bar := string(line)
			if o.Color {
				bar = string(line[:a]) + ansi(r.Outcome) + string(line[a:min(z, barW)]) + ansiReset + string(line[min(z, barW):])
			}
			mark := " "
			switch {
			case r.Diff:
				mark = "!"
			case r.Note != "":
				mark = "~"
			}
			at := ""
			if o.Times {
				at = fmt.Sprintf("%8.3f ", r.Start.Seconds())
			}
			fmt.Fprintf(&b, "%s %s%-*s %s %s\n", mark, at, labelW, clip(r.Label(), labelW), bar, outcomeWord(r.Outcome))
		}
		line := []rune(strings.Repeat(" ", barW))
		if deadlineCol >= 0 {
			line[deadlineCol] = '│'
		}
		line[col(s.End)] = '◆'
		kind := s.Result.Kind
		fmt.Fprintf(&b, "  %s%-*s %s %s s\n", pad, labelW, clip(resultWord(kind), labelW), string(line), seconds(s.End))
	}
	for _, e := range c.Events {
		fmt.Fprintf(&b, "  %s at %s s\n", e.Label, seconds(e.At))
	}
	b.WriteString(legend(c))
	_, err := io.WriteString(w, b.String())
	return err
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
