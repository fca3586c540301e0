// Package report holds the findings that scan, pod, cluster and dockerfile
// produce, and renders them as text, JSON, SARIF 2.1.0 and HTML. Producers
// build a Report; renderers never compute anything.
package report

import (
	"fmt"
	"strings"
	"time"

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
}

// Fix is a concrete remedy with the predicted outcome after it.
type Fix struct {
	Description string `json:"description"`
	// After is the predicted lookup time once the fix is applied, and
	// AfterQueries the DNS queries it then sends.
	After        time.Duration `json:"after"`
	AfterQueries int           `json:"after_queries"`
	// Diff is a unified diff implementing it, when one can be given.
	Diff string `json:"diff,omitempty"`
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
	Reasons  []string          `json:"reasons"`
	Location Location          `json:"location"`
	Fixes    []Fix             `json:"fixes,omitempty"`
	Predict  *model.Prediction `json:"prediction,omitempty"`
}

// Report is the result of one scan.
type Report struct {
	Tool    string `json:"tool"`
	Version string `json:"version"`
	// Target is what was scanned (image reference, path, manifest).
	Target string `json:"target"`
	// Assumptions lists what was assumed rather than read (runtime
	// resolv.conf, deadline, ...).
	Assumptions []string  `json:"assumptions"`
	Findings    []Finding `json:"findings"`
	// Notes are skipped entries and other remarks.
	Notes []string `json:"notes,omitempty"`
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
