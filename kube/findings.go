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
		if c.DNSErr != "" {
			out = append(out, report.Finding{RuleID: report.RulePodRejected, Severity: report.Critical, Subject: c.Subject,
				Message: c.DNSErr, Reasons: derived, Location: loc})
			continue
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
				Location: loc, Time: s.DialTime, Queries: s.Queries, Predict: s.Prediction}
			if s.Fails {
				f.Severity = report.Critical
				f.Time = s.FailsAt
			}
			out = append(out, f)
		}
		for _, ch := range c.Checks {
			f := report.Finding{Severity: ch.Severity, Subject: c.Subject, Name: ch.Name, Location: loc,
				Message: fmt.Sprintf("%s: %s", progLabel(ch.Program), ch.Message)}
			f.Reasons = append(f.Reasons, "name from "+ch.NameSource)
			f.Reasons = append(f.Reasons, derived...)
			switch {
			case ch.Err != "":
				f.RuleID = report.RuleUnknown
			case ch.Severity == report.Critical:
				f.RuleID = report.RuleDNSFirstFails
			case ch.Severity == report.Warning:
				f.RuleID = report.RuleDNSFirst
			case ch.Cost != nil && ch.Cost.AnsweredFrom == model.FromHosts:
				f.RuleID = report.RuleHostsFirst
			default:
				f.RuleID = report.RuleDNSOnly
			}
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
