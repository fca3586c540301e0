package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/scan"
)

const scanUsage = `Usage: nsscope scan [flags] TARGET

Find every program in TARGET that resolves host names, predict how each
one looks up the names to check (default: localhost) with every nameserver
silent, and grade it: critical (a name /etc/hosts answers goes to DNS first
and reaches the deadline), warning (DNS first but within the deadline, or
the outcome depends on something unknown), info (safe).

TARGET is a directory (/ for this host), a root filesystem tarball (.tar,
.tar.gz, .tar.zst), a docker save archive, an OCI image layout (directory
or tar), or a registry reference (registry/repo:tag, repo@sha256:...).

Flags:
  --runtime kubernetes|docker|none
                     what injects /etc/resolv.conf and /etc/hosts (default
                     kubernetes: ClusterFirst, kubelet-managed /etc/hosts;
                     none: the target's own files)
  --namespace NS     the pod's namespace (default default)
  --cluster-domain D the cluster domain (default cluster.local)
  --cluster-dns IP   the cluster DNS service address (default 10.96.0.10)
  --host-network     a hostNetwork pod: the node's resolv.conf and hosts
                     (--resolv-conf/--hosts, else this machine's)
  --resolv-conf FILE the /etc/resolv.conf the programs see (replaces the
                     runtime's)
  --hosts FILE       the /etc/hosts the programs see (replaces the runtime's)
  --name NAME        a host name to check (repeatable; default localhost)
  --deadline D       the caller's deadline for one dial (default 30s)
  --platform P       the image to pick from a multi-platform index (default
                     linux/amd64)
  --insecure         allow plain-HTTP registries
  --format F         text, json, sarif or html (default text)
  -v                 text: show the reasons and every fix
  --fail-on S        exit 1 when a finding is at or above S: critical,
                     warning or info (default critical)

Exit codes: 0 nothing at or above --fail-on, 1 findings, 2 usage error or
bad input, 3 internal error.

Examples:
  nsscope scan --runtime kubernetes alpine-app.tar
  nsscope scan --format sarif --fail-on warning registry.example/app:1.4 > scan.sarif
  nsscope scan --runtime none -v /
`

// scanFlags are the parsed flags of the scan verb.
type scanFlags struct {
	runtime       string
	namespace     string
	clusterDomain string
	clusterDNS    string
	hostNetwork   bool
	resolvConf    string
	hosts         string
	names         nameList
	deadline      time.Duration
	platform      string
	insecure      bool
	format        string
	verbose       bool
	failOn        string
}

// nameList collects a repeatable --name.
type nameList []string

func (n *nameList) String() string { return strings.Join(*n, ",") }
func (n *nameList) Set(v string) error {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 253 || strings.ContainsAny(v, " \t\n/") {
		return fmt.Errorf("%q is not a host name", v)
	}
	*n = append(*n, v)
	return nil
}

func parseScanFlags(args []string, stderr io.Writer) (*scanFlags, []string, error) {
	var f scanFlags
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.runtime, "runtime", string(scan.Kubernetes), "")
	fs.StringVar(&f.namespace, "namespace", kube.DefaultNamespace, "")
	fs.StringVar(&f.clusterDomain, "cluster-domain", kube.DefaultClusterDomain, "")
	fs.StringVar(&f.clusterDNS, "cluster-dns", kube.DefaultClusterDNS, "")
	fs.BoolVar(&f.hostNetwork, "host-network", false, "")
	fs.StringVar(&f.resolvConf, "resolv-conf", "", "")
	fs.StringVar(&f.hosts, "hosts", "", "")
	fs.Var(&f.names, "name", "")
	fs.DurationVar(&f.deadline, "deadline", scan.DefaultDeadline, "")
	fs.StringVar(&f.platform, "platform", target.DefaultPlatform, "")
	fs.BoolVar(&f.insecure, "insecure", false, "")
	fs.StringVar(&f.format, "format", string(report.FormatText), "")
	fs.BoolVar(&f.verbose, "v", false, "")
	fs.StringVar(&f.failOn, "fail-on", report.Critical.String(), "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, scanUsage)
			return nil, nil, errHelp
		}
		return nil, nil, usageErrorf("%v (run 'nsscope scan -h')", err)
	}
	if fs.NArg() != 1 {
		return nil, nil, usageErrorf("want exactly one TARGET, got %d (run 'nsscope scan -h')", fs.NArg())
	}
	if f.deadline <= 0 {
		return nil, nil, usageErrorf("--deadline %s: want a positive duration", f.deadline)
	}
	if _, err := scan.ParseRuntimeKind(f.runtime); err != nil {
		return nil, nil, usageErrorf("--runtime: %v", err)
	}
	if f.hostNetwork && f.runtime != string(scan.Kubernetes) {
		return nil, nil, usageErrorf("--host-network needs --runtime kubernetes")
	}
	if _, err := report.ParseFormat(f.format); err != nil {
		return nil, nil, usageErrorf("--format: %v", err)
	}
	if _, err := report.ParseSeverity(f.failOn); err != nil {
		return nil, nil, usageErrorf("--fail-on: %v", err)
	}
	return &f, fs.Args(), nil
}

