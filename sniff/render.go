package sniff

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// SchemaVersion is the version of the JSON lines' shape (docs/sniff.md).
// Version 2 leaves out a value that is unknown (latency, retry,
// percentiles) where version 1 wrote null.
const SchemaVersion = 2

// WriteExchange prints one exchange as one line: time, process, client,
// server, transport, name, type, outcome (rcode and answers, or
// UNANSWERED), latency and what the client did meanwhile.
func WriteExchange(w io.Writer, x Exchange) {
	outcome := x.Rcode
	if x.Unanswered {
		outcome = fmt.Sprintf("UNANSWERED after %s", fmtSec(x.Timeout))
	} else {
		if len(x.Answers) > 0 {
			outcome += " " + strings.Join(x.Answers, ", ")
		}
		if x.Truncated {
			outcome += " (truncated)"
		}
		outcome += " in " + fmtSec(x.Latency)
	}
	var notes []string
	if x.Retried > 0 {
		notes = append(notes, "retried after "+fmtSec(x.Retried))
	}
	if x.AnsweredAfterRetry {
		notes = append(notes, "answered only after the retry")
	}
	note := ""
	if len(notes) > 0 {
		note = "  [" + strings.Join(notes, "; ") + "]"
	}
	fmt.Fprintf(w, "%s  %-20s %s -> %s %s  %s %s  %s%s\n",
		x.Time.Format("15:04:05.000"), procLabel(x.Process), x.Client, x.Server, x.Transport, x.Name, x.Type, outcome, note)
}

func procLabel(p *Process) string {
	if p == nil {
		return "?"
	}
	s := processKey(p)
	if p.Container != "" {
		s += " ctr " + p.Container[:12]
	}
	if p.Pod != "" {
		s += " pod " + p.Pod
	}
	return s
}

// fmtSec renders a duration in seconds, to the millisecond below 10 s.
func fmtSec(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.3fs", d.Seconds())
	default:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
}

// WriteSummary prints the per-name and per-process tables, the names that
// look like the incident's, and what the capture could not see.
func WriteSummary(w io.Writer, s *Summary) {
	fmt.Fprintf(w, "\nsummary: %s of capture\n", fmtSec(s.Duration))
	table := func(title string, ts []*Tally) {
		fmt.Fprintf(w, "%s\n  %-40s %7s %8s %10s %8s %8s %7s %9s %9s\n", title, "", "queries", "answered", "unanswered", "nxdomain", "servfail", "refused", "p50", "p99")
		for _, t := range ts {
			p50, p99 := "-", "-"
			if t.Answered > 0 {
				p50, p99 = fmtSec(t.P50), fmtSec(t.P99)
			}
			fmt.Fprintf(w, "  %-40s %7d %8d %10d %8d %8d %7d %9s %9s\n", t.Key, t.Queries, t.Answered, t.Unanswered, t.NXDomain, t.ServFail, t.Refused, p50, p99)
		}
	}
	table("by name", s.Names)
	table("by process", s.Processes)
	if len(s.Signature) > 0 {
		fmt.Fprintln(w, "names that should not have reached DNS (the incident's signature):")
		for _, t := range s.Signature {
			fmt.Fprintf(w, "  %s: %s; %d queries, %d unanswered\n", t.Key, t.Signature, t.Queries, t.Unanswered)
		}
	}
	var notes []string
	if s.AttributionFailures > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d socket look-ups named no process", s.AttributionFailures, s.AttributionLookups))
	}
	if s.InFlight > 0 {
		notes = append(notes, fmt.Sprintf("%d queries still within their timeout at exit", s.InFlight))
	}
	if s.Late > 0 {
		notes = append(notes, fmt.Sprintf("%d responses came after their query's timeout", s.Late))
	}
	if s.Unmatched > 0 {
		notes = append(notes, fmt.Sprintf("%d responses matched no captured query", s.Unmatched))
	}
	if s.Overflow > 0 {
		notes = append(notes, fmt.Sprintf("%d queries dropped from tracking (more than the pending cap)", s.Overflow))
	}
	if s.Kernel.Drops > 0 {
		notes = append(notes, fmt.Sprintf("the kernel dropped %d packets", s.Kernel.Drops))
	}
	if s.TCPLost > 0 {
		notes = append(notes, fmt.Sprintf("%d TCP gaps never filled", s.TCPLost))
	}
	if s.Malformed > 0 {
		notes = append(notes, fmt.Sprintf("%d port-53 payloads were not DNS", s.Malformed))
	}
	fmt.Fprintf(w, "kernel: %d packets, %d dropped\n", s.Kernel.Packets, s.Kernel.Drops)
	for _, n := range notes {
		fmt.Fprintln(w, "note: "+n)
	}
}

