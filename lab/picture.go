package lab

import (
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
	return waterfall.Chart{Title: title, Series: []waterfall.Series{pred, obs}, Deadline: p.Request.Deadline}
}

// ObservedSeries is an observation as a series on the prediction's axis.
// The lab sees when each query arrived, not when the client gave up on
// it: an answered query is drawn as a short bar, an unanswered one until
// the client's next message for the same name and type (its resend or the
// next server) or the end of the lookup.
func ObservedSeries(p *model.Prediction, o Observation) waterfall.Series {
	shift := o.LookupStart
	total := o.Total
	if o.AnchorFirst && len(o.Exchanges) > 0 && len(p.Exchanges) > 0 {
		shift = o.Exchanges[0].Start - p.Exchanges[0].Start
	}
	s := waterfall.Series{Name: "observed", End: total}
	for i, x := range o.Exchanges {
		start := x.Start - shift
		end := start
		if waterfall.Class(x.Outcome) == waterfall.Silent {
			end = total
			for _, y := range o.Exchanges[i+1:] {
				if y.Name == x.Name && y.Type == x.Type {
					end = y.Start - shift
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
