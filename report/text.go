package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// TextOptions tunes WriteText.
type TextOptions struct {
	// Verbose adds, under each finding, its reason chain, the lines that
	// decided, and every fix with its predicted time.
	Verbose bool
	// Color paints the severity column (ANSI escapes: critical red,
	// warning yellow, info green), for a terminal.
	Color bool
}

// paintSeverity pads the severity to its column and colours it when asked.
func (o TextOptions) paintSeverity(s Severity) string {
	word := fmt.Sprintf("%-8s", s)
	if !o.Color {
		return word
	}
	return Paint(s, strings.TrimRight(word, " ")) + word[len(strings.TrimRight(word, " ")):]
}

// Paint colours text as findings of severity s are coloured on a terminal
// (critical bold red, warning bold yellow, info green): the one palette
// of every verb's verdicts.
func Paint(s Severity, text string) string {
	code := map[Severity]string{Critical: "1;31", Warning: "1;33", Info: "32"}[s]
	if code == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// WriteText renders r for a terminal: the assumptions as "#" lines, then
// one line per finding (severity, subject, name, message, best fix), then a
// summary line. Verbose adds the reasons and fixes under each finding and
// the notes at the end.
func WriteText(w io.Writer, r *Report, opt TextOptions) error {
	b := bufio.NewWriter(w)
	if r.Target != "" {
		fmt.Fprintf(b, "# target: %s\n", r.Target)
	}
	for _, a := range r.Assumptions {
		fmt.Fprintf(b, "# assumed: %s\n", a)
	}
	for _, f := range r.Findings {
		writeTextFinding(b, f, opt)
	}
	if opt.Verbose {
		for _, n := range r.Notes {
			fmt.Fprintf(b, "# note: %s\n", n)
		}
	}
	fmt.Fprintf(b, "%s\n", summary(r))
	return b.Flush()
}

func writeTextFinding(b *bufio.Writer, f Finding, opt TextOptions) {
	subject := f.Subject
	if f.Main {
		subject += " (main)"
	}
	line := fmt.Sprintf("%s %s  %s: %s", opt.paintSeverity(f.Severity), oneLine(subject), oneLine(f.Name), oneLine(f.Message))
	if len(f.Fixes) > 0 && f.Severity > Info {
		fx := f.Fixes[0]
		line += fmt.Sprintf("; fix: %s, then %s", oneLine(fx.Description), Duration(fx.After.Duration()))
	}
	fmt.Fprintln(b, line)
	if !opt.Verbose {
		return
	}
	if f.RuleID != "" {
		fmt.Fprintf(b, "    rule: %s\n", f.RuleID)
	}
	if f.Location.Path != "" {
		fmt.Fprintf(b, "    at: %s\n", f.Location)
	}
	for _, r := range f.Reasons {
		fmt.Fprintf(b, "    because: %s\n", oneLine(r))
	}
	for _, l := range f.Related {
		if l.Message != "" {
			fmt.Fprintf(b, "    see: %s: %s\n", l, oneLine(l.Message))
		} else {
			fmt.Fprintf(b, "    see: %s\n", l)
		}
	}
	for _, fx := range f.Fixes {
		fmt.Fprintf(b, "    fix: %s -> %s, %d DNS queries\n", oneLine(fx.Description), Duration(fx.After.Duration()), fx.AfterQueries)
		if fx.Diff != "" {
			for _, dl := range strings.Split(strings.TrimRight(fx.Diff, "\n"), "\n") {
				fmt.Fprintf(b, "        %s\n", dl)
			}
		}
	}
}

// summary is the closing line: counts per severity.
func summary(r *Report) string {
	c := r.Counts()
	return fmt.Sprintf("%d finding(s): %d critical, %d warning, %d info",
		len(r.Findings), c[Critical], c[Warning], c[Info])
}

// oneLine keeps a message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// Duration renders a predicted time compactly: "0s", "40ms", "30s",
// "2m0s". Sub-millisecond times (no DNS at all) print as "0s".
func Duration(d time.Duration) string {
	if d < time.Millisecond {
		return "0s"
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}
