package lab

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nsscope/nsscope/model"
)

// Fidelity is the lab's documented timing tolerance: an observed time
// matches a predicted one when they differ by at most max(50ms, 3%).
func Fidelity(predicted time.Duration) time.Duration {
	return max(50*time.Millisecond, predicted*3/100)
}

// burst is how close predicted exchanges must start to count as sent
// together (A and AAAA of one try; a resolver fanning out to all servers):
// within a burst the order is not compared, only the set.
const burst = 25 * time.Millisecond

// outcomes maps a server action to the model's exchange outcome.
var outcomes = map[string]string{
	"silent":    "timeout",
	"refuse":    "refused",
	"nxdomain":  "nxdomain",
	"servfail":  "servfail",
	"refused":   "refused-rcode",
	"nodata":    "nodata",
	"answer":    "answer",
	"truncated": "truncated",
}

// Exchanges converts the recorded queries to the model's vocabulary, so
// they can be compared with a prediction's. End and Attempt are unknown to
// the lab and left zero.
func (r *Result) Exchanges() []model.Exchange {
	xs := make([]model.Exchange, 0, len(r.Queries))
	for _, q := range r.Queries {
		xs = append(xs, QueryExchange(q))
	}
	return xs
}

// QueryExchange converts one recorded query to a model.Exchange.
func QueryExchange(q Query) model.Exchange {
	return model.Exchange{
		Start:     q.Offset,
		Server:    netip.AddrPortFrom(q.Server, 53).String(),
		Name:      q.Name,
		Type:      q.Type,
		Transport: q.Transport,
		Outcome:   outcomes[q.Action],
	}
}

// Observation is what a comparison needs to know about a run.
type Observation struct {
	// Exchanges are the messages the servers received, their Start an
	// offset from the program's start.
	Exchanges []model.Exchange
	// LookupStart is when the lookup began, as an offset from the
	// program's start, for programs that report it (the lab's probes);
	// exchange times are then taken from it, as the model's are.
	LookupStart time.Duration
	// AnchorFirst says the lookup's start is unknown (a program that does
	// not report it): the first observed exchange is then aligned with the
	// first predicted one, and Total shortened by the same shift. This
	// takes the program's own start-up time out of the comparison.
	AnchorFirst bool
	// Total is the lookup's (or dial's) duration as observed: from
	// LookupStart, or, with AnchorFirst, from the program's start.
	Total time.Duration
	// Succeeded tells whether the lookup succeeded; nil when unknown.
	Succeeded *bool
	// OutcomeFrom says what Succeeded was read from ("exit status 1",
	// "the line ... (--until-fail)"), for the difference it may cause.
	OutcomeFrom string
	// Addrs are the addresses the program printed as resolved; nil when
	// unknown, and then not compared. Compared as a set.
	Addrs []string
	// Error is the error text the program printed for the lookup ("" for
	// none); nil when unknown, and then not compared. The local address
	// and port of a socket ("read udp 127.0.0.1:53421->...") are compared
	// as the model writes them, "<local>".
	Error *string
	// Debug are the "go package net: ..." lines a Go program printed
	// (GODEBUG=netdns=...+2); nil when it printed none, and then not
	// compared.
	Debug []string
}

// localSocket matches the local end of a socket in Go's error texts.
var localSocket = regexp.MustCompile(`\b(udp|tcp)[46]? (\[[0-9A-Fa-f:.%a-z]+\]|[0-9.]+):[0-9]+->`)

// NormalizeError writes the local address and port of sockets in an error
// text as the model does ("read udp <local>->127.0.0.53:53"): they change
// on every run.
func NormalizeError(s string) string {
	return localSocket.ReplaceAllStringFunc(s, func(m string) string {
		proto, _, _ := strings.Cut(m, " ")
		return proto + " <local>->"
	})
}

// DebugLines picks the lines of Go's resolver debug output from a run's
// standard error; nil when there are none.
func DebugLines(out []Line) []string {
	var ls []string
	for _, l := range out {
		if l.Stream == "stderr" && strings.HasPrefix(l.Text, "go package net: ") {
			ls = append(ls, l.Text)
		}
	}
	return ls
}

// Comparison is the outcome of comparing a prediction with an observation.
type Comparison struct {
	Predicted int `json:"predicted_exchanges"`
	Observed  int `json:"observed_exchanges"`
	// Differences lists every mismatch, one line each; empty means the
	// observation matches the prediction.
	Differences    []string      `json:"differences"`
	PredictedTotal model.Seconds `json:"predicted_total_seconds"`
	ObservedTotal  model.Seconds `json:"observed_total_seconds"`
	Tolerance      model.Seconds `json:"tolerance_seconds"`
	// ObservedResult says what the run showed of the lookup's outcome and
	// where it was read ("failed (read from the line ... (--until-fail));
	// error: ..."), "" when the outcome is unknown and not compared.
	ObservedResult string `json:"-"`
}

