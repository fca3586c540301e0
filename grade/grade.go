// Package grade gives a verdict for every program of a target (a host, a
// root filesystem, an image) that resolves host names: for each name to
// check it runs the resolver model with every nameserver silent and the
// caller's deadline, and grades the outcome.
//
//   - critical: a name /etc/hosts would answer goes to DNS first, and the
//     worst case reaches the deadline or fails (so /etc/hosts never gets
//     its turn);
//   - warning: DNS first, but the lookup still ends within the deadline
//     with the /etc/hosts answer; or the outcome depends on something the
//     binary does not tell (the variants disagree);
//   - info: safe: /etc/hosts answers without any DNS, or the name is not in
//     /etc/hosts at all (only DNS can answer it; the time is reported).
//
// Every finding carries its reason chain (binary facts, then the model's
// decisions with the file lines that made them) and concrete fixes whose
// "after" time comes from re-running the model with the fix applied.
//
// The package is pure apart from reading the target's files through the
// sysenv.Reader it is given: the runtime's files are built from the
// assumptions in [Runtime], and the model does no I/O.
package grade

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/sysenv"
)

// DefaultDeadline is client-go's dial timeout, the deadline that turned a
// slow localhost lookup into a dead kube-apiserver.
const DefaultDeadline = 30 * time.Second

// DefaultNames are the names checked when none are given.
func DefaultNames() []string { return []string{"localhost"} }

// Program is one binary of the target, as the model sees it.
type Program struct {
	// Path is the binary's path inside the target ("/usr/bin/esbuild").
	Path string
	// Main marks the image's main process (Entrypoint/Cmd).
	Main bool
	// Facts are what the inspection found, each with its evidence ("Go
	// 1.15.7 (build info)", "static, no cgo resolver (CGO_ENABLED=0)").
	Facts []string
	// Variants are the programs the binary may be. One when everything
	// that matters is known; several when a fact is unknown (each variant
	// says what it assumes); none when the model cannot describe it, and
	// Unknown then says why.
	Variants []Variant
	Unknown  string
	// CannotStart says why the program cannot start in its image (its
	// loader or a library it needs is missing, e.g. a glibc program in a
	// musl image); such a program is critical whatever its resolver.
	CannotStart string
}

// Variant is one possible reading of a binary.
type Variant struct {
	// Assume is what this variant assumes ("cgo resolver compiled in");
	// empty for a binary whose facts are all known.
	Assume  string
	Program model.Program
}

// Input is everything a scan reads.
type Input struct {
	// Target names what is scanned, for the report.
	Target string
	// Root reads the target's own configuration files (a sysenv.Source
	// for a root or image, sysenv.Files for files known in memory). Only
	// the /etc files that steer resolution are read, and of those only the
	// ones the runtime does not replace.
	Root sysenv.Reader
	// Programs are the binaries that resolve names (see [Program]).
	Programs []Program
	// Env is the image's configured environment ("KEY=value"): GODEBUG,
	// LOCALDOMAIN, RES_OPTIONS, HOSTALIASES reach the programs.
	Env []string
	// Runtime says which resolv.conf and hosts the programs will see.
	Runtime Runtime
	// Names are the host names to check (default: localhost).
	Names []string
	// Deadline is the caller's deadline for one dial (default 30 s).
	Deadline time.Duration
	// Notes are remarks from reading the target (skipped entries).
	Notes []string
	// Predict replaces the model (tests); nil means model.Predict.
	Predict model.PredictFunc
}

