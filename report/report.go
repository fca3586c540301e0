// Package report holds the findings that scan, pod, cluster and dockerfile
// produce, and renders them as text, JSON, SARIF 2.1.0 and HTML. Producers
// build a Report; renderers never compute anything.
package report

import (
	"fmt"
	"strings"

	"github.com/nsscope/nsscope/model"
)

// Severity of a finding.
type Severity int

const (
	Info     Severity = iota // safe
	Warning                  // DNS first but within the deadline, or depends on something unknown
	Critical                 // a name /etc/hosts would answer goes to DNS first and the worst case reaches the deadline
)

var severityNames = [...]string{"info", "warning", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity parses "critical", "warning" or "info".
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want critical, warning or info)", s)
}

// MarshalText renders the severity name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Location points into the scanned target: a path inside an image or root
// filesystem, or a manifest or Dockerfile with a line.
type Location struct {
	Path string `json:"path"`
	Line int    `json:"line,omitempty"`
	// Message says why the location matters; used for related locations
	// ("hosts order decided here").
	Message string `json:"message,omitempty"`
}

func (l Location) String() string {
	if l.Line > 0 {
		return fmt.Sprintf("%s:%d", l.Path, l.Line)
	}
	return l.Path
}

// Rule describes a RuleID: renderers use it for SARIF rule metadata and
// HTML headings. A finding whose rule is not described still renders.
type Rule struct {
	ID string `json:"id"`
	// Name is a short CamelCase name ("LocalhostViaDNS").
	Name string `json:"name,omitempty"`
	// Short is a one-sentence description; Help says what to do about it.
	Short string `json:"short,omitempty"`
	Help  string `json:"help,omitempty"`
}

// Fix is a concrete remedy with the predicted outcome after it.
type Fix struct {
	Description string `json:"description"`
	// After is the predicted lookup time once the fix is applied, and
	// AfterQueries the DNS queries it then sends.
	AfterQueries int `json:"after_queries"`
	// Diff is a unified diff implementing it, when one can be given.
	Diff string `json:"diff,omitempty"`
	// Predict is the prediction after the fix, when its producer kept it
	// (the HTML draws it beside the finding's own); not in the JSON.
	Predict *model.Prediction `json:"-"`
	// After is the predicted lookup time once the fix is applied.
	After model.Seconds `json:"after_seconds"`
}

// Finding is one verdict about one program (or container, or stage) and one
// host name.
type Finding struct {
	RuleID   string   `json:"rule_id"`
	Severity Severity `json:"severity"`
	// Subject is what the finding is about: a binary path inside the
	// target, "namespace/pod/container", or a Dockerfile stage.
	Subject string `json:"subject"`
	// Main marks the image's main process (entrypoint).
	Main bool `json:"main,omitempty"`
	// Name is the host name checked.
	Name    string `json:"name"`
	Message string `json:"message"`
	// Reasons is the reason chain: binary facts and the file lines that
	// decided, in order.
	Reasons  []string `json:"reasons"`
	Location Location `json:"location"`
	// Related are the file lines that decided (the nsswitch.conf hosts line,
	// resolv.conf options), as locations inside the target.
	Related []Location `json:"related,omitempty"`
	// Queries is the number of DNS messages sent in that case.
	Queries int               `json:"queries,omitempty"`
	Fixes   []Fix             `json:"fixes,omitempty"`
	Predict *model.Prediction `json:"prediction,omitempty"`
	// Startup is the predicted start-up of the program the finding is
	// about (kube-apiserver), when there is one.
	Startup *Startup `json:"startup,omitempty"`
	// Time is the predicted time until the lookup (or dial) returns, in the
	// worst case the finding describes; zero when not applicable.
	Time model.Seconds `json:"time_seconds,omitempty"`
}

// Start-up outcomes.
const (
	StartupReady = "ready"
	StartupExits = "exits"
)

// Startup is a program's start-up as its real run shows it: whether it
// gets ready (kube-apiserver: /readyz answers ok) or exits, when (from the
// process's start), how many DNS messages it sends until then, and the
// first fatal line it prints (or, when it gets ready, its first error
// line; "" when none).
type Startup struct {
	Outcome    string `json:"outcome"`
	DNSQueries int    `json:"dns_queries"`
	// DNSQueriesAtExit are the messages a lookup that starts at the exit's
	// very instant sends at once: they may come before the fatal line or
	// not (goroutines), so the real count is DNSQueries to
	// DNSQueries+DNSQueriesAtExit.
	DNSQueriesAtExit int    `json:"dns_queries_at_exit,omitempty"`
	Log              string `json:"log"`
	// Also are other fatal lines due at the same instant: which of them
	// the program prints is up to its goroutines.
	Also []string `json:"also,omitempty"`
	// Time is when the outcome is reached, from the process's start.
	Time model.Seconds `json:"seconds"`
	// Races are the other start-ups the same configuration can have: two
	// of its goroutines reach one instant and which goes first is up to
	// the scheduler (a bootstrap hook's 30th poll tick and its timer; its
	// last try at the moment a shared lookup fails).
	Races []Startup `json:"races,omitempty"`
}

// Report is the result of one scan.
type Report struct {
	// SchemaVersion is the version of the JSON document's shape
	// (SchemaVersion constant); WriteJSON fills it in when zero.
	SchemaVersion int    `json:"schema_version"`
	Tool          string `json:"tool"`
	Version       string `json:"version"`
	// Target is what was scanned (image reference, path, manifest).
	Target string `json:"target"`
	// Assumptions lists what was assumed rather than read (runtime
	// resolv.conf, deadline, ...).
	Assumptions []string  `json:"assumptions"`
	Findings    []Finding `json:"findings"`
	// Rules describes the RuleIDs used by the findings (optional).
	Rules []Rule `json:"rules,omitempty"`
	// Notes are skipped entries and other remarks.
	Notes []string `json:"notes,omitempty"`
}

// SchemaVersion is the version of the JSON report's shape. It changes only
// when a field is removed or changes meaning; new fields may appear at any
// time.
const SchemaVersion = 1

// Rule returns the description of id, and false when the report has none.
func (r *Report) Rule(id string) (Rule, bool) {
	for _, ru := range r.Rules {
		if ru.ID == id {
			return ru, true
		}
	}
	return Rule{ID: id}, false
}

// Counts returns the number of findings per severity.
func (r *Report) Counts() map[Severity]int {
	c := map[Severity]int{}
	for _, f := range r.Findings {
		c[f.Severity]++
	}
	return c
}

// Max returns the highest severity in the report, and false when there are
// no findings.
func (r *Report) Max() (Severity, bool) {
	if len(r.Findings) == 0 {
		return Info, false
	}
	m := Info
	for _, f := range r.Findings {
		if f.Severity > m {
			m = f.Severity
		}
	}
	return m, true
}

// Fails reports whether any finding is at or above threshold.
func (r *Report) Fails(threshold Severity) bool {
	for _, f := range r.Findings {
		if f.Severity >= threshold {
			return true
		}
	}
	return false
}
