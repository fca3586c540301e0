package lab

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// Which of Spec's patterns ended the run (Matched.Pattern).
const (
	PatternUntil     = "until"      // Spec.Until: ends the run, says nothing of the outcome
	PatternUntilOK   = "until-ok"   // Spec.UntilOK: the line means the lookup succeeded
	PatternUntilFail = "until-fail" // Spec.UntilFail: the line means it failed
)

// Matched is the output line that ended a run.
type Matched struct {
	Pattern string `json:"pattern"`
	Stream  string `json:"stream"`
	Text    string `json:"text"`
}

// untilPattern is one of the patterns that end a run.
type untilPattern struct {
	name string
	re   *regexp.Regexp
}

// untilPatterns compiles the spec's run-ending patterns; an outcome-
// bearing pattern is tried before the neutral Until, so a line matching
// both says what it means.
func untilPatterns(spec Spec) ([]untilPattern, error) {
	var ps []untilPattern
	for _, p := range []struct{ name, expr string }{
		{PatternUntilFail, spec.UntilFail}, {PatternUntilOK, spec.UntilOK}, {PatternUntil, spec.Until},
	} {
		if p.expr == "" {
			continue
		}
		re, err := regexp.Compile(p.expr)
		if err != nil {
			return nil, inputErrorf("--%s: %v", p.name, err)
		}
		ps = append(ps, untilPattern{p.name, re})
	}
	return ps, nil
}

// Reading says how to read a lookup's outcome from what the program
// printed, for programs whose exit status is not the lookup's (busybox
// wget exits 1 after a successful lookup when the connection fails).
// Every field is a regular expression; "" is unused.
type Reading struct {
	// OK and Fail match a line that means the lookup succeeded or failed
	// (Spec.UntilOK and UntilFail also end the run on it).
	OK   string `json:"ok,omitempty"`
	Fail string `json:"fail,omitempty"`
	// Error finds the program's error text for the lookup: its first
	// capture group, or the whole match when it has none.
	Error string `json:"error,omitempty"`
	// Addrs finds the addresses the program resolved: every capture group
	// (or the whole match) of every matching line that parses as an IP
	// address.
	Addrs string `json:"addrs,omitempty"`
}

// compiled is a Reading with its expressions compiled.
type compiled struct{ ok, fail, err, addrs *regexp.Regexp }

func (rd Reading) compile() (compiled, error) {
	var c compiled
	for _, f := range []struct {
		flag, expr string
		dst        **regexp.Regexp
	}{{"ok-if", rd.OK, &c.ok}, {"fail-if", rd.Fail, &c.fail}, {"error-from", rd.Error, &c.err}, {"addrs-from", rd.Addrs, &c.addrs}} {
		if f.expr == "" {
			continue
		}
		re, err := regexp.Compile(f.expr)
		if err != nil {
			return c, inputErrorf("--%s: %v", f.flag, err)
		}
		*f.dst = re
	}
	return c, nil
}

// Check reports a Reading whose expressions do not compile.
func (rd Reading) Check() error { _, err := rd.compile(); return err }

// Observe turns a run into the observation a check compares: the
// exchanges, the total time (the first exchanges aligned with the
// prediction's, as a program does not say when its lookup starts), Go's
// debug lines, and the lookup's outcome, error text and addresses read
// as rd says (see Outcome).
func Observe(res *Result, rd Reading) (Observation, error) {
	c, err := rd.compile()
	if err != nil {
		return Observation{}, err
	}
	obs := Observation{Exchanges: res.Exchanges(), Total: res.Total.Duration(), AnchorFirst: true, Debug: DebugLines(res.Output)}
	obs.Succeeded, obs.OutcomeFrom = outcome(res, c)
	if c.err != nil {
		if text, ok := firstCapture(res.Output, c.err); ok {
			obs.Error = &text
		} else if obs.Succeeded != nil && *obs.Succeeded {
			none := ""
			obs.Error = &none // succeeded and printed no error: none to compare
		}
	}
	if c.addrs != nil {
		if as := captureAddrs(res.Output, c.addrs); len(as) > 0 {
			obs.Addrs = as
		}
	}
	return obs, nil
}

// outcome decides whether the lookup succeeded, and says from what. The
// rules, first that applies:
//
//  1. the line that ended the run (Spec.UntilOK, Spec.UntilFail);
//  2. the first output line matching OK or Fail;
//  3. a program that exited when only Fail was given and no line matched
//     succeeded (the user said what failure looks like); when only OK was
//     given, it failed;
//  4. a program that exited: its exit status (0 is success);
//  5. otherwise (a run ended by the neutral Until, or timed out) the
//     outcome is unknown and not compared.
func outcome(res *Result, c compiled) (*bool, string) {
	yes, no := true, false
	if m := res.Matched; m != nil {
		switch m.Pattern {
		case PatternUntilOK:
			return &yes, fmt.Sprintf("the line %q (--until-ok)", m.Text)
		case PatternUntilFail:
			return &no, fmt.Sprintf("the line %q (--until-fail)", m.Text)
		}
	}
	for _, l := range res.Output {
		switch {
		case c.fail != nil && c.fail.MatchString(l.Text):
			return &no, fmt.Sprintf("the line %q (--fail-if)", l.Text)
		case c.ok != nil && c.ok.MatchString(l.Text):
			return &yes, fmt.Sprintf("the line %q (--ok-if)", l.Text)
		}
	}
	if res.Ended != "exit" {
		return nil, ""
	}
	switch {
	case c.fail != nil && c.ok == nil:
		return &yes, "no line matched --fail-if"
	case c.ok != nil && c.fail == nil:
		return &no, "no line matched --ok-if"
	}
	ok := res.ExitCode == 0
	return &ok, fmt.Sprintf("exit status %d", res.ExitCode)
}

// firstCapture returns the first capture group (or the whole match) of
// the first line re matches.
func firstCapture(ls []Line, re *regexp.Regexp) (string, bool) {
	for _, l := range ls {
		m := re.FindStringSubmatch(l.Text)
		switch {
		case m == nil:
			continue
		case len(m) > 1:
			return strings.TrimSpace(m[1]), true
		default:
			return strings.TrimSpace(m[0]), true
		}
	}
	return "", false
}

// captureAddrs collects the IP addresses re captures over every line,
// each once, in the order printed.
func captureAddrs(ls []Line, re *regexp.Regexp) []string {
	var out []string
	for _, l := range ls {
		for _, m := range re.FindAllStringSubmatch(l.Text, -1) {
			groups := m[1:]
			if len(groups) == 0 {
				groups = m[:1]
			}
			for _, g := range groups {
				a, err := netip.ParseAddr(strings.Trim(g, "[]"))
				if err != nil {
					continue
				}
				if s := a.String(); !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// sameAddrs compares address lists as sets.
func sameAddrs(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}
