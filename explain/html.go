package explain

import (
	"fmt"
	"io"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/waterfall"
)

// WriteHTML renders the result as one self-contained HTML page: the
// environment, and for each program its verdict, the waterfall of its
// lookup against the deadline, and the decisions with the file and line
// that caused them.
func WriteHTML(w io.Writer, r *Result) error {
	return waterfall.WritePage(w, Page(r))
}

// Page is the result as a [waterfall.Page].
func Page(r *Result) waterfall.Page {
	in := r.Input
	req := in.Request
	op := req.Op
	if op == "" {
		op = "lookup"
	}
	sub := fmt.Sprintf("%s (%s %s", req.Name, op, req.Network)
	if req.Deadline > 0 {
		sub += ", deadline " + secs(req.Deadline)
	}
	sub += ") in " + in.EnvLabel + "; nameservers behave: " + scenarioText(in.Scenario)
	p := waterfall.Page{Title: "nsscope explain: " + req.Name, Subtitle: sub}
	for _, a := range in.Assumptions {
		p.Facts = append(p.Facts, waterfall.Fact{Label: "assumed", Value: a})
	}
	for _, f := range []model.File{in.Env.ResolvConf, in.Env.NSSwitch, in.Env.Hosts} {
		p.Facts = append(p.Facts, waterfall.Fact{Label: f.Path, Value: fileText(f)})
	}
	if in.Libc.Known() {
		p.Facts = append(p.Facts, waterfall.Fact{Label: "libc", Value: in.Libc.String()})
	}
	for i, pr := range r.Predictions {
		word, why := Verdict(pr)
		s := waterfall.Section{
			ID:      fmt.Sprintf("program-%d", i+1),
			Heading: pr.Program.Describe(),
			Verdict: word,
			Summary: fmt.Sprintf("%s — resolver %s, order %s, %d DNS queries, %s.", why, pr.Resolver, pr.Order, pr.Queries, secs(pr.Total)),
			Charts:  []waterfall.Chart{waterfall.FromPrediction(pr.Program.Describe(), pr)},
			Notes:   pr.Notes,
		}
		s.Steps = waterfall.StepsOf(pr.Steps)
		p.Sections = append(p.Sections, s)
	}
	return p
}