// ExchangeDoc is one JSON line of `sniff --format json`.
type ExchangeDoc struct {
	SchemaVersion int    `json:"schema_version"`
	Tool          string `json:"tool"`
	Version       string `json:"version"`
	Kind          string `json:"kind"` // "exchange"
	Time          string `json:"time"`
	// PID is 0 and Comm "" when attribution failed (AttributionError says why).
	PID              int      `json:"pid"`
	Comm             string   `json:"comm"`
	Cmdline          []string `json:"cmdline,omitempty"`
	Container        string   `json:"container,omitempty"`
	Pod              string   `json:"pod_uid,omitempty"`
	AttributionError string   `json:"attribution_error,omitempty"`
	Client           string   `json:"client"`
	Server           string   `json:"server"`
	Transport        string   `json:"transport"`
	ID               uint16   `json:"id"`
	Name             string   `json:"name"`
	QType            string   `json:"qtype"`
	// Rcode is "" when no response came.
	Rcode   string   `json:"rcode"`
	Answers []string `json:"answers"`
	// Truncated is the response's TC bit.
	Truncated          bool     `json:"truncated"`
	LatencySeconds     *float64 `json:"latency_seconds,omitempty"`
	TimeoutSeconds     float64  `json:"timeout_seconds"`
	Unanswered         bool     `json:"unanswered"`
	RetriedSeconds     *float64 `json:"retried_after_seconds,omitempty"`
	AnsweredAfterRetry bool     `json:"answered_after_retry"`
}

// NewExchangeDoc builds the JSON line of x.
func NewExchangeDoc(x Exchange, version string) ExchangeDoc {
	d := ExchangeDoc{SchemaVersion: SchemaVersion, Tool: "nsscope", Version: version, Kind: "exchange",
		Time: x.Time.UTC().Format(time.RFC3339Nano), AttributionError: x.AttrError,
		Client: x.Client.String(), Server: x.Server.String(), Transport: x.Transport, ID: x.ID,
		Name: x.Name, QType: x.Type, Rcode: x.Rcode, Answers: x.Answers, Truncated: x.Truncated,
		TimeoutSeconds: x.Timeout.Seconds(), Unanswered: x.Unanswered, AnsweredAfterRetry: x.AnsweredAfterRetry}
	if d.Answers == nil {
		d.Answers = []string{}
	}
	if p := x.Process; p != nil {
		d.PID, d.Comm, d.Cmdline, d.Container, d.Pod = p.PID, p.Comm, p.Cmdline, p.Container, p.Pod
	}
	if !x.Unanswered {
		l := x.Latency.Seconds()
		d.LatencySeconds = &l
	}
	if x.Retried > 0 {
		r := x.Retried.Seconds()
		d.RetriedSeconds = &r
	}
	return d
}

// WriteExchangeJSON writes x as one JSON line.
func WriteExchangeJSON(w io.Writer, x Exchange, version string) error {
	return json.NewEncoder(w).Encode(NewExchangeDoc(x, version))
}

// tallyDoc is a Tally in JSON, with its percentiles in seconds.
type tallyDoc struct {
	*Tally
	P50 *float64 `json:"p50_seconds,omitempty"`
	P99 *float64 `json:"p99_seconds,omitempty"`
}

func tallyDocs(ts []*Tally) []tallyDoc {
	out := make([]tallyDoc, 0, len(ts))
	for _, t := range ts {
		d := tallyDoc{Tally: t}
		if t.Answered > 0 {
			p50, p99 := t.P50.Seconds(), t.P99.Seconds()
			d.P50, d.P99 = &p50, &p99
		}
		out = append(out, d)
	}
	return out
}

// WriteSummaryJSON writes the summary as the last JSON line.
func WriteSummaryJSON(w io.Writer, s *Summary, version string) error {
	type doc struct {
		SchemaVersion   int     `json:"schema_version"`
		Tool            string  `json:"tool"`
		Version         string  `json:"version"`
		Kind            string  `json:"kind"` // "summary"
		DurationSeconds float64 `json:"duration_seconds"`
		*Summary
		Names     []tallyDoc `json:"names"`
		Processes []tallyDoc `json:"processes"`
		Signature []tallyDoc `json:"signature"`
	}
	return json.NewEncoder(w).Encode(doc{SchemaVersion: SchemaVersion, Tool: "nsscope", Version: version, Kind: "summary",
		DurationSeconds: s.Duration.Seconds(), Summary: s,
		Names: tallyDocs(s.Names), Processes: tallyDocs(s.Processes), Signature: tallyDocs(s.Signature)})
}
