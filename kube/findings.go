package kube

import (
	"fmt"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

// Findings turns analysed containers into report findings, located at
// their workload's source.
func Findings(cs []*Container) []report.Finding {
	var out []report.Finding
	for _, c := range cs {
		loc := report.Location{Path: c.Subject}
		if c.Workload != nil {
			loc = report.Location{Path: c.Workload.Source.File, Line: c.Workload.Source.Line}
		}
		derived := c.derivedReasons()
		switch {
		case c.DNSUnknown:
			out = append(out, report.Finding{RuleID: report.RuleUnknown, Severity: report.Warning, Subject: c.Subject,
				Message: "the pod's /etc/resolv.conf cannot be derived: " + c.DNSErr, Reasons: derived, Location: loc})
			continue
		case c.DNSErr != "":
			out = append(out, report.Finding{RuleID: report.RulePodRejected, Severity: report.Critical, Subject: c.Subject,
				Message: c.DNSErr, Reasons: derived, Location: loc})
			continue
		case c.Hosts != nil && c.Hosts.Unknown:
			out = append(out, report.Finding{RuleID: report.RuleUnknown, Severity: report.Warning, Subject: c.Subject,
				Message: "the container's /etc/hosts cannot be derived: " + c.Hosts.Reason, Reasons: derived, Location: loc})
		}
		if c.DNS != nil && len(c.DNS.Events) > 0 {
			for _, e := range c.DNS.Events {
				out = append(out, report.Finding{RuleID: report.RuleDNSConfigForming, Severity: report.Warning, Subject: c.Subject,
					Message: "kubelet event " + e, Reasons: derived, Location: loc})
			}
		}
		if c.StartErr != "" {
			out = append(out, report.Finding{RuleID: report.RuleUnknown, Severity: report.Warning, Subject: c.Subject, Name: "localhost",
				Message: "kube-apiserver start-up cannot be predicted: " + c.StartErr, Reasons: derived, Location: loc})
		}
		if s := c.Startup; s != nil {
			f := report.Finding{RuleID: report.RuleAPIServerLoopback, Severity: report.Info, Subject: c.Subject, Main: true, Name: s.Loopback.Host,
				Message: "kube-apiserver start-up: " + s.Summary, Reasons: append(append([]string(nil), derived...), s.Reasons...),
				Location: loc, Time: model.Seconds(s.DialTime), Queries: s.Queries, Predict: s.Prediction, Startup: &s.Result}
			switch {
			case s.Fails:
				f.Severity = report.Critical
				f.Time = model.Seconds(s.FailsAt)
			case 2*s.DialTime >= LoopbackDialTimeout:
				// Safe, but its DNS phase takes half the dial timeout or
				// more: one more silent server and it fails.
				f.Severity = report.Warning
				f.Message += fmt.Sprintf(" (the lookup takes %s, half or more of the %s dial timeout)", fmtDur(s.DialTime), fmtDur(LoopbackDialTimeout))
			}
			out = append(out, f)
		}
		for _, ch := range c.Checks {
			f := report.Finding{Severity: ch.Severity, Subject: c.Subject, Name: ch.Name, Location: loc,
				Message: fmt.Sprintf("%s: %s", ch.Program.Describe(), ch.Message)}
			if ch.Condition != "" {
				// The message names the program as its condition.
				f.Message = ch.Message
			}
			f.Reasons = append(f.Reasons, "name from "+ch.NameSource)
			f.Reasons = append(f.Reasons, derived...)
			f.RuleID = ch.Rule
			if ch.Worst != nil {
				f.Time, f.Queries, f.Predict = ch.Worst.Total, ch.Worst.Queries, ch.Worst
				for _, st := range ch.Worst.Steps {
					r := fmt.Sprintf("%s %s: %s", st.Key, st.Value, st.Reason)
					if st.Source != nil && st.Source.File != "" {
						r += " (" + st.Source.String() + ")"
					}
					f.Reasons = append(f.Reasons, r)
				}
			}
			out = append(out, f)
		}
	}
	return out
}

// derivedReasons are the derived resolv.conf and hosts lines with their
// reasons, as reason-chain entries.
func (c *Container) derivedReasons() []string {
	var out []string
	if c.DNS != nil {
		out = append(out, fmt.Sprintf("dnsPolicy %s: base %s", c.DNS.Policy, c.DNS.Base))
		for _, l := range c.DNS.Lines() {
			out = append(out, fmt.Sprintf("/etc/resolv.conf %q: %s", l.Text, l.Reason))
		}
	}
	if c.Hosts != nil {
		out = append(out, "/etc/hosts: "+c.Hosts.Reason)
	}
	for _, a := range c.Assumed {
		out = append(out, "assumed: "+a)
	}
	return out
}