// Run computes the verdicts. It fails only on bad input (an unknown
// runtime, unreadable target files); what the model cannot describe
// becomes a warning finding.
func Run(in Input) (*report.Report, error) {
	if in.Root == nil {
		return nil, errors.New("scan: no target file system")
	}
	if in.Deadline <= 0 {
		in.Deadline = DefaultDeadline
	}
	if len(in.Names) == 0 {
		in.Names = DefaultNames()
	}
	if in.Predict == nil {
		in.Predict = model.Predict
	}
	env, assumptions, err := in.Runtime.Env(in.Root, nil)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	env.Vars = envVars(in.Env)
	rep := &report.Report{
		Tool:        "nsscope",
		Target:      in.Target,
		Assumptions: assumptions,
		Rules:       report.LookupRules(),
		Notes:       in.Notes,
	}
	if len(env.Vars) > 0 {
		keys := make([]string, 0, len(env.Vars))
		for k := range env.Vars {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		rep.Assumptions = append(rep.Assumptions, "the programs run with the image's environment ("+strings.Join(keys, ", ")+")")
	}
	rep.Assumptions = append(rep.Assumptions,
		"every nameserver silently drops queries (the worst case: each exchange costs its full timeout)",
		fmt.Sprintf("each name is looked up by a TCP dial with a %s deadline (--deadline)", in.Deadline))
	s := scanner{env: env, deadline: in.Deadline, predict: in.Predict}
	progs := append([]Program(nil), in.Programs...)
	sort.SliceStable(progs, func(i, j int) bool {
		if progs[i].Main != progs[j].Main {
			return progs[i].Main
		}
		return progs[i].Path < progs[j].Path
	})
	for _, p := range progs {
		for _, name := range in.Names {
			rep.Findings = append(rep.Findings, s.verdict(p, name))
		}
	}
	return rep, nil
}

// envVars turns "K=V" entries into a map; later entries win.
func envVars(env []string) map[string]string {
	if len(env) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if k != "" {
			m[k] = v
		}
	}
	return m
}

type scanner struct {
	env      model.Env
	deadline time.Duration
	predict  model.PredictFunc
}

// outcome is the graded prediction of one variant.
type outcome struct {
	v        Variant
	pred     *model.Prediction
	err      error
	severity report.Severity
	rule     string
	// hostsAnswers: /etc/hosts has the name (the files-first probe got
	// its answer from it).
	hostsAnswers bool
	// unbounded is the time without the caller's deadline (when the
	// deadline cut the lookup).
	unbounded time.Duration
}

func (s *scanner) request(name string) model.Request {
	return model.Request{Name: name, Network: "tcp", Dial: true, Deadline: model.Seconds(s.deadline)}
}

func silent() model.Scenario {
	return model.Scenario{Servers: []model.Behavior{{Kind: model.Silent}}}
}

// evaluate runs the model for one variant and grades it.
func (s *scanner) evaluate(v Variant, name string) outcome {
	o := outcome{v: v}
	o.pred, o.err = s.predict(s.env, v.Program, s.request(name), silent())
	if o.err != nil {
		o.severity, o.rule = report.Warning, report.RuleUnknown
		return o
	}
	o.hostsAnswers = s.hostsAnswers(v.Program, name)
	o.severity, o.rule = classify(o.pred, o.hostsAnswers, s.deadline)
	if o.pred.DeadlineExceeded {
		req := s.request(name)
		req.Deadline = 0
		if p, err := s.predict(s.env, v.Program, req, silent()); err == nil {
			o.unbounded = p.Total.Duration()
		}
	}
	return o
}

// hostsAnswers reports whether /etc/hosts has an answer for name, as the
// program reads the file: the model is re-run with /etc/hosts consulted
// first ("hosts: files dns"), so each implementation's own reading of the
// hosts file (case, aliases, families) decides.
func (s *scanner) hostsAnswers(p model.Program, name string) bool {
	env := s.env
	env.NSSwitch = model.File{Path: "/etc/nsswitch.conf", Origin: "probe", Data: []byte("hosts: files dns\n")}
	pred, err := s.predict(env, p, s.request(name), silent())
	return err == nil && pred.AnsweredFrom == model.FromHosts
}

// classify grades one prediction (see the package comment).
func classify(p *model.Prediction, hostsAnswers bool, deadline time.Duration) (report.Severity, string) {
	switch {
	case !hostsAnswers:
		return report.Info, report.RuleDNSOnly
	case p.Queries == 0 && (p.AnsweredFrom == model.FromHosts || p.Error == ""):
		// No DNS at all: /etc/hosts answered (or no lookup was needed,
		// as for an address literal).
		return report.Info, report.RuleHostsFirst
	case p.DeadlineExceeded || p.Total.Duration() >= deadline || p.AnsweredFrom != model.FromHosts:
		return report.Critical, report.RuleDNSFirstFails
	default:
		return report.Warning, report.RuleDNSFirst
	}
}

