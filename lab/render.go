package lab

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/nsscope/nsscope/model"
)

// WriteTimeline prints a run as one time-ordered list of the DNS messages
// the servers received and the program's output lines.
func WriteTimeline(w io.Writer, res *Result) {
	fmt.Fprintf(w, "program:     %s\n", strings.Join(append([]string{res.Program}, res.Argv[1:]...), " "))
	if res.Interpreter != "" {
		fmt.Fprintf(w, "interpreter: %s\n", res.Interpreter)
	}
	var servers []string
	for _, s := range res.Servers {
		servers = append(servers, s.Addr.String()+" "+s.Behavior)
	}
	fmt.Fprintf(w, "nameservers: %s\n", strings.Join(servers, ", "))
	if res.IPv6 != IPv6Default {
		fmt.Fprintf(w, "ipv6:        %s\n", res.IPv6)
	}
	for _, f := range []model.File{res.ResolvConf, res.NSSwitch, res.Hosts} {
		fmt.Fprintf(w, "%-12s %s\n", strings.TrimPrefix(f.Path, "/etc/")+":", describeSeen(f))
	}
	fmt.Fprintln(w)

	type event struct {
		at   time.Duration
		text string
	}
	var evs []event
	for _, q := range res.Queries {
		name := q.Name
		if name == "" {
			name = "(connection refused before any message)"
		}
		evs = append(evs, event{q.Offset.Duration(), fmt.Sprintf("%-4s %-15s %-4s %-9s %s", q.Transport, q.Server, q.Type, q.Action, name)})
	}
	for _, e := range res.FileEvents {
		evs = append(evs, event{e.Offset.Duration(), "last read of " + e.Path})
	}
	for _, l := range res.Output {
		evs = append(evs, event{l.Offset.Duration(), fmt.Sprintf("%s: %s", l.Stream, l.Text)})
	}
	if res.Ready != nil {
		evs = append(evs, event{res.Ready.Offset.Duration(), fmt.Sprintf("ready: %s answered %q", res.Ready.URL, res.Ready.Answer)})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	for _, e := range evs {
		fmt.Fprintf(w, "%10s  %s\n", "+"+fmtSeconds(e.at), e.text)
	}
	end := "exited"
	switch res.Ended {
	case "until":
		end = "output matched --until; program stopped"
		if res.Matched != nil {
			end = "output matched --" + res.Matched.Pattern + "; program stopped"
		}
	case EndedReady:
		end = "ready (--ready-url answered); program stopped"
	case "timeout":
		end = "timed out; program killed"
	}
	status := fmt.Sprintf("exit status %d", res.ExitCode)
	if res.Signal != "" {
		status = "killed by " + res.Signal
	}
	fmt.Fprintf(w, "%10s  end: %s (%s)\n\n", "+"+fmtSeconds(res.Total.Duration()), end, status)
	fmt.Fprintf(w, "total %s, %d DNS messages, lab set-up %s\n", fmtSeconds(res.Total.Duration()), len(res.Queries), fmtSeconds(res.Setup.Duration()))
}

func describeSeen(f model.File) string {
	origin := ""
	if f.Origin != "" {
		origin = " (" + f.Origin + ")"
	}
	switch {
	case f.Missing:
		return "missing" + origin
	case f.ReadErr != "":
		return "unreadable: " + f.ReadErr + origin
	}
	var lines []string
	for _, l := range strings.Split(string(f.Data), "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		// Of nsswitch.conf only the hosts database matters here.
		if f.Path == "/etc/nsswitch.conf" && !strings.HasPrefix(t, "hosts") {
			continue
		}
		lines = append(lines, strings.Join(strings.Fields(t), " "))
	}
	if len(lines) > 6 {
		lines = append(lines[:6], fmt.Sprintf("... (%d more lines)", len(lines)-6))
	}
	if len(lines) == 0 {
		if f.Path == "/etc/nsswitch.conf" {
			return "no hosts line" + origin
		}
		return "no entries" + origin
	}
	return strings.Join(lines, " | ") + origin
}

// WriteCheck prints a prediction next to the observation it was compared
// with, and every difference.
func WriteCheck(w io.Writer, prog model.Program, req model.Request, p *model.Prediction, cmp Comparison) {
	how := netOrIP(req.Network)
	if req.Op != "" {
		how += ", " + req.Op
	}
	fmt.Fprintf(w, "\ncheck: %s resolving %q (%s)\n", prog.Describe(), req.Name, how)
	answered := p.AnsweredFrom
	if p.Error != "" {
		answered += "; error: " + p.Error
	}
	fmt.Fprintf(w, "  predicted: resolver %s, order %s, %d DNS messages, total %s, answered from %s\n",
		p.Resolver, p.Order, cmp.Predicted, fmtSeconds(cmp.PredictedTotal.Duration()), answered)
	result := "; result not read, not compared"
	if cmp.ObservedResult != "" {
		result = "; " + cmp.ObservedResult
	}
	fmt.Fprintf(w, "  observed:  %d DNS messages, total %s%s\n", cmp.Observed, fmtSeconds(cmp.ObservedTotal.Duration()), result)
	if cmp.OK() {
		same := ""
		if cmp.ObservedResult != "" {
			same = ", the same result"
		}
		fmt.Fprintf(w, "  match: same exchanges in the same order, total within %s%s\n", cmp.Tolerance, same)
		return
	}
	fmt.Fprintf(w, "  MISMATCH (%d):\n", len(cmp.Differences))
	for _, d := range cmp.Differences {
		fmt.Fprintf(w, "  - %s\n", d)
	}
}

func netOrIP(n string) string {
	if n == "" {
		return "ip"
	}
	return n
}

func fmtSeconds(d time.Duration) string { return fmtDur(d) }
