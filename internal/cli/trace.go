package cli

import (
	"net/netip"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
)

// traceFlags holds the parsed command line of "nsscope trace": the lab's
// root and run flags, and where the queries go.
type traceFlags struct {
	lab       labFlags
	upstreams []string
	hostNetns string
}

func newTraceCmd(a *app) *cobra.Command {
	var f traceFlags
	cmd := newVerb(verbSpec{
		use:     "trace [flags] [--] CMD [ARGS...]",
		summary: "run a program in its own network namespace with the real nameservers behind it, and record every query",
		long: `Runs CMD as the lab does (throwaway network, mount, PID and UTS namespaces),
but instead of fake nameservers its resolv.conf lists nsscope's forwarders,
on the far end of a veth pair in the host's network namespace, which relay
every query to the host's real nameservers (the host's resolv.conf, or
--upstream) and record it: time, name, type, upstream, answer, latency.
Prints the timeline as lab does; --check compares it with the model, the
nameservers' behaviour read from what they did.

The program sees the host's resolv.conf with only the nameserver lines
replaced. Nothing outside the namespace changes but the veth's host end,
which the kernel removes with the namespace, also on SIGKILL. Needs root.`,
		exit: `0  the program ran (whatever its own exit status); with --check, as predicted
1  --check: the run differs from the prediction
2  usage error or bad input
3  internal error`,
		examples: `nsscope trace -- getent hosts kubernetes.default
nsscope trace --root alpine-3.13.tar.gz --add ./esbuild:/esbuild --until 'http://|error' \
    --check --go 1.15 --name localhost --network tcp --op listen -- /esbuild --serve=localhost:8000`,
		run: func(cmd *cobra.Command, args []string) error { return runTrace(cmd, a, &f, args) },
	})
	cmd.Flags().SetInterspersed(false)
	l := &f.lab
	addGroup(cmd, "Nameservers", func(fs *pflag.FlagSet) {
		fs.StringVar(&f.hostNetns, "host-netns", "", "the network namespace `FILE` the veth joins and the forwarders relay from (default: nsscope's own), e.g. a pod's /proc/PID/ns/net")
		fs.StringArrayVar(&f.upstreams, "upstream", nil, "relay to `ADDR[:PORT]` instead of the resolv.conf's nameservers (repeatable, 1 to 3)")
		fs.StringVar(&l.resolvConf, "resolv-conf", "/etc/resolv.conf", "the resolv.conf `FILE` the program sees (its nameservers replaced by the forwarders) and whose nameservers are relayed to")
	})
	addGroup(cmd, "Root", l.registerRoot)
	addGroup(cmd, "Run", l.registerRun)
	addGroup(cmd, checkGroup, l.registerCheck)
	addGroup(cmd, programGroup, l.prog.buildFlags.register)
	addGroup(cmd, "Output", func(fs *pflag.FlagSet) { l.report.register(fs, []string{"text", "json"}, false) })
	completeValues(cmd, "format", "text", "json")
	return cmd
}

// runTrace implements "nsscope trace": the lab's spec with the fake
// servers replaced by relays (lab.PrepareTrace), then lab's output and
// check.
func runTrace(cmd *cobra.Command, a *app, f *traceFlags, argv []string) error {
	l := &f.lab
	if len(argv) == 0 {
		return usageErrorf("no program given: nsscope trace [flags] -- CMD [ARGS...]")
	}
	if err := l.report.check(); err != nil {
		return err
	}
	l.set = map[string]bool{}
	if err := l.checkOnly(cmd); err != nil {
		return err
	}
	l.servers = "silent" // unused: the lab's spec wants a scenario
	spec, err := l.spec(a, argv)
	if err != nil {
		return inputError(err)
	}
	hostConf := spec.ResolvConf
	ups, err := traceUpstreams(f.upstreams, spec.Nameservers)
	if err != nil {
		return err
	}
	if f.hostNetns != "" {
		if _, err := os.Stat(f.hostNetns); err != nil {
			return usageErrorf("--host-netns %s: %v", f.hostNetns, err)
		}
	}
	if err := lab.PrepareTrace(&spec, ups, f.hostNetns, ""); err != nil {
		return inputError(err)
	}
	spec.ResolvConf = &model.File{Data: lab.TraceResolvConf(hostConf.Data, spec.Nameservers),
		Origin: hostConf.Origin + ", nameservers replaced by the trace's forwarders"}
	var check *labCheck
	if l.check {
		if check, err = l.prog.check(spec); err != nil {
			return inputError(err)
		}
		check.spec = spec
		check.reading = l.reading
	}
	res, err := lab.Runner{Args: []string{"lab", lab.InitArg}}.Run(cmd.Context(), spec)
	if err != nil {
		if lab.IsInputError(err) {
			return inputError(err)
		}
		return err
	}
	if check != nil {
		check.scenario = lab.TraceScenario(res)
		if err := check.run(res); err != nil {
			return err
		}
	}
	out := a.output(l.report.output)
	if l.report.format == "json" {
		var co *labCheckOut
		if check != nil {
			co = &check.out
		}
		if err := writeLabJSON(out, res, co, nil); err != nil {
			return err
		}
	} else {
		lab.WriteTimeline(out, res)
		if check != nil {
			lab.WriteCheck(out, check.prog, check.req, check.out.Prediction, check.out.Comparison)
		}
	}
	if err := out.Close(); err != nil {
		return err
	}
	if check != nil && !check.out.Comparison.OK() {
		return errFindings
	}
	return nil
}

// traceUpstreams are the --upstream addresses, or else the resolv.conf's
// nameservers, on port 53 unless given.
func traceUpstreams(flags []string, fromConf []netip.Addr) ([]netip.AddrPort, error) {
	var ups []netip.AddrPort
	for _, u := range flags {
		if ap, err := netip.ParseAddrPort(u); err == nil {
			ups = append(ups, ap)
			continue
		}
		a, err := netip.ParseAddr(u)
		if err != nil {
			return nil, usageErrorf("--upstream %q: want an IP address, optionally with :PORT", u)
		}
		ups = append(ups, netip.AddrPortFrom(a, 53))
	}
	if len(flags) == 0 {
		for _, a := range fromConf {
			ups = append(ups, netip.AddrPortFrom(a, 53))
		}
	}
	if len(ups) == 0 || len(ups) > 3 {
		return nil, usageErrorf("%d nameservers to relay to: give 1 to 3 (--upstream, or nameserver lines in --resolv-conf)", len(ups))
	}
	return ups, nil
}