// OK reports whether nothing differs.
func (c Comparison) OK() bool { return len(c.Differences) == 0 }

// key identifies an exchange for comparison: what was asked, of whom, how.
// A TCP connection refused by the server carries no message, so neither
// the lab nor anyone else can see its name and type: such an exchange
// (observed: recorded without a name; predicted: outcome "refused" over
// TCP) is identified by transport and server alone.
func key(x model.Exchange) string {
	if x.Transport == "tcp" && (x.Name == "" || x.Outcome == "refused") {
		return "tcp " + x.Server + " (connection refused)"
	}
	return x.Transport + " " + x.Server + " " + x.Type + " " + x.Name
}

// Compare holds the observation to the prediction. The exchanges must be
// the same messages in the same order, where predicted exchanges starting
// within 25ms of each other form a burst compared as a set (A and AAAA sent
// together, a fan-out to all servers); each burst must start within the
// timing tolerance of its predicted start; the total must be within
// Fidelity(predicted total); success or failure must agree when known; the
// error text, when known, must be the predicted one; and Go's debug output,
// when the program printed it, must be the predicted.
func Compare(p *model.Prediction, o Observation) Comparison {
	pred := append([]model.Exchange(nil), p.Exchanges...)
	sort.SliceStable(pred, func(i, j int) bool { return pred[i].Start < pred[j].Start })
	obs := append([]model.Exchange(nil), o.Exchanges...)
	sort.SliceStable(obs, func(i, j int) bool { return obs[i].Start < obs[j].Start })
	shift := o.LookupStart
	if o.AnchorFirst {
		shift = 0
		if len(obs) > 0 && len(pred) > 0 && obs[0].Start > pred[0].Start {
			shift = (obs[0].Start - pred[0].Start).Duration()
		}
		o.Total -= shift
	}
	for i := range obs {
		obs[i].Start -= model.Seconds(shift)
	}
	c := Comparison{
		Predicted:      len(pred),
		Observed:       len(obs),
		PredictedTotal: p.Total,
		ObservedTotal:  model.Seconds(o.Total),
		Tolerance:      model.Seconds(Fidelity(p.Total.Duration())),
		Differences:    []string{},
	}
	diff := func(format string, args ...any) {
		c.Differences = append(c.Differences, fmt.Sprintf(format, args...))
	}
	if raced(p) {
		compareRace(p, pred, obs, diff)
		finishCompare(&c, p, o, diff)
		return c
	}
	if len(pred) != len(obs) {
		diff("exchanges: predicted %d, observed %d", len(pred), len(obs))
	}
	// Walk the predicted bursts and take as many observed exchanges for each.
	oi, pi := 0, 0
	for _, want := range Bursts(pred) {
		pj := pi + len(want)
		got := obs[oi:min(oi+len(want), len(obs))]
		if !sameKeys(want, got) {
			diff("exchanges %d-%d: predicted %s; observed %s", pi+1, pj, describe(want), describe(got))
			// Report the first divergence only: after it, every later
			// burst would be misaligned and repeat the same news.
			finishCompare(&c, p, o, diff)
			return c
		}
		if tol := Fidelity(want[0].Start.Duration()); absDur((got[0].Start - want[0].Start).Duration()) > tol {
			diff("exchanges %d-%d (%s): predicted at %s, observed at %s (tolerance %s)",
				pi+1, pj, want[0].Type+" "+want[0].Name+" to "+want[0].Server, fmtOffset(want[0].Start.Duration()), fmtOffset(got[0].Start.Duration()), tol)
		}
		oi += len(want)
		pi = pj
	}
	if oi < len(obs) {
		diff("unpredicted exchanges %d-%d: %s", oi+1, len(obs), describe(obs[oi:]))
	}
	finishCompare(&c, p, o, diff)
	return c
}

// raced reports whether the prediction is a race (model.Prediction.QueriesRange,
// model.Exchange.Race).
func raced(p *model.Prediction) bool {
	if p.QueriesRange != nil {
		return true
	}
	for _, x := range p.Exchanges {
		if x.Race != "" {
			return true
		}
	}
	return false
}

// compareRace holds the observation to a racy prediction: the count must
// be within the bound, every exchange the prediction does not mark as
// racy must have been sent, and every other observed exchange must be one
// the race allows (a racy message may go to any of the servers). Order and
// burst timing are not compared; the total is.
func compareRace(p *model.Prediction, pred, obs []model.Exchange, diff func(string, ...any)) {
	lo, hi := len(pred), len(pred)
	if p.QueriesRange != nil {
		lo, hi = p.QueriesRange[0], p.QueriesRange[1]
	}
	if len(obs) < lo || len(obs) > hi {
		diff("exchanges: predicted between %d and %d (a race), observed %d", lo, hi, len(obs))
	}
	left := map[string]int{}
	for _, x := range obs {
		left[key(x)]++
	}
	var missing []model.Exchange
	racy := map[string]bool{}
	for _, x := range pred {
		if x.Race != "" {
			racy[x.Transport+" "+x.Type+" "+x.Name] = true
			continue
		}
		if left[key(x)] == 0 {
			missing = append(missing, x)
			continue
		}
		left[key(x)]--
	}
	if len(missing) > 0 {
		diff("exchanges: predicted %s (in every run of the race), not observed", describe(missing))
	}
	servers := map[string]bool{}
	for _, s := range p.Servers {
		servers[s] = true
	}
	var extra []model.Exchange
	for _, x := range obs {
		k := key(x)
		if left[k] == 0 {
			continue
		}
		left[k]--
		if !racy[x.Transport+" "+x.Type+" "+x.Name] || !servers[x.Server] {
			extra = append(extra, x)
		}
	}
	if len(extra) > 0 {
		diff("exchanges: observed %s, which the race does not allow", describe(extra))
	}
}

