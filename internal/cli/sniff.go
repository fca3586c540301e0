package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/sniff"
	"github.com/nsscope/nsscope/waterfall"
)

// sniffFlags holds the parsed command line of "nsscope sniff".
type sniffFlags struct {
	iface, netns, name, comm string
	report                   reportFlags
	pid, maxPending          int
	duration                 time.Duration
	explain                  bool
}

func newSniffCmd(a *app) *cobra.Command {
	var f sniffFlags
	cmd := newVerb(verbSpec{
		use:     "sniff [flags]",
		summary: "watch this host's DNS: each query paired with its answer, attributed to its process, the unanswered flagged",
		long: `Captures DNS (port 53, UDP and TCP, IPv4 and IPv6) with a packet socket and
a kernel filter, pairs every response with its query, and prints one line
per exchange: time, process, client, server, name, type, outcome and
latency. A query is flagged UNANSWERED once the resolver timeout of the
process that sent it (its own /etc/resolv.conf, default 5 s) has passed,
and a query answered only after the client sent it again is marked. Each
query is attributed to its process (socket inode from sock_diag or
/proc/PID/net, PID from /proc/*/fd, container and pod from the cgroup).
On exit (Ctrl-C or --duration) a summary by name and by process, with the
names that should never have reached DNS (answered by /etc/hosts).

Needs CAP_NET_RAW (root).`,
		exit: `0  captured until the end
2  usage error, bad input, or no CAP_NET_RAW
3  internal error`,
		examples: `nsscope sniff --name 'localhost*'
nsscope sniff -i eth0 --comm kube-apiserver --duration 60s --format json
nsscope sniff --netns /proc/$(pidof coredns)/ns/net --explain`,
		run: func(cmd *cobra.Command, args []string) error { return runSniff(cmd.Context(), a, &f, args) },
	})
	addGroup(cmd, "Capture", func(fs *pflag.FlagSet) {
		fs.StringVarP(&f.iface, "interface", "i", "any", "capture on `IFACE`, or any")
		fs.StringVar(&f.netns, "netns", "", "capture in another network namespace: a `FILE` such as /proc/PID/ns/net (a pod's)")
		fs.DurationVar(&f.duration, "duration", 0, "stop after this long (default: until interrupted)")
		fs.IntVar(&f.maxPending, "max-pending", sniff.DefaultMaxPending, "track at most `N` queries awaiting an answer (the rest are counted)")
	})
	addGroup(cmd, "Filter", func(fs *pflag.FlagSet) {
		fs.StringVar(&f.name, "name", "", "only names matching `GLOB` (without the trailing dot), e.g. 'localhost*'")
		fs.IntVar(&f.pid, "pid", 0, "only queries of process `PID`")
		fs.StringVar(&f.comm, "comm", "", "only queries of processes named `NAME` (/proc/PID/comm)")
	})
	addGroup(cmd, "Output", func(fs *pflag.FlagSet) {
		f.report.register(fs, []string{"text", "json", "html"}, false)
		fs.Lookup("format").Usage = "output `FORMAT`: text, json (JSON lines, then the summary) or html (waterfalls per process, written at the end)"
		fs.Lookup("output").Usage = "write the output to `FILE` instead of stdout (streamed into a temporary file beside it, renamed into place at the end; a capture that fails leaves FILE as it was)"
		fs.BoolVar(&f.explain, "explain", false, "for each process seen: the files it sees, its binary, and the model's prediction beside what was captured")
	})
	completeValues(cmd, "format", "text", "json", "html")
	return cmd
}

func runSniff(ctx context.Context, a *app, f *sniffFlags, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unexpected argument %q", args[0])
	}
	if err := f.report.check(); err != nil {
		return err
	}
	format := f.report.format
	if f.pid != 0 && f.comm != "" {
		return usageErrorf("--pid and --comm exclude each other")
	}
	if f.duration < 0 || f.pid < 0 || f.maxPending < 1 {
		return usageErrorf("--duration, --pid and --max-pending must be positive")
	}
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	out, err := a.streamOutput(f.report.output)
	if err != nil {
		return err
	}
	defer out.Discard()
	ver := toolVersion()
	var werr error
	var seen []sniff.Exchange
	emit := func(x sniff.Exchange) {
		if werr != nil {
			return
		}
		if format == "html" {
			if len(seen) <= sniff.MaxPageExchanges {
				seen = append(seen, x)
			}
			return
		}
		if format == "json" {
			werr = sniff.WriteExchangeJSON(out, x, ver)
		} else {
			sniff.WriteExchange(out, x)
		}
	}
	opts := sniff.Options{Interface: f.iface, Netns: f.netns, Name: f.name, PID: f.pid, Comm: f.comm,
		MaxPending: f.maxPending, Explain: f.explain}
	if format == "text" {
		opts.Ready = func() {
			fmt.Fprintf(a.stdio.Err, "nsscope sniff: capturing DNS on %s%s; Ctrl-C ends with a summary\n", f.iface, map[bool]string{true: " in " + f.netns}[f.netns != ""])
		}
	}
	sum, err := sniff.Run(ctx, opts, emit)
	if err == nil && werr == nil {
		werr = writeSniffEnd(out, format, seen, sum, f.explain, ver)
	}
	switch {
	case sniff.IsInputError(err):
		return inputError(err)
	case err != nil:
		return err
	}
	if werr != nil {
		return werr
	}
	return out.Close()
}

// writeSniffEnd writes what follows the capture: the summary (and the
// explanations), or the whole HTML page.
func writeSniffEnd(out io.Writer, format string, seen []sniff.Exchange, sum *sniff.Summary, explain bool, ver string) error {
	switch format {
	case "json":
		return sniff.WriteSummaryJSON(out, sum, ver)
	case "html":
		return waterfall.WritePage(out, sniff.Page(seen, sum))
	}
	sniff.WriteSummary(out, sum)
	if explain {
		sniff.WriteExplanations(out, sum.Explanations)
	}
	return nil
}
