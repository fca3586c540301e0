package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/grade"
	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

// runtimeFlags: what injects /etc/resolv.conf and /etc/hosts into the
// programs of an image (scan, dockerfile).
type runtimeFlags struct {
	runtime       string
	namespace     string
	clusterDomain string
	clusterDNS    string
	hostNetwork   bool
	resolvConf    string
	hosts         string
	// kinds lists the --runtime values the verb takes, the default first.
	kinds []string
}

// runtimeGroup is the help title of the runtime flags.
const runtimeGroup = "Runtime (what injects /etc/resolv.conf and /etc/hosts)"

func (r *runtimeFlags) register(fs *pflag.FlagSet, kinds []string, hostNetwork bool) {
	r.kinds = kinds
	fs.StringVar(&r.runtime, "runtime", kinds[0], "`KIND`: "+strings.Join(kinds, ", ")+" (kubernetes: ClusterFirst, kubelet-managed /etc/hosts; docker: the daemon's copies of the host's files; none: the target's own files)")
	fs.StringVar(&r.namespace, "namespace", kube.DefaultNamespace, "kubernetes: the pod's `NAMESPACE` (its search list)")
	fs.StringVar(&r.clusterDomain, "cluster-domain", kube.DefaultClusterDomain, "kubernetes: the cluster `DOMAIN`")
	fs.StringVar(&r.clusterDNS, "cluster-dns", kube.DefaultClusterDNS, "kubernetes: the cluster DNS service `IP`")
	if hostNetwork {
		fs.BoolVar(&r.hostNetwork, "host-network", false, "kubernetes: a hostNetwork pod: the node's resolv.conf and hosts (--resolv-conf/--hosts, else this machine's)")
	}
	fs.StringVar(&r.resolvConf, "resolv-conf", "", "the /etc/resolv.conf `FILE` the programs see, replacing the runtime's (- for stdin)")
	fs.StringVar(&r.hosts, "hosts", "", "the /etc/hosts `FILE` the programs see, replacing the runtime's, or \"missing\"")
}

// check refuses an unknown runtime and the flags that do nothing with the
// runtime chosen.
func (r *runtimeFlags) check(cmd *cobra.Command) error {
	if !slices.Contains(r.kinds, r.runtime) {
		return usageErrorf("--runtime %q: want %s", r.runtime, orList(r.kinds))
	}
	if r.runtime != string(grade.Kubernetes) {
		if c := changed(cmd, "namespace", "cluster-domain", "cluster-dns", "host-network"); len(c) > 0 {
			return usageErrorf("%s does nothing with --runtime %s: only --runtime kubernetes uses it", strings.Join(c, ", "), r.runtime)
		}
	}
	if a := net.ParseIP(r.clusterDNS); a == nil {
		return usageErrorf("--cluster-dns %q: not an IP address", r.clusterDNS)
	}
	return nil
}

// assumption turns the runtime flags into grade.Runtime, reading the
// files given.
func (r *runtimeFlags) assumption(a *app) (grade.Runtime, error) {
	kind, _ := grade.ParseRuntimeKind(r.runtime)
	rt := grade.Runtime{
		Kind:          kind,
		Namespace:     r.namespace,
		ClusterDomain: r.clusterDomain,
		ClusterDNS:    r.clusterDNS,
		HostNetwork:   r.hostNetwork,
	}
	var resolv, hosts *model.File
	var err error
	if r.resolvConf != "" {
		if resolv, err = a.confFile("--resolv-conf", r.resolvConf, "/etc/resolv.conf", false); err != nil {
			return rt, err
		}
	}
	if r.hosts != "" {
		if hosts, err = a.confFile("--hosts", r.hosts, "/etc/hosts", true); err != nil {
			return rt, err
		}
	}
	if !r.hostNetwork {
		rt.ResolvConf, rt.Hosts = resolv, hosts
		return rt, nil
	}
	// A hostNetwork pod sees the node's files: the ones given, else this
	// machine's (nsscope then runs on the node).
	if resolv == nil {
		if resolv, err = readHostConf("/etc/resolv.conf"); err != nil {
			return rt, inputError(fmt.Errorf("--host-network: this machine's resolv.conf: %w (give --resolv-conf)", err))
		}
	}
	if hosts == nil {
		if hosts, err = readHostConf("/etc/hosts"); err != nil {
			return rt, inputError(fmt.Errorf("--host-network: this machine's hosts: %w (give --hosts)", err))
		}
	}
	rt.NodeResolvConf, rt.NodeHosts = resolv, hosts
	return rt, nil
}

// readHostConf reads one of this machine's configuration files.
func readHostConf(path string) (*model.File, error) {
	data, err := readLimited(path, maxConfFile)
	if err != nil {
		return nil, err
	}
	return &model.File{Path: path, Origin: "this machine's " + path, Data: data}, nil
}

// scanFlags are the parsed flags of the scan verb.
type scanFlags struct {
	rt      runtimeFlags
	lookup  lookupFlags
	image   imageFlags
	cache   cacheFlags
	report  reportFlags
	verbose bool
	// failOnNone makes a target with no program that resolves names a
	// failure (exit 1), for CI gates that must not pass on an empty image.
	failOnNone bool
	// progress is --progress: auto, lines or never.
	progress string
}

