package kube

import (
	"fmt"

	"github.com/nsscope/nsscope/waterfall"
)

// StartupChart draws a kube-apiserver start-up on one axis from the
// process's start (machine speed m, as predicted): the first loopback
// dial and its lookup's DNS exchanges, the dial's deadline, when the
// secure port serves, and when /readyz answers or the process exits.
func StartupChart(title string, st *Startup, m Machine) waterfall.Chart {
	c := waterfall.Chart{Title: title}
	c.Events = append(c.Events, waterfall.Event{At: 0, Kind: "start", Label: "process start"})
	if p := st.Prediction; p != nil {
		s := waterfall.PredictionSeries("first loopback lookup of "+st.Loopback.Host, p)
		for i := range s.Rows {
			s.Rows[i].Start += m.FirstDial
			s.Rows[i].End += m.FirstDial
		}
		s.End += m.FirstDial
		c.Series = append(c.Series, s)
		c.Events = append(c.Events, waterfall.Event{At: m.FirstDial, Kind: "dial", Label: "first loopback dial " + st.Loopback.URL()})
		if p.Request.Deadline > 0 {
			c.Deadline = m.FirstDial + p.Request.Deadline.Duration()
		}
	}
	c.Events = append(c.Events, waterfall.Event{At: m.Serving, Kind: "serving", Label: "serving securely"})
	r := st.Result
	label := r.Outcome
	if r.Log != "" && r.Outcome == OutcomeExits {
		label = "exits: " + r.Log
	}
	c.Events = append(c.Events, waterfall.Event{At: r.Time.Duration(), Kind: r.Outcome, Label: label})
	return c
}

// StartupPage is the kube-apiserver containers' start-ups as one HTML
// page: per container the start-up on one axis, the reasons, and each
// remedy with its re-predicted start-up beside it.
func StartupPage(cs []*Container, fixes map[string][]StartupFix, assumed []string) waterfall.Page {
	p := waterfall.Page{Title: "nsscope apiserver: kube-apiserver start-up"}
	for _, a := range assumed {
		p.Facts = append(p.Facts, waterfall.Fact{Label: "assumed", Value: a})
	}
	m := DefaultMachine()
	for i, c := range cs {
		st := c.Startup
		if st == nil {
			continue
		}
		sec := waterfall.Section{
			ID:      fmt.Sprintf("apiserver-%d", i+1),
			Heading: c.Subject,
			Verdict: map[bool]string{true: "EXITS", false: "READY"}[st.Fails],
			Summary: "kube-apiserver start-up: " + st.Summary,
			Charts:  []waterfall.Chart{StartupChart("start-up", st, m)},
		}
		for _, why := range st.Reasons {
			sec.Steps = append(sec.Steps, waterfall.Step{Key: "because", Reason: why})
		}
		for _, fx := range fixes[c.Subject] {
			f := waterfall.Fix{Text: fx.Description}
			if fx.After != nil {
				f.Effect = fx.After.Summary
				after := StartupChart("after: "+fx.Description, fx.After, m)
				f.After = &after
			}
			sec.Fixes = append(sec.Fixes, f)
		}
		p.Sections = append(p.Sections, sec)
	}
	return p
}
