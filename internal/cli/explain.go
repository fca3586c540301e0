package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nsscope/nsscope/explain"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/sysenv"
)

const explainUsage = `usage: nsscope explain [flags] [NAME]

Predict how NAME (default localhost) resolves: which resolver runs, the
order of /etc/hosts and DNS, every DNS query with its time, the worst case
against the deadline, and the error text the program would print. Every
decision cites the file and line that caused it.

Environment (default: this host's /etc):
  --root DIR|TARBALL      read /etc from a root filesystem (directory or .tar[.gz|.zst])
  --resolv-conf FILE      use FILE as /etc/resolv.conf
  --nsswitch FILE|missing use FILE as /etc/nsswitch.conf, or treat it as absent
  --hosts FILE|missing    use FILE as /etc/hosts
  --env KEY=VALUE         the program's environment (GODEBUG, LOCALDOMAIN, RES_OPTIONS, ...); repeatable
  --hostname NAME         the host name the program sees

Program (default: typical programs side by side):
  --go VERSION            a Go program built with this Go (1.10 to 1.27), e.g. 1.15 or 1.21.3
  --cgo on|off            cgo resolver compiled in (default off: CGO_ENABLED=0)
  --tags LIST             build tags: netgo, netcgo
  --default-godebug S     the binary's DefaultGODEBUG build setting (Go 1.21+)
  --prefer-go, --strict-errors   net.Resolver fields the program sets
  --libc KIND-VERSION     glibc-2.31 or musl-1.2.3: the C library (alone: a C program;
                          with --go --cgo on: the library the cgo resolver calls)

Lookup:
  --network NET           ip, ip4, ip6, tcp, tcp4, tcp6, udp, udp4, udp6 (default ip)
  --op OP                 dial, listen, lookup-ip, lookup-host (default: dial for tcp/udp, lookup-ip for ip)
  --deadline DUR          the caller's deadline, e.g. 30s (default none)
  --servers SPEC          how nameservers behave: silent, refuse, nxdomain, servfail, refused,
                          nodata, answer=ADDR, delay=DUR, truncate; one for all or a comma
                          list in nameserver order (default silent)

Output:
  --format text|json      (default text)
  --debug-output          also print what GODEBUG=netdns=…+2 would print

Example (the kube-apiserver incident):
  nsscope explain --root alpine-minirootfs-3.13.12-x86_64.tar.gz --resolv-conf node.conf \
      --go 1.15 --network tcp --deadline 30s localhost
`

func runExplain(ctx context.Context, args []string, stdio Stdio, environ []string) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		root, resolvConf, nsswitch, hosts, hostname string
		network, op, servers, format                string
		deadline                                    time.Duration
		debug                                       bool
		envs                                        multiFlag
		build                                       buildFlags
	)
	fs.StringVar(&root, "root", "", "")
	fs.StringVar(&resolvConf, "resolv-conf", "", "")
	fs.StringVar(&nsswitch, "nsswitch", "", "")
	fs.StringVar(&hosts, "hosts", "", "")
	fs.StringVar(&hostname, "hostname", "", "")
	fs.Var(&envs, "env", "")
	build.register(fs)
	fs.StringVar(&network, "network", "ip", "")
	fs.StringVar(&op, "op", "", "")
	fs.DurationVar(&deadline, "deadline", 0, "")
	fs.StringVar(&servers, "servers", "silent", "")
	fs.StringVar(&format, "format", "text", "")
	fs.BoolVar(&debug, "debug-output", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdio.Out, explainUsage)
			return nil
		}
		return usageErrorf("%v (run 'nsscope explain -h')", err)
	}
	name := "localhost"
	switch fs.NArg() {
	case 0:
	case 1:
		name = fs.Arg(0)
	default:
		return usageErrorf("one name at a time, got %d: %s", fs.NArg(), strings.Join(fs.Args(), " "))
	}
	if format != "text" && format != "json" {
		return usageErrorf("--format %q: want text or json", format)
	}
	if deadline < 0 {
		return usageErrorf("--deadline %s: must not be negative", deadline)
	}
	var progs []model.Program
	prog, err := build.program()
	switch {
	case err == nil:
		progs = []model.Program{prog}
	case err != errNoDescription:
		return err
	}
	sc, err := model.ParseScenario(servers)
	if err != nil {
		return usageErrorf("--servers: %v", err)
	}
	op = defaultOp(op, network)
	if err := checkOp(op); err != nil {
		return err
	}

	src := sysenv.Host()
	if root != "" {
		src, err = sysenv.Root(ctx, root)
		if err != nil {
			return inputError(err)
		}
	}
	defer src.Close()
	env := src.Env()
	for _, o := range []struct {
		f    *model.File
		path string
		flag string
	}{{&env.ResolvConf, resolvConf, "--resolv-conf"}, {&env.NSSwitch, nsswitch, "--nsswitch"}, {&env.Hosts, hosts, "--hosts"}} {
		if o.path == "" {
			continue
		}
		if err := sysenv.Override(o.f, o.path); err != nil {
			return inputError(fmt.Errorf("%s: %w", o.flag, err))
		}
	}
	for _, kv := range envs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageErrorf("--env %q: want KEY=VALUE", kv)
		}
		env.Vars[k] = v
	}
	if hostname != "" {
		env.Hostname, env.HostnameErr = hostname, false
	}
	envLibc := src.Libc()
	if len(progs) == 0 {
		progs = model.Typical(envLibc)
	}
	for i := range progs {
		if progs[i].Impl == model.ImplGo && progs[i].Go.Cgo && !progs[i].Libc.Known() {
			progs[i].Libc = envLibc
		}
	}
	in := explain.Input{
		EnvLabel: src.Label,
		Env:      env,
		Programs: progs,
		Request:  model.Request{Name: name, Network: network, Op: op, Dial: op == model.OpDial, Deadline: deadline},
		Scenario: sc,
		Libc:     envLibc,
	}
	res, err := explain.Run(in)
	if err != nil {
		return inputError(err)
	}
	if format == "json" {
		return explain.WriteJSON(stdio.Out, res)
	}
	return explain.WriteText(stdio.Out, res, explain.TextOptions{Debug: debug})
}