// runScan implements `nsscope scan`.
func runScan(ctx context.Context, args []string, stdio Stdio, env []string) error {
	f, rest, err := parseScanFlags(args, stdio.Err)
	if err != nil {
		return err
	}
	rt, err := f.runtimeAssumption()
	if err != nil {
		return inputError(err)
	}
	format, _ := report.ParseFormat(f.format)
	threshold, _ := report.ParseSeverity(f.failOn)

	prog := newProgress(stdio.Err)
	defer prog.done()
	t, err := target.Open(ctx, rest[0], target.Options{
		Platform: f.platform,
		Insecure: f.insecure,
		Progress: prog.update,
	})
	if err != nil {
		return targetError(err)
	}
	defer t.Close()
	in, err := scanInput(ctx, t, rest[0])
	if err != nil {
		return targetError(err)
	}
	prog.done()
	in.Runtime = rt
	in.Names = f.names
	in.Deadline = f.deadline
	rep, err := scan.Run(in)
	if err != nil {
		return inputError(err)
	}
	rep.Version = toolVersion()
	return writeReport(stdio.Out, rep, format, report.TextOptions{Verbose: f.verbose}, threshold)
}

// runtimeAssumption turns the runtime flags into scan.Runtime, reading
// the files given.
func (f *scanFlags) runtimeAssumption() (scan.Runtime, error) {
	kind, _ := scan.ParseRuntimeKind(f.runtime)
	rt := scan.Runtime{
		Kind:          kind,
		Namespace:     f.namespace,
		ClusterDomain: f.clusterDomain,
		ClusterDNS:    f.clusterDNS,
		HostNetwork:   f.hostNetwork,
	}
	var resolv, hosts *model.File
	if f.resolvConf != "" {
		r, err := readConfFile(f.resolvConf, "/etc/resolv.conf")
		if err != nil {
			return rt, err
		}
		resolv = r
	}
	if f.hosts != "" {
		h, err := readConfFile(f.hosts, "/etc/hosts")
		if err != nil {
			return rt, err
		}
		hosts = h
	}
	if !f.hostNetwork {
		rt.ResolvConf, rt.Hosts = resolv, hosts
		return rt, nil
	}
	// A hostNetwork pod sees the node's files: the ones given, else this
	// machine's (nsscope then runs on the node).
	var err error
	if resolv == nil {
		if resolv, err = readConfFile("/etc/resolv.conf", "/etc/resolv.conf"); err != nil {
			return rt, fmt.Errorf("--host-network: this machine's resolv.conf: %w (give --resolv-conf)", err)
		}
		resolv.Origin = "this machine's /etc/resolv.conf"
	}
	if hosts == nil {
		if hosts, err = readConfFile("/etc/hosts", "/etc/hosts"); err != nil {
			return rt, fmt.Errorf("--host-network: this machine's hosts: %w (give --hosts)", err)
		}
		hosts.Origin = "this machine's /etc/hosts"
	}
	rt.NodeResolvConf, rt.NodeHosts = resolv, hosts
	return rt, nil
}

// maxConfFile caps the configuration files read from flags.
const maxConfFile = 1 << 20

func readConfFile(name, as string) (*model.File, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxConfFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxConfFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxConfFile)
	}
	return &model.File{Path: as, Origin: name, Data: data}, nil
}

// targetError classifies an error from reading the target: bad or
// missing input exits 2, a cancelled context or an unexpected failure 3.
func targetError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return inputError(err)
}

// toolVersion is the module version nsscope was built as.
func toolVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