func finishCompare(c *Comparison, p *model.Prediction, o Observation, diff func(string, ...any)) {
	if absDur(o.Total-p.Total.Duration()) > c.Tolerance.Duration() {
		diff("total time: predicted %s, observed %s (tolerance %s)", fmtDur(p.Total.Duration()), fmtDur(o.Total), c.Tolerance)
	}
	if o.Error != nil && NormalizeError(*o.Error) != p.Error {
		diff("error text: predicted %q, observed %q", p.Error, *o.Error)
	}
	if o.Debug != nil && !slices.Equal(o.Debug, p.Debug) {
		diff("debug output: predicted %q, observed %q", p.Debug, o.Debug)
	}
	c.ObservedResult = observedResult(o)
	if o.Succeeded != nil {
		predOK := p.Error == ""
		from := ""
		if o.OutcomeFrom != "" {
			from = " (read from " + o.OutcomeFrom + ")"
		}
		switch {
		case predOK && !*o.Succeeded:
			diff("result: predicted success (from %s), observed failure%s", p.AnsweredFrom, from)
		case !predOK && *o.Succeeded:
			diff("result: predicted failure (%s), observed success%s", p.Error, from)
		}
	}
	if o.Addrs != nil && p.Error == "" && !sameAddrs(o.Addrs, p.Addrs) {
		diff("addresses: predicted %s, observed %s", strings.Join(p.Addrs, " "), strings.Join(o.Addrs, " "))
	}
}

// observedResult says what an observation tells of the outcome: the
// result and where it was read, the error text when one was read.
func observedResult(o Observation) string {
	var parts []string
	if o.Succeeded != nil {
		r := "succeeded"
		if !*o.Succeeded {
			r = "failed"
		}
		if o.OutcomeFrom != "" {
			r += " (read from " + o.OutcomeFrom + ")"
		}
		parts = append(parts, r)
	}
	if o.Error != nil && *o.Error != "" {
		parts = append(parts, "error: "+*o.Error)
	}
	return strings.Join(parts, "; ")
}

// Bursts splits exchanges, in the order they were sent, into bursts: a
// burst is an exchange and those after it that start within 25ms of it (A
// and AAAA sent together, a fan-out to every server).
func Bursts(xs []model.Exchange) [][]model.Exchange {
	var out [][]model.Exchange
	for i := 0; i < len(xs); {
		j := i + 1
		for j < len(xs) && (xs[j].Start-xs[i].Start).Duration() <= burst {
			j++
		}
		out = append(out, xs[i:j:j])
		i = j
	}
	return out
}

// SameMessages reports whether got holds want's messages (transport,
// server, type and name) burst by burst of want (see Bursts), the order
// within a burst aside. When it does not, first and last number (from 1)
// the exchanges of want's first burst that differs.
func SameMessages(want, got []model.Exchange) (ok bool, first, last int) {
	i := 0
	for _, b := range Bursts(want) {
		if !sameKeys(b, got[min(i, len(got)):min(i+len(b), len(got))]) {
			return false, i + 1, i + len(b)
		}
		i += len(b)
	}
	if len(got) > len(want) {
		return false, len(want) + 1, len(got)
	}
	return true, 0, 0
}

func sameKeys(a, b []model.Exchange) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, x := range a {
		count[key(x)]++
	}
	for _, x := range b {
		count[key(x)]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

func describe(xs []model.Exchange) string {
	if len(xs) == 0 {
		return "nothing"
	}
	parts := make([]string, 0, len(xs))
	for _, x := range xs {
		what := x.Type + " " + x.Name
		if x.Name == "" {
			what = "connection"
		}
		parts = append(parts, fmt.Sprintf("%s %s to %s at %s", x.Transport, what, x.Server, fmtOffset(x.Start.Duration())))
	}
	if len(parts) > 8 {
		parts = append(parts[:8], fmt.Sprintf("... (%d more)", len(parts)-8))
	}
	return strings.Join(parts, ", ")
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func fmtOffset(d time.Duration) string { return "+" + fmtDur(d) }

// fmtDur renders a duration in seconds with millisecond precision.
func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.3fs", d.Seconds())
}
