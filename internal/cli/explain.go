package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/explain"
	"github.com/nsscope/nsscope/grade"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/sysenv"
)

// envFlags: the files and environment a prediction reads (explain; lab
// has its own, since it builds a root the program runs in). The runtime
// flags (runtimeFlags) decide /etc/resolv.conf and /etc/hosts.
type envFlags struct {
	root, nsswitch, hostname string
	env                      []string
}

func (e *envFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&e.root, "root", "", rootUsage("read /etc from a root filesystem or image", "or a registry reference (registry/repo:tag, repo@sha256:...)"))
	fs.StringVar(&e.nsswitch, "nsswitch", "", "use `FILE` as /etc/nsswitch.conf, or \"missing\" for none")
	fs.StringArrayVar(&e.env, "env", nil, "`KEY=VALUE` in the program's environment (GODEBUG, LOCALDOMAIN, RES_OPTIONS, ...); repeatable")
	fs.StringVar(&e.hostname, "hostname", "", "the host `NAME` the program sees")
}

// explainFlags are the parsed flags of the explain verb.
type explainFlags struct {
	envFlags
	rt       runtimeFlags
	build    buildFlags
	network  string
	op       string
	servers  string
	debug    bool
	report   reportFlags
	deadline time.Duration
}

const explainExamples = `nsscope explain localhost
nsscope explain --root alpine-minirootfs-3.13.12-x86_64.tar.gz --resolv-conf node.conf \
    --go 1.15 --network tcp --deadline 30s localhost     # the kube-apiserver incident
nsscope explain --root busybox.tar --runtime docker example.com  # as scan sees the image
nsscope explain --fail-on warning --go 1.21 --cgo on kubernetes.default`

func newExplainCmd(a *app) *cobra.Command {
	var f explainFlags
	cmd := newVerb(verbSpec{
		use:     "explain [flags] [NAME]",
		summary: "predict how a name resolves here, in a root filesystem, or for a given program",
		long: `Predict how NAME (default localhost) resolves: which resolver runs, the
order of /etc/hosts and DNS, every DNS query with its time, the worst case
against the deadline, and the error text the program would print. Every
decision cites the file and line that caused it. The verdict of each
program is FAILS (an error, or the deadline reached), SLOW (DNS asked
before /etc/hosts answers, or a second spent) or OK; --fail-on turns them
into the exit code (FAILS is critical, SLOW a warning, OK info).`,
		exit: `0  every verdict below --fail-on (default: none FAILS)
1  a verdict at or above --fail-on
2  usage error or bad input
3  internal error`,
		examples: explainExamples,
		run:      func(cmd *cobra.Command, args []string) error { return runExplain(cmd, a, &f, args) },
	})
	addGroup(cmd, "Environment (default: this host's /etc)", f.envFlags.register)
	addGroup(cmd, runtimeGroup, func(fs *pflag.FlagSet) {
		f.rt.register(fs, []string{string(grade.Kubernetes), string(grade.Docker), string(grade.None)}, true)
		// The default depends on --root (explainRuntime): no single value.
		rf := fs.Lookup("runtime")
		rf.DefValue = ""
		rf.Usage += "; default kubernetes with --root, as scan, and none for this host"
	})
	addGroup(cmd, programGroup, f.build.register)
	addGroup(cmd, "Lookup", func(fs *pflag.FlagSet) {
		fs.StringVar(&f.network, "network", "ip", "`NET`: ip, ip4, ip6, tcp, tcp4, tcp6, udp, udp4, udp6")
		fs.StringVar(&f.op, "op", "", "`OP`: dial, listen, lookup-ip, lookup-host (default: dial for tcp/udp, lookup-ip for ip)")
		fs.DurationVar(&f.deadline, "deadline", 0, "the caller's deadline, e.g. 30s (default none)")
		fs.StringVar(&f.servers, "servers", "silent", "how nameservers behave, one `SPEC` for all or a comma list in nameserver order: silent, refuse, nxdomain, servfail, refused, nodata, answer=ADDR, delay=DUR, truncate")
	})
	addGroup(cmd, "Output", func(fs *pflag.FlagSet) {
		f.report.register(fs, []string{"text", "json", "html"}, true)
		fs.BoolVar(&f.debug, "debug-output", false, "text: also print what GODEBUG=netdns=…+2 would print")
	})
	completeValues(cmd, "format", "text", "json", "html")
	completeValues(cmd, "fail-on", "critical", "warning", "info")
	completeValues(cmd, "cgo", "on", "off")
	completeValues(cmd, "network", "ip", "ip4", "ip6", "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6")
	completeValues(cmd, "op", model.Operations()...)
	completeValues(cmd, "runtime", "kubernetes", "docker", "none")
	return cmd
}

