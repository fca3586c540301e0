package explain

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/waterfall"
)

// TextOptions tune WriteText.
type TextOptions struct {
	// Debug adds what GODEBUG=netdns=…+2 prints, for Go programs.
	Debug bool
	// Color paints the verdicts (ANSI escapes: FAILS red, SLOW yellow, OK
	// green), for a terminal.
	Color bool
	// Width is the terminal width the waterfall scales to (0: 80).
	Width int
}

// paint colours a verdict word for a terminal; the column alignment of
// the side-by-side table is kept because the escapes end each row.
func (o TextOptions) paint(word string) string {
	if !o.Color {
		return word
	}
	code := map[string]string{"FAILS": "1;31", "SLOW": "1;33", "OK": "32"}[word]
	if code == "" {
		return word
	}
	return "\x1b[" + code + "m" + word + "\x1b[0m"
}

// WriteText renders the result for people: the environment, a summary
// row per program, then for each program the decisions with the file and
// line that caused them, the timeline of DNS exchanges, and the verdict.
func WriteText(w io.Writer, r *Result, o TextOptions) error {
	ew := &errWriter{w: w}
	in := r.Input
	req := in.Request
	op := req.Op
	if op == "" {
		op = "lookup"
	}
	fmt.Fprintf(ew, "nsscope explain: %s (%s %s", req.Name, op, req.Network)
	if req.Deadline > 0 {
		fmt.Fprintf(ew, ", deadline %s", secs(req.Deadline))
	}
	fmt.Fprintf(ew, ") in %s\n", in.EnvLabel)
	fmt.Fprintf(ew, "nameservers behave: %s\n", scenarioText(in.Scenario))
	for _, a := range in.Assumptions {
		fmt.Fprintf(ew, "assumed: %s\n", a)
	}
	fmt.Fprintln(ew)
	fmt.Fprintln(ew, "Environment")
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	for _, f := range []model.File{in.Env.ResolvConf, in.Env.NSSwitch, in.Env.Hosts} {
		fmt.Fprintf(tw, "  %s\t%s\n", f.Path, fileText(f))
	}
	if in.Libc.Known() {
		fmt.Fprintf(tw, "  libc\t%s\n", in.Libc)
	}
	if len(in.Env.Vars) > 0 {
		var kv []string
		for k, v := range in.Env.Vars {
			kv = append(kv, k+"="+v)
		}
		slices.Sort(kv)
		fmt.Fprintf(tw, "  environment\t%s\n", strings.Join(kv, " "))
	}
	tw.Flush()
	if len(r.Predictions) > 1 {
		fmt.Fprintln(ew, "\nSide by side")
		tw = tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  PROGRAM\tRESOLVER\tORDER\tQUERIES\tTIME\tVERDICT")
		for _, p := range r.Predictions {
			word, _ := Verdict(p)
			res := o.paint(word)
			if p.Error != "" {
				res += ": " + p.Error
			} else {
				res += ": from " + p.AnsweredFrom
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", p.Program.Describe(), p.Resolver, p.Order, p.Queries, secs(p.Total), res)
		}
		tw.Flush()
	}
	for _, p := range r.Predictions {
		fmt.Fprintf(ew, "\n== %s ==\n", p.Program.Describe())
		writeOne(ew, p, o)
	}
	return ew.err
}

func writeOne(w io.Writer, p *model.Prediction, o TextOptions) {
	fmt.Fprintln(w, "Why")
	for _, s := range p.Steps {
		fmt.Fprintf(w, "  %-11s %s\n", s.Key, s.Value)
		line := s.Reason
		if s.Source != nil {
			line += "  [" + s.Source.String()
			if s.Source.Text != "" {
				line += ": " + s.Source.Text
			}
			line += "]"
		}
		fmt.Fprintf(w, "  %-11s %s\n", "", line)
	}
	if len(p.Candidates) > 0 {
		fmt.Fprintf(w, "Names DNS would be asked: %s\n", strings.Join(p.Candidates, " "))
	}
	if len(p.Exchanges) == 0 {
		fmt.Fprintln(w, "Timeline: no DNS query")
	} else {
		if p.QueriesRange != nil {
			fmt.Fprintf(w, "Timeline (%s DNS queries, a race; the longest run shown)\n", QueriesText(p))
		} else {
			fmt.Fprintf(w, "Timeline (%d DNS queries)\n", p.Queries)
		}
		waterfall.WriteText(w, waterfall.FromPrediction("", p), waterfall.TextOptions{Width: o.Width, Color: o.Color, Times: true})
	}
	res := "answered from " + p.AnsweredFrom
	if len(p.Addrs) > 0 {
		res += " " + strings.Join(p.Addrs, " ")
	}
	if p.Error != "" {
		res = p.Error
	}
	fmt.Fprintf(w, "Result after %s (DNS %s): %s\n", secs(p.Total), secs(p.DNS), res)
	word, why := Verdict(p)
	fmt.Fprintf(w, "Verdict: %s — %s\n", o.paint(word), why)
	for _, n := range p.Notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
	if o.Debug && len(p.Debug) > 0 {
		fmt.Fprintln(w, "GODEBUG=netdns=…+2 would print (stderr):")
		for _, l := range p.Debug {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

func scenarioText(sc model.Scenario) string {
	if len(sc.Servers) == 0 {
		return "silent (all)"
	}
	if len(sc.Servers) == 1 {
		return sc.Servers[0].String() + " (all)"
	}
	var s []string
	for i, b := range sc.Servers {
		s = append(s, fmt.Sprintf("#%d %s", i+1, b))
	}
	return strings.Join(s, ", ")
}

func fileText(f model.File) string {
	name := f.Name()
	switch {
	case f.Missing:
		return "missing (" + name + ")"
	case f.ReadErr != "":
		return "unreadable: " + f.ReadErr + " (" + name + ")"
	}
	n := strings.Count(string(f.Data), "\n")
	if len(f.Data) > 0 && !strings.HasSuffix(string(f.Data), "\n") {
		n++
	}
	return fmt.Sprintf("%s, %d line(s)", name, n)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
