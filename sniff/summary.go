package sniff

import (
	"sort"
	"strconv"
	"time"
)

// Tally counts the exchanges of one name or one process.
type Tally struct {
	// Key is the name, or the process ("esbuild[4242]", "unattributed").
	Key        string `json:"key"`
	PID        int    `json:"pid,omitempty"`
	Comm       string `json:"comm,omitempty"`
	Queries    int    `json:"queries"`
	Answered   int    `json:"answered"`
	Unanswered int    `json:"unanswered"`
	NXDomain   int    `json:"nxdomain"`
	ServFail   int    `json:"servfail"`
	Refused    int    `json:"refused"`
	// Retried counts queries the client sent again while waiting;
	// AnsweredAfterRetry those answered only after that.
	Retried            int `json:"retried"`
	AnsweredAfterRetry int `json:"answered_after_retry"`
	// P50 and P99 are latency percentiles of the answered queries.
	P50 time.Duration `json:"-"`
	P99 time.Duration `json:"-"`
	// Signature says why the name looks like the incident's ("" if not).
	Signature string `json:"signature,omitempty"`

	latencies []time.Duration
}

// maxLatencies caps the samples a tally keeps for its percentiles.
const maxLatencies = 1 << 16

func (t *Tally) add(x Exchange) {
	t.Queries++
	if x.Retried > 0 {
		t.Retried++
	}
	if x.AnsweredAfterRetry {
		t.AnsweredAfterRetry++
	}
	if x.Unanswered {
		t.Unanswered++
		return
	}
	t.Answered++
	switch x.Rcode {
	case "NXDOMAIN":
		t.NXDomain++
	case "SERVFAIL":
		t.ServFail++
	case "REFUSED":
		t.Refused++
	}
	if len(t.latencies) < maxLatencies {
		t.latencies = append(t.latencies, x.Latency)
	}
}

func (t *Tally) finish() {
	if len(t.latencies) == 0 {
		return
	}
	sort.Slice(t.latencies, func(i, j int) bool { return t.latencies[i] < t.latencies[j] })
	t.P50 = percentile(t.latencies, 50)
	t.P99 = percentile(t.latencies, 99)
}

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

// Summary is what a capture saw, by name and by process.
type Summary struct {
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"-"`
	Names    []*Tally      `json:"names"`
	// Processes are keyed "comm[pid]", or "unattributed".
	Processes []*Tally `json:"processes"`
	// Signature lists the names that look like the incident's.
	Signature []*Tally `json:"signature"`
	trackerCounts
	// Attribution counts socket look-ups and how many named no process.
	AttributionLookups  int `json:"attribution_lookups"`
	AttributionFailures int `json:"attribution_failures"`
	// Malformed counts port-53 payloads that were not DNS messages.
	Malformed int `json:"malformed"`
	// Duplicates counts packets seen again on another interface.
	Duplicates int `json:"duplicates"`
	// TCPLost counts TCP byte ranges reassembly gave up on.
	TCPLost int   `json:"tcp_lost"`
	Kernel  Stats `json:"kernel"`
	// Explanations are --explain's, one per lookup of each process.
	Explanations []Explanation `json:"explanations,omitempty"`

	names map[string]*Tally
	procs map[string]*Tally
}

func newSummary(start time.Time) *Summary {
	return &Summary{Start: start, names: map[string]*Tally{}, procs: map[string]*Tally{}}
}

// processKey names a process in the summary.
func processKey(p *Process) string {
	if p == nil {
		return "unattributed"
	}
	return p.Comm + "[" + strconv.Itoa(p.PID) + "]"
}

func (s *Summary) add(x Exchange, signature string) {
	n := s.names[x.Name]
	if n == nil {
		n = &Tally{Key: x.Name, Signature: signature}
		s.names[x.Name] = n
	}
	n.add(x)
	k := processKey(x.Process)
	p := s.procs[k]
	if p == nil {
		p = &Tally{Key: k}
		if x.Process != nil {
			p.PID, p.Comm = x.Process.PID, x.Process.Comm
		}
		s.procs[k] = p
	}
	p.add(x)
}

func (s *Summary) finish(end time.Time) {
	s.Duration = end.Sub(s.Start)
	s.Names, s.Processes, s.Signature = sortedTallies(s.names), sortedTallies(s.procs), nil
	for _, t := range s.Names {
		if t.Signature != "" {
			s.Signature = append(s.Signature, t)
		}
	}
	for _, t := range append(append([]*Tally(nil), s.Names...), s.Processes...) {
		t.finish()
	}
}

// sortedTallies orders by queries (most first), then key.
func sortedTallies(m map[string]*Tally) []*Tally {
	out := make([]*Tally, 0, len(m))
	for _, t := range m {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Queries != out[j].Queries {
			return out[i].Queries > out[j].Queries
		}
		return out[i].Key < out[j].Key
	})
	return out
}
