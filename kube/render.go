package kube

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/nsscope/nsscope/report"
)

// WriteResolvConf writes each container's effective /etc/resolv.conf,
// preceded by "# <namespace>/<pod>/<container>" and separated by blank
// lines. A pod the kubelet would refuse gets "# error: ..." instead.
func WriteResolvConf(w io.Writer, cs []*Container) error {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "# %s\n", c.Subject)
		if c.DNS == nil {
			fmt.Fprintf(&b, "# error: %s\n", oneLine(c.DNSErr))
			continue
		}
		b.Write(c.DNS.ResolvConf())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteHosts writes each container's /etc/hosts the same way; a container
// whose file the kubelet does not manage gets "# not managed: <reason>".
func WriteHosts(w io.Writer, cs []*Container) error {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "# %s\n", c.Subject)
		if c.Hosts == nil || !c.Hosts.Managed {
			reason := "unknown"
			if c.Hosts != nil {
				reason = c.Hosts.Reason
			}
			fmt.Fprintf(&b, "# not managed: %s\n", oneLine(reason))
			continue
		}
		b.Write(c.Hosts.Content())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteDerivation writes, for each container, the derived resolv.conf and
// /etc/hosts with the reason for every line, the kubelet's events and the
// assumptions made. It is the first part of the text report.
func WriteDerivation(w io.Writer, c *Container) error {
	var b strings.Builder
	wl := c.Workload
	fmt.Fprintf(&b, "%s", c.Subject)
	if wl != nil {
		fmt.Fprintf(&b, "  (%s %s, %s)", wl.Kind, wl.Name, wl.Source)
	}
	b.WriteByte('\n')
	if c.Image != "" {
		fmt.Fprintf(&b, "  image %s", c.Image)
		if c.ImageInfo != "" {
			fmt.Fprintf(&b, " (%s)", c.ImageInfo)
		}
		b.WriteByte('\n')
	}
	if c.DNS == nil {
		fmt.Fprintf(&b, "  error: %s\n", oneLine(c.DNSErr))
	} else {
		fmt.Fprintf(&b, "  dnsPolicy %s -> %s\n", c.DNS.Policy, c.DNS.Base)
		for _, s := range c.DNS.Steps {
			fmt.Fprintf(&b, "  kubelet %s = %s: %s\n", s.Key, s.Value, s.Reason)
		}
		b.WriteString("  /etc/resolv.conf:\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, l := range c.DNS.Lines() {
			fmt.Fprintf(tw, "    %s\t# %s\n", l.Text, l.Reason)
		}
		tw.Flush()
		for _, e := range c.DNS.Events {
			fmt.Fprintf(&b, "  kubelet event: %s\n", e)
		}
	}
	if c.Hosts != nil {
		if c.Hosts.Managed {
			fmt.Fprintf(&b, "  /etc/hosts (%s):\n", c.Hosts.Reason)
			tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
			for _, l := range c.Hosts.Lines {
				fmt.Fprintf(tw, "    %s\t# %s\n", strings.ReplaceAll(l.Text, "\t", " "), l.Reason)
			}
			tw.Flush()
		} else {
			fmt.Fprintf(&b, "  /etc/hosts: not managed: %s\n", c.Hosts.Reason)
		}
	}
	for _, a := range c.Assumed {
		fmt.Fprintf(&b, "  assumed: %s\n", a)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteChecks writes the lookup table and the apiserver start-up of a
// container; color paints the verdicts for a terminal (report.Paint).
func WriteChecks(w io.Writer, c *Container, color bool) error {
	paint := func(s report.Severity, text string) string {
		if !color {
			return text
		}
		return report.Paint(s, text)
	}
	var b strings.Builder
	if c.StartErr != "" {
		fmt.Fprintf(&b, "  kube-apiserver start-up: %s: %s\n", paint(report.Warning, "cannot predict"), c.StartErr)
	}
	if s := c.Startup; s != nil {
		fmt.Fprintf(&b, "  kube-apiserver start-up: %s\n", paintStartup(s, paint))
		fmt.Fprintf(&b, "    loopback client: %s (listener %s)\n", s.Loopback.URL(), s.Loopback.Listener)
		for i, r := range s.Reasons {
			fmt.Fprintf(&b, "    %d. %s\n", i+1, r)
		}
	}
	if len(c.Checks) > 0 {
		b.WriteString("  lookups:\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		// Each scenario names its columns: a count from one scenario never
		// sits under a heading of the other.
		fmt.Fprintf(tw, "    NAME\tPROGRAM\tORDER\tNXDOMAIN: QUERIES\tSILENT: QUERIES\tSILENT: OUTCOME\tVERDICT\n")
		for _, ch := range c.Checks {
			if ch.Err != "" {
				fmt.Fprintf(tw, "    %s\t%s\t-\t-\t-\t-\t%s: %s\n", ch.Name, ch.Program.Describe(), paint(ch.Severity, ch.Severity.String()), oneLine(ch.Err))
				continue
			}
			outcome := fmtDur(ch.Worst.Total.Duration())
			if ch.Worst.Error != "" {
				outcome += ", " + ch.Worst.Error
			} else {
				outcome += ", from " + ch.Worst.AnsweredFrom
			}
			// The verdict ends the row: its escapes do not shift the columns.
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%d\t%d\t%s\t%s\n", ch.Name, ch.Program.Describe(), ch.Cost.Order, ch.Cost.Queries, ch.Worst.Queries, outcome, paint(ch.Severity, ch.Severity.String()))
		}
		tw.Flush()
		b.WriteString("    (NXDOMAIN: every nameserver answers NXDOMAIN at once; SILENT: every nameserver silent, within the caller's deadline)\n")
		for _, ch := range c.Checks {
			if ch.Severity > 0 {
				sev := paint(ch.Severity, ch.Severity.String())
				if ch.Condition != "" {
					fmt.Fprintf(&b, "  %s: %s\n", sev, ch.Message)
				} else {
					fmt.Fprintf(&b, "  %s: %s: %s\n", sev, ch.Program.Describe(), ch.Message)
				}
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// paintStartup colours the verdict that opens a start-up summary: the
// part before its first ": " ("safe", "exits 61.8 s after start", "ready
// 4.5 s after start, late").
func paintStartup(s *Startup, paint func(report.Severity, string) string) string {
	head, rest, ok := strings.Cut(s.Summary, ": ")
	if !ok {
		return s.Summary
	}
	sev := report.Warning
	switch {
	case s.Fails:
		sev = report.Critical
	case head == "safe":
		sev = report.Info
	}
	return paint(sev, head) + ": " + rest
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
