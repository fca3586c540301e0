package sniff

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/sysenv"
)

// Snapshot is what a process saw when it was first attributed: the
// resolver files under its root, and its binary as inspect reads it.
// It is taken then because the process may be gone when the capture ends.
type Snapshot struct {
	Process *Process
	Env     model.Env
	EnvErr  string
	// Program is the model's description of the binary; ProgramErr says
	// why there is none.
	Program    model.Program
	ProgramErr string
}

// maxExplained caps the exchanges kept per process for --explain.
const maxExplained = 1000

// snapshot reads p's files through /proc/PID/root and its binary through
// /proc/PID/exe.
func snapshot(proc string, p *Process) *Snapshot {
	s := &Snapshot{Process: p}
	dir := filepath.Join(proc, strconv.Itoa(p.PID))
	src, err := sysenv.Root(context.Background(), filepath.Join(dir, "root"))
	if err != nil {
		s.EnvErr = err.Error()
	} else {
		s.Env, err = src.ReadEnv()
		src.Close()
		if err != nil {
			s.EnvErr = err.Error()
		}
		for _, f := range []*model.File{&s.Env.ResolvConf, &s.Env.NSSwitch, &s.Env.Hosts} {
			f.Origin = "/proc/" + strconv.Itoa(p.PID) + "/root" + f.Path
		}
	}
	bin, err := inspect.Open(filepath.Join(dir, "exe"))
	if err != nil {
		s.ProgramErr = fmt.Sprintf("cannot read its binary: %v", err)
		return s
	}
	var libc model.Libc
	if rels, _ := inspect.RootLibc(os.DirFS(filepath.Join(dir, "root"))); len(rels) > 0 {
		if r := inspect.LibcFor(bin, rels); r != nil {
			libc = r.Model()
		}
	}
	prog, ok := bin.Program(libc)
	if !ok {
		s.ProgramErr = "its binary is not one the model covers (no Go version, no known libc)"
		return s
	}
	s.Program = prog
	return s
}

// Explanation holds, for one lookup of one process, the model's
// prediction beside what was captured.
type Explanation struct {
	Process            *Process      `json:"process"`
	Files              []string      `json:"files"`
	Binary             string        `json:"binary"`
	Name               string        `json:"name"`
	Captured           int           `json:"captured_queries"`
	CapturedUnanswered int           `json:"captured_unanswered"`
	CapturedSpan       time.Duration `json:"-"`
	// Predicted is nil when the model could not predict (Err says why).
	Predicted *model.Prediction `json:"prediction,omitempty"`
	// Verdict is one sentence: prediction against capture, or the first
	// difference.
	Verdict string `json:"verdict"`
	Err     string `json:"error,omitempty"`
}

