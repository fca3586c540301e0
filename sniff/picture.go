package sniff

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/waterfall"
)

// MaxPageExchanges bounds the exchanges an HTML page draws; the summary
// still counts every one.
const MaxPageExchanges = 5000

// outcome is an exchange's class on a waterfall.
func outcome(x Exchange) string {
	switch {
	case x.Unanswered:
		return waterfall.Silent
	case x.Truncated:
		return waterfall.Truncate
	}
	switch x.Rcode {
	case "NOERROR":
		if len(x.Answers) == 0 {
			return waterfall.NoData
		}
		return waterfall.Answered
	case "NXDOMAIN":
		return waterfall.NXDomain
	case "SERVFAIL":
		return waterfall.ServFail
	case "REFUSED":
		return waterfall.Refused
	}
	return waterfall.Pending
}

// Page draws a capture as one HTML page: one waterfall per process (on
// one time axis from the first query seen), each exchange a bar from the
// query to its answer or to the sender's timeout, then the summary and,
// with --explain, the model's prediction beside each capture.
func Page(xs []Exchange, sum *Summary) waterfall.Page {
	p := waterfall.Page{Title: "nsscope sniff", Subtitle: fmt.Sprintf("DNS captured over %.1f s", sum.Duration.Seconds())}
	if len(xs) > MaxPageExchanges {
		p.Facts = append(p.Facts, waterfall.Fact{Label: "note", Value: fmt.Sprintf("more than %d exchanges: the first %d are drawn; the summary counts every one", MaxPageExchanges, MaxPageExchanges)})
		xs = xs[:MaxPageExchanges]
	}
	if len(xs) == 0 {
		p.Facts = append(p.Facts, waterfall.Fact{Label: "capture", Value: "no DNS exchange seen"})
	}
	var t0 = sum.Start
	for _, x := range xs {
		if t0.IsZero() || x.Time.Before(t0) {
			t0 = x.Time
		}
	}
	groups := map[string]*waterfall.Series{}
	var order []string
	for _, x := range xs {
		key := "unattributed"
		if x.Process != nil {
			key = fmt.Sprintf("%s[%d]", x.Process.Comm, x.Process.PID)
		}
		s, ok := groups[key]
		if !ok {
			s = &waterfall.Series{Name: key}
			groups[key] = s
			order = append(order, key)
		}
		start := x.Time.Sub(t0)
		end := start + x.Latency
		if x.Unanswered {
			end = start + x.Timeout
		}
		row := waterfall.Row{Server: x.Server.String(), Name: x.Name, Type: x.Type, Transport: x.Transport,
			Start: start, End: end, Outcome: outcome(x)}
		if x.AttrError != "" {
			row.Note = "not attributed: " + x.AttrError
		}
		s.Rows = append(s.Rows, row)
		s.End = max(s.End, end)
	}
	sort.Strings(order)
	for _, k := range order {
		s := *groups[k]
		p.Sections = append(p.Sections, waterfall.Section{ID: "p-" + k, Heading: k,
			Summary: fmt.Sprintf("%d exchange(s)", len(s.Rows)),
			Charts:  []waterfall.Chart{{Title: k, Series: []waterfall.Series{s}}}})
	}
	for i, e := range sum.Explanations {
		if e.Predicted == nil || e.Process == nil {
			continue
		}
		obs := capturedLookup(xs, e)
		p.Sections = append(p.Sections, waterfall.Section{
			ID: fmt.Sprintf("explain-%d", i+1), Heading: fmt.Sprintf("explain %s[%d]: %s", e.Process.Comm, e.Process.PID, e.Name),
			Summary: e.Binary + ": " + e.Verdict,
			Charts:  []waterfall.Chart{lab.CheckChart("predicted and captured", e.Predicted, obs)},
		})
	}
	var b bytes.Buffer
	WriteSummary(&b, sum)
	if len(sum.Explanations) > 0 {
		WriteExplanations(&b, sum.Explanations)
	}
	p.Sections = append(p.Sections, waterfall.Section{ID: "summary", Heading: "summary", Pre: b.String()})
	return p
}

// capturedLookup is the capture of one explained lookup as the lab's
// observation: the process's queries for the name (and its search-list
// expansions), aligned on the first one as the lab aligns programs that
// do not report when their lookup starts.
func capturedLookup(xs []Exchange, e Explanation) lab.Observation {
	prefix := strings.TrimSuffix(e.Name, ".") + "."
	var obs lab.Observation
	obs.AnchorFirst = true
	var t0 time.Time
	for _, x := range xs {
		if x.Process == nil || x.Process.PID != e.Process.PID || !strings.HasPrefix(x.Name, prefix) {
			continue
		}
		if t0.IsZero() {
			t0 = x.Time
		}
		obs.Exchanges = append(obs.Exchanges, model.Exchange{Start: model.Seconds(x.Time.Sub(t0)), Server: x.Server.String(),
			Name: x.Name, Type: x.Type, Transport: x.Transport, Outcome: outcome(x)})
	}
	obs.Total = e.CapturedSpan
	return obs
}