// verdict is the finding for one program and one name.
func (s *scanner) verdict(p Program, name string) report.Finding {
	f := report.Finding{
		Subject:  p.Path,
		Main:     p.Main,
		Name:     name,
		Location: report.Location{Path: p.Path},
		Reasons:  append([]string(nil), p.Facts...),
	}
	if p.CannotStart != "" {
		f.RuleID, f.Severity = report.RuleCannotStart, report.Critical
		f.Message = "cannot start in this image: " + p.CannotStart
		f.Reasons = append(f.Reasons, "the program cannot start: "+p.CannotStart)
		return f
	}
	if len(p.Variants) == 0 {
		f.RuleID, f.Severity = report.RuleUnknown, report.Warning
		why := p.Unknown
		if why == "" {
			why = "the binary's resolver could not be determined"
		}
		f.Message = "outcome unknown: " + why
		f.Reasons = append(f.Reasons, why)
		return f
	}
	outs := make([]outcome, len(p.Variants))
	for i, v := range p.Variants {
		outs[i] = s.evaluate(v, name)
	}
	// The worst variant is the one described; it is the one to fix.
	worst := 0
	for i, o := range outs {
		if o.err == nil && (outs[worst].err != nil || o.severity > outs[worst].severity) {
			worst = i
		}
	}
	o := outs[worst]
	if o.err != nil {
		f.RuleID, f.Severity = report.RuleUnknown, report.Warning
		f.Message = "outcome unknown: the model cannot describe this program: " + o.err.Error()
		f.Reasons = append(f.Reasons, "model: "+o.err.Error())
		return f
	}
	f.RuleID, f.Severity = o.rule, o.severity
	f.Message = message(o, s.deadline)
	f.Time, f.Queries = o.pred.Total, o.pred.Queries
	f.Predict = o.pred
	if o.v.Assume != "" {
		f.Reasons = append(f.Reasons, "assuming "+o.v.Assume)
	}
	f.Reasons = append(f.Reasons, stepReasons(o.pred)...)
	f.Reasons = append(f.Reasons, dnsSummary(o, s.deadline)...)
	for _, n := range o.pred.Notes {
		f.Reasons = append(f.Reasons, "model note: "+n)
	}
	f.Related = related(o.pred)
	if differ(outs) {
		f.RuleID, f.Severity = report.RuleUnknown, report.Warning
		f.Message = "outcome depends on what the binary does not tell: " + variantsSummary(outs) + "; described: the worst case, " + message(o, s.deadline)
	}
	if o.severity > report.Info {
		f.Fixes = s.fixes(o, name)
	}
	return f
}

// differ reports whether the variants disagree on the severity.
func differ(outs []outcome) bool {
	for _, o := range outs[1:] {
		if o.err != nil || o.severity != outs[0].severity || outs[0].err != nil {
			return true
		}
	}
	return false
}

func variantsSummary(outs []outcome) string {
	var parts []string
	for _, o := range outs {
		sev := "unknown"
		if o.err == nil {
			sev = o.severity.String()
		}
		parts = append(parts, fmt.Sprintf("%s if %s", sev, or(o.v.Assume, "as read")))
	}
	return strings.Join(parts, ", ")
}

// message is the one-line verdict.
func message(o outcome, deadline time.Duration) string {
	p := o.pred
	switch o.rule {
	case report.RuleHostsFirst:
		return fmt.Sprintf("answered from /etc/hosts with no DNS query (%s, order %s)", p.Resolver, p.Order)
	case report.RuleDNSOnly:
		if p.Queries == 0 {
			return fmt.Sprintf("not in /etc/hosts and no DNS query is sent (%s, order %s)%s", p.Resolver, p.Order, errSuffix(p))
		}
		return fmt.Sprintf("not in /etc/hosts: only DNS can answer; with silent nameservers it gives up after %s, %d queries%s", report.Duration(p.Total.Duration()), p.Queries, errSuffix(p))
	case report.RuleDNSFirst:
		return fmt.Sprintf("asks DNS before /etc/hosts (%s, order %s): %d queries, %s, then /etc/hosts answers within the %s deadline", p.Resolver, p.Order, p.Queries, report.Duration(p.Total.Duration()), report.Duration(deadline))
	case report.RuleDNSFirstFails:
		switch {
		case p.DeadlineExceeded:
			un := ""
			if o.unbounded > 0 {
				un = fmt.Sprintf(" (%s without it)", report.Duration(o.unbounded))
			}
			return fmt.Sprintf("asks DNS before /etc/hosts (%s, order %s): %d queries reach the %s deadline%s%s", p.Resolver, p.Order, p.Queries, report.Duration(deadline), un, errSuffix(p))
		case p.AnsweredFrom != model.FromHosts:
			return fmt.Sprintf("asks DNS before /etc/hosts (%s, order %s) and never reads /etc/hosts: %d queries, fails after %s%s", p.Resolver, p.Order, p.Queries, report.Duration(p.Total.Duration()), errSuffix(p))
		default:
			at := "at"
			if p.Total.Duration() > deadline {
				at = "past"
			}
			return fmt.Sprintf("asks DNS before /etc/hosts (%s, order %s): %d queries take %s, %s the %s deadline%s", p.Resolver, p.Order, p.Queries, report.Duration(p.Total.Duration()), at, report.Duration(deadline), errSuffix(p))
		}
	}
	return ""
}