// explain builds the explanations of every process snapshot, one per
// lookup (question names grouped by the name before a search domain).
func explain(snaps map[int]*Snapshot, seen map[int][]Exchange) []Explanation {
	var pids []int
	for pid := range snaps {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	var out []Explanation
	for _, pid := range pids {
		s := snaps[pid]
		xs := seen[pid]
		for _, base := range lookupNames(s, xs) {
			out = append(out, explainLookup(s, base, xs))
		}
	}
	return out
}

// lookupNames are the names the process looked up: each captured name
// with a search domain of its resolv.conf taken off, in capture order.
func lookupNames(s *Snapshot, xs []Exchange) []string {
	v := viewOf(s.Env)
	var names []string
	seen := map[string]bool{}
	for _, x := range xs {
		n := strings.ToLower(x.Name)
		for _, d := range v.Search {
			if b, ok := strings.CutSuffix(n, "."+d); ok {
				n = b + "."
				break
			}
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names
}

func viewOf(env model.Env) View {
	return parseView(env.ResolvConf.Name(), env.ResolvConf.Data, env.Hosts.Name(), env.Hosts.Data)
}

// scenarioOf infers how each nameserver behaved from the exchanges sent
// to it: the first reply's kind, or silent if none ever came.
func scenarioOf(servers []string, xs []Exchange) model.Scenario {
	var sc model.Scenario
	for _, srv := range servers {
		b := model.Behavior{Kind: model.Silent}
		for _, x := range xs {
			if x.Server.String() != srv || x.Unanswered {
				continue
			}
			switch {
			case x.Truncated:
				b.Truncate = true
				continue
			case x.Rcode == "NXDOMAIN":
				b.Kind = model.NXDomain
			case x.Rcode == "SERVFAIL":
				b.Kind = model.ServFail
			case x.Rcode == "REFUSED":
				b.Kind = model.Refused
			case len(x.Answers) == 0:
				b.Kind = model.NoData
			default:
				b.Kind = model.Answer
				for _, a := range x.Answers {
					if _, v, ok := strings.Cut(a, " "); ok {
						if ip, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
							b.Addrs = append(b.Addrs, ip)
						}
					}
				}
			}
			break
		}
		sc.Servers = append(sc.Servers, b)
	}
	return sc
}

func explainLookup(s *Snapshot, name string, all []Exchange) Explanation {
	e := Explanation{Process: s.Process, Name: name, Binary: s.Program.Label}
	for _, f := range []model.File{s.Env.ResolvConf, s.Env.NSSwitch, s.Env.Hosts} {
		e.Files = append(e.Files, describeFile(f))
	}
	if s.ProgramErr != "" || s.EnvErr != "" {
		e.Err = strings.TrimSpace(s.ProgramErr + " " + s.EnvErr)
		e.Binary = s.ProgramErr
		e.Verdict = "no prediction: " + e.Err
		return e
	}
	req := model.Request{Name: strings.TrimSuffix(name, "."), Network: "ip"}
	// A first prediction names the servers and candidates; the scenario
	// is then read from what those servers did.
	p0, err := model.Predict(s.Env, s.Program, req, model.Scenario{})
	if err != nil {
		e.Err, e.Verdict = err.Error(), "no prediction: "+err.Error()
		return e
	}
	inLookup := map[string]bool{}
	for _, c := range p0.Candidates {
		inLookup[strings.ToLower(c)] = true
	}
	var xs []Exchange
	for _, x := range all {
		if inLookup[strings.ToLower(x.Name)] {
			xs = append(xs, x)
		}
	}
	p, err := model.Predict(s.Env, s.Program, req, scenarioOf(p0.Servers, xs))
	if err != nil {
		e.Err, e.Verdict = err.Error(), "no prediction: "+err.Error()
		return e
	}
	e.Predicted = p
	obs := lab.Observation{AnchorFirst: true}
	var t0, end time.Time
	for i, x := range xs {
		if i == 0 {
			t0 = x.Time
		}
		stop := x.Time.Add(x.Latency)
		outcome := strings.ToLower(x.Rcode)
		if x.Unanswered {
			stop, outcome = x.Time.Add(x.Timeout), "timeout"
			e.CapturedUnanswered++
		}
		if stop.After(end) {
			end = stop
		}
		obs.Exchanges = append(obs.Exchanges, model.Exchange{Start: model.Seconds(x.Time.Sub(t0)), Server: x.Server.String(),
			Name: x.Name, Type: x.Type, Transport: x.Transport, Outcome: outcome})
	}
	e.Captured = len(xs)
	if len(xs) > 0 {
		e.CapturedSpan = end.Sub(t0)
	}
	// What follows the last exchange (the fall-back to /etc/hosts, the
	// dial) is not on the wire: the capture is held to the DNS time.
	obs.Total = e.CapturedSpan
	cmp := lab.Compare(&model.Prediction{Exchanges: p.Exchanges, Total: p.DNS}, obs)
	e.Verdict = verdict(p, e, cmp)
	return e
}

// verdict is the explanation's one sentence.
func verdict(p *model.Prediction, e Explanation, cmp lab.Comparison) string {
	pred := fmt.Sprintf("predicted %d queries, %s", p.Queries, fmtSec(p.DNS.Duration()))
	if p.Queries == 0 {
		pred = "predicted no DNS query (answered from " + p.AnsweredFrom + ")"
	}
	capt := fmt.Sprintf("captured %d queries", e.Captured)
	switch {
	case e.Captured > 0 && e.CapturedUnanswered == e.Captured:
		capt += ", all unanswered"
	case e.CapturedUnanswered > 0:
		capt += fmt.Sprintf(", %d unanswered", e.CapturedUnanswered)
	}
	if e.Captured > 0 {
		capt += ", " + fmtSec(e.CapturedSpan)
	}
	if cmp.OK() {
		return pred + "; " + capt + ": as predicted"
	}
	return pred + "; " + capt + "; first difference: " + cmp.Differences[0]
}

// describeFile says in a few words what a resolver file holds.
func describeFile(f model.File) string {
	switch {
	case f.Missing:
		return f.Name() + ": missing"
	case f.ReadErr != "":
		return f.Name() + ": unreadable: " + f.ReadErr
	}
	var lines []string
	for _, l := range strings.Split(string(f.Data), "\n") {
		t := strings.Join(strings.Fields(l), " ")
		if t == "" || strings.HasPrefix(t, "#") || (f.Path == model.PathNSSwitch && !strings.HasPrefix(t, "hosts")) {
			continue
		}
		lines = append(lines, t)
	}
	if len(lines) > 5 {
		lines = append(lines[:5], fmt.Sprintf("... (%d more lines)", len(lines)-5))
	}
	return f.Name() + ": " + strings.Join(lines, " | ")
}

// WriteExplanations prints the --explain part: per process and lookup,
// the files, the binary and the verdict.
func WriteExplanations(w io.Writer, es []Explanation) {
	if len(es) == 0 {
		fmt.Fprintln(w, "\nexplain: no attributed process was seen")
		return
	}
	last := -1
	for _, e := range es {
		if e.Process.PID != last {
			fmt.Fprintf(w, "\nexplain %s: %s\n", processKey(e.Process), strings.Join(e.Process.Cmdline, " "))
			fmt.Fprintf(w, "  binary   %s (/proc/%d/exe)\n", e.Binary, e.Process.PID)
			for _, f := range e.Files {
				fmt.Fprintf(w, "  sees     %s\n", f)
			}
			last = e.Process.PID
		}
		if p := e.Predicted; p != nil {
			fmt.Fprintf(w, "  lookup   %s: resolver %s, order %s\n", e.Name, p.Resolver, p.Order)
		} else {
			fmt.Fprintf(w, "  lookup   %s\n", e.Name)
		}
		fmt.Fprintf(w, "           %s\n", e.Verdict)
	}
}