var reportFormats = []string{"text", "json", "sarif", "html"}

func newScanCmd(a *app) *cobra.Command {
	var f scanFlags
	cmd := newVerb(verbSpec{
		use:     "scan [flags] TARGET",
		summary: "find programs in a host, root filesystem or image and give a verdict for each",
		long: `Find every program in TARGET that resolves host names, predict how each
one looks up the names to check (default: localhost) with every nameserver
silent, and grade it: critical (a name /etc/hosts answers goes to DNS first
and reaches the deadline), warning (DNS first but within the deadline, or
the outcome depends on something unknown), info (safe).

TARGET is a directory (/ for this host), a root filesystem tarball (.tar,
.tar.gz, .tar.zst), a docker save archive, an OCI image layout (directory
or tar), - (any of the tarballs on standard input), or a registry reference
(registry/repo:tag, repo@sha256:...). A reference never begins with '-'.`,
		exit: exitReport,
		examples: `nsscope scan alpine-app.tar --runtime kubernetes
nsscope scan registry.example/app:1.4 --format sarif --fail-on warning --output scan.sarif
nsscope scan --runtime none -v /`,
		run: func(cmd *cobra.Command, args []string) error { return runScan(cmd, a, &f, args) },
	})
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "text: show the reasons and every fix")
	addGroup(cmd, runtimeGroup, func(fs *pflag.FlagSet) {
		f.rt.register(fs, []string{string(grade.Kubernetes), string(grade.Docker), string(grade.None)}, true)
	})
	addGroup(cmd, "Lookup", func(fs *pflag.FlagSet) { f.lookup.register(fs, grade.DefaultDeadline, "localhost") })
	addGroup(cmd, "Image", f.image.register)
	addGroup(cmd, cacheGroup, f.cache.register)
	addGroup(cmd, "Output", func(fs *pflag.FlagSet) {
		f.report.register(fs, reportFormats, true)
		registerProgress(fs, &f.progress)
		fs.BoolVar(&f.failOnNone, "fail-on-none", false, "exit 1 when the target has no program that resolves host names (a CI gate must not pass on what it cannot see)")
	})
	completeReportFlags(cmd, reportFormats)
	completeValues(cmd, "runtime", "kubernetes", "docker", "none")
	return cmd
}

// completeReportFlags offers the values of the report group.
func completeReportFlags(cmd *cobra.Command, formats []string) {
	completeValues(cmd, "format", formats...)
	completeValues(cmd, "fail-on", "critical", "warning", "info")
}

// runScan implements `nsscope scan`.
func runScan(cmd *cobra.Command, a *app, f *scanFlags, args []string) error {
	if len(args) != 1 {
		return usageErrorf("want exactly one TARGET, got %d", len(args))
	}
	for _, check := range []func() error{func() error { return f.rt.check(cmd) }, f.lookup.check, f.report.check, func() error { return checkProgress(f.progress) }, func() error { return f.cache.check(cmd) }} {
		if err := check(); err != nil {
			return err
		}
	}
	spec, label := args[0], args[0]
	if err := checkTargetRef("TARGET", spec); err != nil {
		return err
	}
	if spec == "-" {
		var err error
		if spec, err = a.stdinTarball("TARGET", maxStdinTarball); err != nil {
			return err
		}
		label = "standard input"
	}
	rt, err := f.rt.assumption(a)
	if err != nil {
		return err
	}
	format, _ := report.ParseFormat(f.report.format)
	ctx := cmd.Context()
	counts := &target.Counts{}
	prog := newProgress(a.stdio.Err, f.progress, counts)
	defer prog.done()
	t, err := target.Open(ctx, spec, target.Options{
		Platform: f.image.platform,
		Insecure: f.image.insecure,
		Counts:   counts,
		Images:   f.image.stores,
		Cache:    f.cache.layers(a.env, a.stdio.Err, "scan"),
	})
	if err != nil {
		return targetError(err)
	}
	defer t.Close()
	in, err := scanInput(ctx, t, label)
	if err != nil {
		return targetError(err)
	}
	prog.done()
	in.Runtime = rt
	in.Names = f.lookup.names
	in.Deadline = f.lookup.deadline
	rep, err := grade.Run(in)
	if err != nil {
		return inputError(err)
	}
	rep.Version = toolVersion()
	none := grade.NoneFound(rep)
	if none {
		fmt.Fprintf(a.stdio.Err, "nsscope scan: %s\n", grade.NoneFoundMessage(label))
	}
	err = writeReport(a.output(f.report.output), rep, format, report.TextOptions{Verbose: f.verbose, Color: a.color(f.report.output)}, f.report.threshold())
	if err == nil && none && f.failOnNone {
		return errFindings
	}
	return err
}

// targetError classifies an error from reading the target: bad or
// missing input exits 2, a cancelled context or an unexpected failure 3.
func targetError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return inputError(err)
}
