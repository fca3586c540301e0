// Package explain runs the resolver model for one or more programs in one
// environment and renders the answer for people (text) and programs
// (JSON). It is what `nsscope explain` prints.
package explain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nsscope/nsscope/model"
)

// SchemaVersion is the version of the JSON document written by WriteJSON.
const SchemaVersion = 2

// Input is what to explain.
type Input struct {
	// EnvLabel describes where the environment came from ("this host").
	EnvLabel string
	Env      model.Env
	// Programs to predict, shown side by side; none means the typical
	// programs for Libc (model.Typical). A cgo Go program whose libc is
	// unknown calls the environment's (Libc).
	Programs []model.Program
	Request  model.Request
	Scenario model.Scenario
	// Libc is the environment's C library (zero: unknown).
	Libc model.Libc
	// Assumptions say what was assumed about the environment (the
	// runtime that injects /etc/resolv.conf and /etc/hosts), in the words
	// scan uses (scan.Files.Assumptions).
	Assumptions []string
	// ToolVersion is the nsscope version the JSON document names.
	ToolVersion string
}

// Result is the answer for every program.
type Result struct {
	Input       Input
	Predictions []*model.Prediction
}

// Run predicts every program.
func Run(in Input) (*Result, error) {
	if len(in.Programs) == 0 {
		in.Programs = model.Typical(in.Libc)
	}
	in.Programs = slices.Clone(in.Programs)
	for i, p := range in.Programs {
		if p.Impl == model.ImplGo && p.Go.Cgo && !p.Libc.Known() {
			in.Programs[i].Libc = in.Libc
		}
	}
	r := &Result{Input: in}
	for _, p := range in.Programs {
		p.Label = p.Describe() // the one label, in text, HTML and JSON alike
		pr, err := model.Predict(in.Env, p, in.Request, in.Scenario)
		if err != nil {
			return nil, err
		}
		r.Predictions = append(r.Predictions, pr)
	}
	return r, nil
}

// Verdict summarises one prediction in a few words and a severity:
// "fails" (an error, or the deadline reached), "slow" (DNS asked before a
// name /etc/hosts answers, and that costs time, or more than a second
// spent), "ok". DNS asked first at no cost (every server answers at once,
// e.g. refuses) is "ok", and the why says what it cost and what silent
// servers would change.
func Verdict(p *model.Prediction) (word, why string) {
	d := p.Request.Deadline
	switch {
	case p.DeadlineExceeded:
		why = fmt.Sprintf("the %s deadline is reached after %s DNS queries", secs(d), QueriesText(p))
		if p.Error == "" {
			why += "; the lookup itself would take " + secs(p.Total)
		}
		return "FAILS", why
	case p.Error != "":
		return "FAILS", "after " + secs(p.Total) + ": " + p.Error
	case p.AnsweredFrom == model.FromHosts && p.Queries > 0 && p.DNS.Duration() < time.Millisecond:
		return "OK", fmt.Sprintf("/etc/hosts answers after %d DNS queries that cost no wait (%s); silent nameservers would make each one wait", p.Queries, outcomeCounts(p.Exchanges))
	case p.AnsweredFrom == model.FromHosts && p.Queries > 0:
		return "SLOW", fmt.Sprintf("/etc/hosts answers only after %s DNS queries and %s waiting for DNS (%s)", QueriesText(p), secs(p.DNS), outcomeCounts(p.Exchanges))
	case p.Total >= 1e9:
		return "SLOW", "answered from " + p.AnsweredFrom + " after " + secs(p.Total)
	}
	return "OK", fmt.Sprintf("answered from %s in %s with %s DNS queries", p.AnsweredFrom, secs(p.Total), QueriesText(p))
}

// QueriesText is the number of DNS queries as a sentence says it: "12", or
// "between 6 and 10" when the count is a race.
func QueriesText(p *model.Prediction) string {
	if r := p.QueriesRange; r != nil && r[0] != r[1] {
		return fmt.Sprintf("between %d and %d", r[0], r[1])
	}
	return fmt.Sprint(p.Queries)
}

// outcomeCounts says how the queries ended: "12 refused", "4 timeout, 2
// nxdomain", in order of first appearance.
func outcomeCounts(ex []model.Exchange) string {
	var order []string
	n := map[string]int{}
	for _, e := range ex {
		o := e.Outcome
		if o == "refused" {
			o = "refused (ICMP port unreachable)"
		}
		if n[o] == 0 {
			order = append(order, o)
		}
		n[o]++
	}
	parts := make([]string, len(order))
	for i, o := range order {
		parts[i] = fmt.Sprintf("%d %s", n[o], o)
	}
	return strings.Join(parts, ", ")
}

func secs(d interface{ Seconds() float64 }) string {
	s := fmt.Sprintf("%.3f", d.Seconds())
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" {
		s = "0"
	}
	return s + " s"
}
