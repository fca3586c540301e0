// Package waterfall draws lookups as timelines: one row per DNS exchange, a
// bar from the moment the query was sent to its answer or timeout, the
// caller's deadline as a vertical line, and the moment the lookup ended
// (answered from /etc/hosts, from DNS, or failed).
//
// A [Chart] is plain data; [WriteSVG] renders it as inline SVG for the HTML
// pages (every element a test or a user's tooling may look for carries a
// data-kind attribute), and [WriteText] as a compact terminal waterfall whose
// bars scale to the terminal width. [Page] composes charts, reason chains and
// tables into one self-contained HTML file.
package waterfall

import (
	"fmt"
	"time"

	"github.com/nsscope/nsscope/model"
)

// Outcome classes, one colour and one pattern each.
const (
	Answered = "answer"
	NXDomain = "nxdomain"
	NoData   = "nodata"
	ServFail = "servfail"
	Refused  = "refused"   // ICMP port unreachable or rcode REFUSED
	Silent   = "timeout"   // no reply within the resolver's timeout
	Truncate = "truncated" // TC set: the client goes on over TCP
	Cancel   = "cancelled" // the caller gave up first
	Pending  = "pending"   // no reply when the observation ended
)

// Class maps an exchange outcome as the model or the lab spells it to one
// of the outcome classes above.
func Class(outcome string) string {
	switch outcome {
	case "answer", "answered", "noerror":
		return Answered
	case "nxdomain":
		return NXDomain
	case "nodata":
		return NoData
	case "servfail":
		return ServFail
	case "refused", "refused-rcode", "refuse":
		return Refused
	case "timeout", "silent", "unanswered":
		return Silent
	case "truncated", "truncate":
		return Truncate
	case "cancelled", "canceled":
		return Cancel
	}
	return Pending
}

// Row is one exchange.
type Row struct {
	Server    string // "10.222.0.3:53"
	Name      string // "localhost."
	Type      string // "A", "AAAA"
	Transport string // "udp", "tcp"
	Attempt   int    // 1-based; 0 unknown
	Start     time.Duration
	End       time.Duration // End <= Start: at once (a refusal, an instant reply)
	Outcome   string        // one of the outcome classes
	// Diff marks a row that differs from the other series (lab --check).
	Diff bool
	// Note is shown as the row's tooltip in addition to the generated text.
	Note string
}

// Label is the row's text: server, type, name and attempt.
func (r Row) Label() string {
	s := fmt.Sprintf("%s %s %s", r.Server, r.Type, r.Name)
	if r.Transport == "tcp" {
		s += " tcp"
	}
	if r.Attempt > 0 {
		s += fmt.Sprintf(" #%d", r.Attempt)
	}
	return s
}

// Series is one set of rows on the chart's time axis: the prediction, or
// what was observed.
type Series struct {
	Name string // "predicted", "observed", or empty for a lone series
	Rows []Row
	// End is when the lookup ended in this series, with its result.
	End    time.Duration
	Result Result
}

// Result is how a lookup ended.
type Result struct {
	// Kind: "hosts" (answered from /etc/hosts), "dns" (answered by DNS),
	// "failed" (an error), "deadline" (the caller's deadline cut it), or
	// empty when unknown.
	Kind string
	Text string // "answered from /etc/hosts 127.0.0.1", the error text, ...
}

// Event is a moment on the axis other than an exchange: process start, a
// dial, ready, exit.
type Event struct {
	At    time.Duration
	Kind  string // a short word used as data-event: "start", "dial", "ready", "exit"
	Label string
}

// Chart is one timeline.
type Chart struct {
	Title string
	// Series share one time axis; most charts have one.
	Series []Series
	// Deadline is the caller's deadline from the start of the lookup; zero
	// means none.
	Deadline time.Duration
	Events   []Event
}

// Span is the length of the time axis: the last thing drawn, and at least
// the deadline, never zero.
func (c Chart) Span() time.Duration {
	span := c.Deadline
	for _, s := range c.Series {
		span = max(span, s.End)
		for _, r := range s.Rows {
			span = max(span, r.End, r.Start)
		}
	}
	for _, e := range c.Events {
		span = max(span, e.At)
	}
	if span <= 0 {
		span = time.Second
	}
	return span
}

// Exchanges counts the rows of every series.
func (c Chart) Exchanges() int {
	n := 0
	for _, s := range c.Series {
		n += len(s.Rows)
	}
	return n
}

// FromPrediction draws one prediction: its exchanges, the caller's
// deadline, and how the lookup ended.
func FromPrediction(title string, p *model.Prediction) Chart {
	return Chart{
		Title:    title,
		Series:   []Series{PredictionSeries("", p)},
		Deadline: p.Request.Deadline.Duration(),
	}
}

// PredictionSeries is a prediction's rows and result as one series.
func PredictionSeries(name string, p *model.Prediction) Series {
	s := Series{Name: name, End: p.Total.Duration(), Result: predictionResult(p)}
	for _, e := range p.Exchanges {
		s.Rows = append(s.Rows, Row{
			Server: e.Server, Name: e.Name, Type: e.Type, Transport: e.Transport,
			Attempt: e.Attempt, Start: e.Start.Duration(), End: e.End.Duration(), Outcome: Class(e.Outcome),
			Note: raceNote(e.Race),
		})
	}
	return s
}

func predictionResult(p *model.Prediction) Result {
	switch {
	case p.DeadlineExceeded:
		return Result{Kind: "deadline", Text: p.Error}
	case p.Error != "":
		return Result{Kind: "failed", Text: p.Error}
	case p.AnsweredFrom == model.FromHosts:
		return Result{Kind: "hosts", Text: "answered from /etc/hosts " + joinAddrs(p.Addrs)}
	case p.AnsweredFrom == model.FromDNS:
		return Result{Kind: "dns", Text: "answered by DNS " + joinAddrs(p.Addrs)}
	}
	return Result{}
}

func joinAddrs(a []string) string {
	s := ""
	for i, x := range a {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}

// MarkDiffs flags, in two series, the rows that have no counterpart in the
// other (same server, name, type and transport, in order of appearance).
// It returns how many rows were flagged.
func MarkDiffs(a, b *Series) int {
	type key struct{ server, name, typ, transport string }
	count := func(rows []Row) map[key][]int {
		m := map[key][]int{}
		for i, r := range rows {
			k := key{r.Server, r.Name, r.Type, r.Transport}
			m[k] = append(m[k], i)
		}
		return m
	}
	ma, mb := count(a.Rows), count(b.Rows)
	n := 0
	flag := func(rows []Row, mine, other map[key][]int) {
		for k, idx := range mine {
			for j, i := range idx {
				if j >= len(other[k]) {
					rows[i].Diff = true
					n++
				}
			}
		}
	}
	flag(a.Rows, ma, mb)
	flag(b.Rows, mb, ma)
	return n
}

func raceNote(r string) string {
	if r == "" {
		return ""
	}
	return "race: " + r
}