func runExplain(cmd *cobra.Command, a *app, f *explainFlags, args []string) error {
	req, progs, sc, err := f.request(a, args)
	if err != nil {
		return err
	}
	rt, err := f.runtime(cmd, a)
	if err != nil {
		return err
	}
	src := sysenv.Host()
	if f.root != "" {
		root, err := a.rootArg(f.root)
		if err != nil {
			return err
		}
		src, err = sysenv.Root(cmd.Context(), root)
		if err != nil {
			return inputError(fmt.Errorf("--root: %w", err))
		}
	}
	defer src.Close()
	env, assumptions, err := f.environment(a, rt, src)
	if err != nil {
		return err
	}
	res, err := explain.Run(explain.Input{
		EnvLabel:    src.Label,
		Env:         env,
		Programs:    progs,
		Request:     req,
		Scenario:    sc,
		Libc:        src.Libc(),
		Assumptions: assumptions,
		ToolVersion: toolVersion(),
	})
	if err != nil {
		return inputError(err)
	}
	out := a.output(f.report.output)
	switch f.report.format {
	case "json":
		err = explain.WriteJSON(out, res)
	case "html":
		err = explain.WriteHTML(out, res)
	default:
		err = explain.WriteText(out, res, explain.TextOptions{Debug: f.debug, Color: a.color(f.report.output), Width: a.width()})
	}
	if err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if explainFails(res, f.report.threshold()) {
		return errFindings
	}
	return nil
}

// request reads the lookup to explain from the arguments and flags: the
// name (default localhost), how it is looked up, the program (none: the
// typical ones) and how the nameservers behave.
func (f *explainFlags) request(a *app, args []string) (model.Request, []model.Program, model.Scenario, error) {
	var req model.Request
	var sc model.Scenario
	name := "localhost"
	switch len(args) {
	case 0:
	case 1:
		name = args[0]
		if err := checkHostName(name); err != nil {
			return req, nil, sc, usageErrorf("NAME %q: %v", name, err)
		}
	default:
		return req, nil, sc, usageErrorf("one name at a time, got %d: %s", len(args), strings.Join(args, " "))
	}
	if err := f.report.check(); err != nil {
		return req, nil, sc, err
	}
	if f.debug && f.report.format != "text" {
		return req, nil, sc, usageErrorf("--debug-output does nothing with --format %s (it adds to the text)", f.report.format)
	}
	if err := checkNetwork(f.network); err != nil {
		return req, nil, sc, err
	}
	if f.deadline < 0 {
		return req, nil, sc, usageErrorf("--deadline %s: must not be negative", f.deadline)
	}
	var progs []model.Program
	prog, err := f.build.program()
	switch {
	case err == nil:
		progs = []model.Program{prog}
	case err != errNoDescription:
		return req, nil, sc, err
	}
	for _, n := range f.build.notes {
		fmt.Fprintf(a.stdio.Err, "nsscope explain: note: %s\n", n)
	}
	sc, err = model.ParseScenario(f.servers)
	if err != nil {
		return req, nil, sc, usageErrorf("--servers %s: %v", f.servers, err)
	}
	op := defaultOp(f.op, f.network)
	if err := checkOp(op); err != nil {
		return req, nil, sc, err
	}
	req = model.Request{Name: name, Network: f.network, Op: op, Dial: op == model.OpDial, Deadline: model.Seconds(f.deadline)}
	return req, progs, sc, nil
}

// runtime is the runtime the flags describe (see explainRuntime for the
// default), refusing pod flags where this host's files are read as they
// are.
func (f *explainFlags) runtime(cmd *cobra.Command, a *app) (grade.Runtime, error) {
	f.rt.runtime = explainRuntime(cmd, f.rt.runtime, f.root)
	if c := changed(cmd, "namespace", "cluster-domain", "cluster-dns", "host-network"); len(c) > 0 && !cmd.Flags().Changed("runtime") && f.root == "" {
		return grade.Runtime{}, usageErrorf("%s: this host's files are read as they are (--runtime none, the default without --root); give --runtime kubernetes to predict a pod", strings.Join(c, ", "))
	}
	if err := f.rt.check(cmd); err != nil {
		return grade.Runtime{}, err
	}
	return f.rt.assumption(a)
}

// environment is what the program sees in src under rt (as scan decides
// it for the same root), with --nsswitch, --env and --hostname applied.
func (f *explainFlags) environment(a *app, rt grade.Runtime, src *sysenv.Source) (model.Env, []string, error) {
	var nss *model.File
	if f.nsswitch != "" {
		var err error
		if nss, err = a.confFile("--nsswitch", f.nsswitch, model.PathNSSwitch, true); err != nil {
			return model.Env{}, nil, err
		}
	}
	env, assumptions, err := rt.Env(src, nss)
	if err != nil {
		return model.Env{}, nil, inputError(err)
	}
	for _, kv := range f.env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return model.Env{}, nil, usageErrorf("--env %q: want KEY=VALUE", kv)
		}
		env.Vars[k] = v
	}
	if f.hostname != "" {
		env.Hostname, env.HostnameErr = f.hostname, false
	}
	return env, assumptions, nil
}

// explainRuntime is the runtime explain assumes: the one given, else
// scan's default (kubernetes) for a --root, which is an image or a root
// run by a runtime, and none for this host, whose own files its programs
// read.
func explainRuntime(cmd *cobra.Command, given, root string) string {
	if cmd.Flags().Changed("runtime") {
		return given
	}
	if root == "" {
		return string(grade.None)
	}
	return string(grade.Kubernetes)
}

// explainFails reports whether a verdict is at or above the threshold:
// FAILS counts as critical, SLOW as warning, OK as info.
func explainFails(res *explain.Result, th report.Severity) bool {
	for _, p := range res.Predictions {
		if verdictSeverity(p) >= th {
			return true
		}
	}
	return false
}

func verdictSeverity(p *model.Prediction) report.Severity {
	switch w, _ := explain.Verdict(p); w {
	case "FAILS":
		return report.Critical
	case "SLOW":
		return report.Warning
	}
	return report.Info
}