func errSuffix(p *model.Prediction) string {
	if p.Error == "" {
		return ""
	}
	return ": " + p.Error
}

// stepReasons renders the model's decision trail, citing file lines.
func stepReasons(p *model.Prediction) []string {
	var out []string
	for _, st := range p.Steps {
		r := fmt.Sprintf("%s %s: %s", st.Key, st.Value, st.Reason)
		if st.Source != nil {
			r += " [" + st.Source.String()
			if st.Source.Text != "" {
				r += `: "` + st.Source.Text + `"`
			}
			r += "]"
		}
		out = append(out, r)
	}
	return out
}

// dnsSummary is the worst-case arithmetic in words.
func dnsSummary(o outcome, deadline time.Duration) []string {
	p := o.pred
	if p.Queries == 0 {
		return nil
	}
	worst := p.Total.Duration()
	if p.DeadlineExceeded && o.unbounded > 0 {
		worst = o.unbounded
	}
	s := fmt.Sprintf("DNS: %d candidate name(s) (%s), server(s) %s, %d queries; ",
		len(p.Candidates), strings.Join(p.Candidates, " "), strings.Join(p.Servers, " "), p.Queries)
	if f := goFormula(p, worst); f != "" {
		s += f + " "
	} else {
		s += "worst case " + report.Duration(worst) + " "
	}
	if worst >= deadline {
		s += "≥ " + report.Duration(deadline) + " deadline"
	} else {
		s += "< " + report.Duration(deadline) + " deadline"
	}
	return []string{s}
}

// goFormula writes Go's worst case as the product the reference notes give
// (candidates × attempts × servers × timeout, A and AAAA in parallel), but
// only when that product is what the model predicted.
func goFormula(p *model.Prediction, worst time.Duration) string {
	if p.Resolver != "go" {
		return ""
	}
	if p.SingleRequest {
		return ""
	}
	attempts, timeout := p.Attempts, p.Timeout.Duration()
	n, c := len(p.Servers), len(p.Candidates)
	if attempts <= 0 || timeout <= 0 || n == 0 || c == 0 {
		return ""
	}
	if time.Duration(c*attempts*n)*timeout != worst {
		return ""
	}
	plural := func(k int, one, many string) string {
		if k == 1 {
			return fmt.Sprintf("%d %s", k, one)
		}
		return fmt.Sprintf("%d %s", k, many)
	}
	return fmt.Sprintf("%s × %s × %s × %s = %s", plural(c, "candidate", "candidates"), plural(attempts, "attempt", "attempts"),
		plural(n, "server", "servers"), report.Duration(timeout), report.Duration(worst))
}

// related lists the lines inside the target that decided (steps whose
// source is a file of the target, not an assumed one).
func related(p *model.Prediction) []report.Location {
	var out []report.Location
	seen := map[string]bool{}
	for _, st := range p.Steps {
		if st.Source == nil || !strings.HasPrefix(st.Source.File, "/") {
			continue
		}
		key := st.Source.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, report.Location{
			Path:    path.Clean(st.Source.File),
			Line:    st.Source.Line,
			Message: fmt.Sprintf("%s %s: %s", st.Key, st.Value, st.Reason),
		})
	}
	return out
}
