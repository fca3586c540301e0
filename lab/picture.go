package lab

import (
	"fmt"
	"strings"
	"time"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/waterfall"
)

// CheckChart draws a prediction and an observation on one time axis (the
// lookup's): the predicted series, the observed one aligned the way
// [Compare] aligns it, and the rows that have no counterpart in the other
// series flagged as differences.
func CheckChart(title string, p *model.Prediction, o Observation) waterfall.Chart {
	pred := waterfall.PredictionSeries("predicted", p)
	obs := ObservedSeries(p, o)
	waterfall.MarkDiffs(&pred, &obs)
	return waterfall.Chart{Title: title, Series: []waterfall.Series{pred, obs}, Deadline: p.Request.Deadline.Duration()}
}

// ObservedSeries is an observation as a series on the prediction's axis.
// The lab sees when each query arrived, not when the client gave up on
// it: an answered query is drawn as a short bar, an unanswered one until
// the client's next message for the same name and type (its resend or the
// next server) or the end of the lookup.
func ObservedSeries(p *model.Prediction, o Observation) waterfall.Series {
	// Total is measured from the lookup's start when the program reports
	// it; with AnchorFirst from the program's start, shortened by the shift
	// that aligns the first exchanges (as Compare does).
	shift := o.LookupStart
	total := o.Total
	if o.AnchorFirst && len(o.Exchanges) > 0 && len(p.Exchanges) > 0 {
		shift = (o.Exchanges[0].Start - p.Exchanges[0].Start).Duration()
		total -= shift
	}
	s := waterfall.Series{Name: "observed", End: total}
	for i, x := range o.Exchanges {
		start := x.Start.Duration() - shift
		end := start
		if waterfall.Class(x.Outcome) == waterfall.Silent {
			end = total
			for _, y := range o.Exchanges[i+1:] {
				if y.Name == x.Name && y.Type == x.Type {
					end = y.Start.Duration() - shift
					break
				}
			}
		}
		if end <= start {
			end = start + time.Millisecond
		}
		s.Rows = append(s.Rows, waterfall.Row{
			Server: x.Server, Name: x.Name, Type: x.Type, Transport: x.Transport,
			Start: start, End: end, Outcome: waterfall.Class(x.Outcome),
		})
	}
	switch {
	case o.Error != nil && *o.Error != "":
		s.Result = waterfall.Result{Kind: "failed", Text: *o.Error}
	case o.Succeeded != nil && *o.Succeeded:
		// No answer from any server: the name came from /etc/hosts.
		s.Result = waterfall.Result{Kind: "hosts", Text: "the program reported success; no server answered"}
		for _, r := range s.Rows {
			if r.Outcome == waterfall.Answered {
				s.Result = waterfall.Result{Kind: "dns", Text: "the program reported success"}
			}
		}
	case o.Succeeded != nil:
		s.Result = waterfall.Result{Kind: "failed", Text: "the program reported failure"}
	}
	return s
}

// RunChart draws a run without a prediction: every message the servers
// received, from the program's start, each unanswered one until the
// program's next message for the same name and type, and the moments the
// program printed a line (events).
func RunChart(res *Result) waterfall.Chart {
	s := waterfall.Series{End: res.Total.Duration()}
	xs := res.Exchanges()
	for i, x := range xs {
		end := x.Start.Duration() + time.Millisecond
		if waterfall.Class(x.Outcome) == waterfall.Silent {
			end = res.Total.Duration()
			for _, y := range xs[i+1:] {
				if y.Name == x.Name && y.Type == x.Type {
					end = y.Start.Duration()
					break
				}
			}
		}
		s.Rows = append(s.Rows, waterfall.Row{Server: x.Server, Name: x.Name, Type: x.Type, Transport: x.Transport,
			Start: x.Start.Duration(), End: end, Outcome: waterfall.Class(x.Outcome)})
	}
	switch res.Ended {
	case "timeout":
		s.Result = waterfall.Result{Kind: "failed", Text: "timed out; program killed"}
	case "until":
		s.Result = waterfall.Result{Text: "output matched --until; program stopped"}
	case EndedReady:
		s.Result = waterfall.Result{Kind: "dns", Text: fmt.Sprintf("ready at +%.1f s (%s answered)", res.Ready.Offset.Seconds(), res.Ready.URL)}
	default:
		kind := "dns"
		if res.ExitCode != 0 {
			kind = "failed"
		}
		s.Result = waterfall.Result{Kind: kind, Text: fmt.Sprintf("exit status %d", res.ExitCode)}
	}
	c := waterfall.Chart{Title: "DNS messages the lab's servers received", Series: []waterfall.Series{s}}
	for _, e := range res.FileEvents {
		c.Events = append(c.Events, waterfall.Event{At: e.Offset.Duration(), Kind: "read", Label: "read " + e.Path})
	}
	return c
}

// CheckView is a lab --check result for a page.
type CheckView struct {
	Program     model.Program
	Request     model.Request
	Prediction  *model.Prediction
	Observation Observation
	Comparison  Comparison
}

// Page is a run, and its check when there is one, as one HTML page: the
// run's files and servers, the observed waterfall, and for a check the
// predicted and observed waterfalls on one time axis with the differences
// flagged and listed.
func Page(res *Result, check *CheckView) waterfall.Page {
	p := waterfall.Page{
		Title:    "nsscope lab: " + strings.Join(append([]string{res.Program}, res.Argv[1:]...), " "),
		Subtitle: fmt.Sprintf("total %s, %d DNS messages, lab set-up %s", fmtSeconds(res.Total.Duration()), len(res.Queries), fmtSeconds(res.Setup.Duration())),
	}
	var servers []string
	for _, s := range res.Servers {
		servers = append(servers, s.Addr.String()+" "+s.Behavior)
	}
	p.Facts = append(p.Facts, waterfall.Fact{Label: "nameservers", Value: strings.Join(servers, ", ")})
	for _, f := range []model.File{res.ResolvConf, res.NSSwitch, res.Hosts} {
		p.Facts = append(p.Facts, waterfall.Fact{Label: f.Path, Value: describeSeen(f)})
	}
	if check != nil {
		verdict := "MATCH"
		summary := fmt.Sprintf("predicted %d DNS messages in %s, observed %d in %s; within %s.",
			check.Comparison.Predicted, fmtSeconds(check.Comparison.PredictedTotal.Duration()), check.Comparison.Observed, fmtSeconds(check.Comparison.ObservedTotal.Duration()), check.Comparison.Tolerance)
		if !check.Comparison.OK() {
			verdict = "MISMATCH"
		}
		sec := waterfall.Section{
			ID: "check", Heading: fmt.Sprintf("check: %s resolving %s", check.Program.Describe(), check.Request.Name),
			Verdict: verdict, Summary: summary,
			Charts: []waterfall.Chart{CheckChart("predicted and observed", check.Prediction, check.Observation)},
			Notes:  check.Comparison.Differences,
		}
		sec.Steps = waterfall.StepsOf(check.Prediction.Steps)
		p.Sections = append(p.Sections, sec)
	}
	run := waterfall.Section{ID: "run", Heading: "the run", Charts: []waterfall.Chart{RunChart(res)}}
	for _, l := range res.Output {
		run.Notes = append(run.Notes, fmt.Sprintf("+%s %s: %s", fmtSeconds(l.Offset.Duration()), l.Stream, l.Text))
	}
	p.Sections = append(p.Sections, run)
	return p
}
