package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/nsscope/nsscope/waterfall"
)

// WriteHTML writes r as one self-contained HTML page (see
// [waterfall.WritePage]): the assumptions, a table of findings sorted by
// severity (critical first) that a few lines of inline script filter by
// severity and search by name, and for each finding a section with its
// lookup's waterfall, the reasons, the decisive lines and the fixes, each
// with its predicted effect (and its waterfall after the fix where the
// producer kept the prediction).
func WriteHTML(w io.Writer, r *Report) error {
	return waterfall.WritePage(w, Page(r))
}

// Page is the report as a [waterfall.Page].
func Page(r *Report) waterfall.Page {
	c := r.Counts()
	p := waterfall.Page{
		Title:    "nsscope report: " + r.Target,
		Subtitle: fmt.Sprintf("%d critical, %d warning, %d info", c[Critical], c[Warning], c[Info]),
		Table:    &waterfall.Table{Columns: []string{"program", "name", "verdict", "time", "best fix"}},
	}
	if r.Version != "" {
		p.Facts = append(p.Facts, waterfall.Fact{Label: "tool", Value: r.Tool + " " + r.Version})
	}
	for _, a := range r.Assumptions {
		p.Facts = append(p.Facts, waterfall.Fact{Label: "assumed", Value: a})
	}
	for _, n := range r.Notes {
		p.Facts = append(p.Facts, waterfall.Fact{Label: "note", Value: n})
	}
	for i, f := range sortedFindings(r.Findings) {
		id := fmt.Sprintf("finding-%d", i+1)
		subject := f.Subject
		if f.Main {
			subject += " (main)"
		}
		best := ""
		if len(f.Fixes) > 0 && f.Severity > Info {
			best = f.Fixes[0].Description + " → " + Duration(f.Fixes[0].After.Duration())
		}
		p.Table.Rows = append(p.Table.Rows, waterfall.TableRow{
			Severity: f.Severity.String(),
			Cells:    []string{subject, f.Name, f.Message, Duration(f.Time.Duration()), best},
			Rule:     f.RuleID,
			Section:  id,
		})
		p.Sections = append(p.Sections, findingSection(r, id, subject, f))
	}
	return p
}

func findingSection(r *Report, id, subject string, f Finding) waterfall.Section {
	s := waterfall.Section{ID: id, Heading: subject + " — " + f.Name, Verdict: f.Severity.String(), Summary: f.Message}
	if ru, ok := r.Rule(f.RuleID); ok && ru.Short != "" {
		s.Notes = append(s.Notes, "rule "+ru.ID+": "+ru.Short)
	}
	var before *waterfall.Chart
	if f.Predict != nil {
		c := waterfall.FromPrediction(f.Name, f.Predict)
		before = &c
		s.Charts = []waterfall.Chart{c}
	}
	for _, why := range f.Reasons {
		s.Steps = append(s.Steps, waterfall.Step{Key: "because", Reason: why})
	}
	for _, l := range f.Related {
		line := l.String()
		if l.Message != "" {
			line += ": " + l.Message
		}
		s.Related = append(s.Related, line)
	}
	for _, fx := range f.Fixes {
		wf := waterfall.Fix{
			Text:   fx.Description,
			Effect: fmt.Sprintf("%s, %d DNS queries", Duration(fx.After.Duration()), fx.AfterQueries),
			Diff:   fx.Diff,
		}
		if fx.Predict != nil {
			// A chart's title is plain text (an SVG tooltip): the
			// backticks that mark code in the description are dropped.
			c := waterfall.FromPrediction("after: "+strings.ReplaceAll(fx.Description, "`", ""), fx.Predict)
			if before != nil {
				c.Deadline = before.Deadline
			}
			wf.After = &c
		}
		s.Fixes = append(s.Fixes, wf)
	}
	return s
}

// sortedFindings orders findings critical first, keeping the producer's
// order within a severity.
func sortedFindings(in []Finding) []Finding {
	out := make([]Finding, 0, len(in))
	for sev := Critical; sev >= Info; sev-- {
		for _, f := range in {
			if f.Severity == sev {
				out = append(out, f)
			}
		}
	}
	for _, f := range in { // severities outside the known range, last
		if f.Severity < Info || f.Severity > Critical {
			out = append(out, f)
		}
	}
	return out
}
