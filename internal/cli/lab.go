package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
)

const labUsage = `Usage: nsscope lab [flags] -- CMD [ARGS...]

Runs CMD in throwaway network, mount, PID and UTS namespaces with fake
nameservers, and prints every DNS message they receive with its time, the
program's output and the total time. Nothing outlives the run.

Examples:
  nsscope lab --servers silent --search "ns.svc.cluster.local svc.cluster.local" \
      --options "ndots:5 timeout:1 attempts:1" -- /usr/bin/getent hosts example
  nsscope lab --root alpine-3.13.tar.gz --add ./esbuild --until 'http://|error' \
      --check --go 1.15 --name localhost --network tcp --op listen -- /esbuild --serve=localhost:8000

Flags:
`

// labFlags holds the parsed command line of "nsscope lab".
type labFlags struct {
	servers, resolvConf, search, options string
	nameservers                          int
	hosts, nsswitch, root, hostname      string
	until, format, tmp                   string
	timeout                              time.Duration
	rootless, check                      bool
	env, add                             multiFlag
	prog                                 programFlags
	set                                  map[string]bool // flags given
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// runLab implements "nsscope lab". When re-executed with lab.InitArg it is
// the lab's namespace init instead (internal; see package lab).
func runLab(ctx context.Context, args []string, stdio Stdio, env []string) error {
	if len(args) > 0 && args[0] == lab.InitArg {
		if code := lab.InitMain(stdio.In, stdio.Out); code != 0 {
			return &ExitError{Code: code}
		}
		return nil
	}
	var f labFlags
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	// Parse errors are reported by Main as one line; -h prints the usage.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&f.servers, "servers", "silent", "server behaviour, one for all or a comma list in nameserver order: silent|refuse|nxdomain|servfail|refused|nodata|answer=ADDR[+ADDR]|delay=DUR|truncate, items joined by / (answer=127.0.0.9/delay=2s)")
	fs.IntVar(&f.nameservers, "nameservers", 3, "number of fake nameservers (127.0.0.53, .54, ...) when --resolv-conf is not given")
	fs.StringVar(&f.resolvConf, "resolv-conf", "", "the program's resolv.conf; its nameserver addresses are faked inside the namespace")
	fs.StringVar(&f.search, "search", "", "search list of the generated resolv.conf (space-separated)")
	fs.StringVar(&f.options, "options", "", "options of the generated resolv.conf, e.g. \"ndots:5 timeout:1 attempts:1\"")
	fs.StringVar(&f.hosts, "hosts", "", "the program's /etc/hosts, or \"missing\" (default: the root's own)")
	fs.StringVar(&f.nsswitch, "nsswitch", "", "the program's /etc/nsswitch.conf, or \"missing\" (default: the root's own)")
	fs.StringVar(&f.root, "root", "", "the program's root: a directory or a tar(.gz) file, never modified (default: the host's root)")
	fs.Var(&f.add, "add", "HOSTFILE[:PATH] makes a host file visible in the --root at PATH (default /BASENAME) (repeatable)")
	fs.StringVar(&f.hostname, "hostname", lab.DefaultHostname, "host name inside the lab")
	fs.Var(&f.env, "env", "KEY=VALUE for the program's environment (repeatable; the default environment is PATH only)")
	fs.StringVar(&f.until, "until", "", "end the run when a line of output matches this regular expression (for servers that never exit)")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "kill the program after this long")
	fs.BoolVar(&f.rootless, "rootless", false, "use a user namespace even when root (automatic when not root)")
	fs.StringVar(&f.tmp, "tmp", "", "directory for the run's private mount point (default $TMPDIR or /tmp)")
	fs.StringVar(&f.format, "format", "text", "output format: text or json")
	fs.BoolVar(&f.check, "check", false, "predict the run with the model and print every difference; exit 1 on a mismatch")
	f.prog.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdio.Out, labUsage)
			fs.SetOutput(stdio.Out)
			fs.PrintDefaults()
			return nil
		}
		return usageErrorf("%v", err)
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	argv := fs.Args()
	if len(argv) == 0 {
		return usageErrorf("no program given: nsscope lab [flags] -- CMD [ARGS...]")
	}
	if f.format != "text" && f.format != "json" {
		return usageErrorf("--format %q: want text or json", f.format)
	}
	spec, err := f.spec(argv, env)
	if err != nil {
		return inputError(err)
	}
	var check *labCheck
	if f.check {
		if check, err = f.prog.check(spec); err != nil {
			return inputError(err)
		}
		check.spec = spec
	}
	res, err := lab.Runner{Args: []string{"lab", lab.InitArg}}.Run(ctx, spec)
	if err != nil {
		if lab.IsInputError(err) {
			return inputError(err)
		}
		return err
	}
	if check != nil {
		if err := check.run(res); err != nil {
			return err
		}
	}
	if f.format == "json" {
		out := struct {
			Run   *lab.Result  `json:"run"`
			Check *labCheckOut `json:"check,omitempty"`
		}{Run: res}
		if check != nil {
			out.Check = &check.out
		}
		enc := json.NewEncoder(stdio.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		lab.WriteTimeline(stdio.Out, res)
		if check != nil {
			lab.WriteCheck(stdio.Out, check.prog, check.req, check.out.Prediction, check.out.Comparison)
		}
	}
	if check != nil && !check.out.Comparison.OK() {
		return errFindings
	}
	return nil
}

// spec turns the flags into a lab.Spec, reading the files named.
func (f *labFlags) spec(argv, _ []string) (lab.Spec, error) {
	spec := lab.Spec{
		Argv:     argv,
		Hostname: f.hostname,
		Root:     f.root,
		Until:    f.until,
		Timeout:  f.timeout,
		Rootless: f.rootless,
		TempDir:  f.tmp,
		Env:      []string{"PATH=" + lab.DefaultPath},
	}
	if f.timeout <= 0 {
		return spec, fmt.Errorf("--timeout %s: want a positive duration", f.timeout)
	}
	for _, kv := range f.env {
		if !strings.Contains(kv, "=") || strings.HasPrefix(kv, "=") {
			return spec, fmt.Errorf("--env %q: want KEY=VALUE", kv)
		}
		spec.Env = append(spec.Env, kv)
	}
	for _, a := range f.add {
		src, dst, ok := strings.Cut(a, ":")
		if !ok {
			dst = "/" + filepath.Base(src)
		}
		spec.Add = append(spec.Add, lab.Add{Src: src, Dst: dst})
	}
	sc, err := model.ParseScenario(f.servers)
	if err != nil {
		return spec, fmt.Errorf("--servers: %w", err)
	}
	spec.Scenario = sc
	if f.resolvConf != "" {
		if f.set["search"] || f.set["options"] || f.set["nameservers"] {
			return spec, errors.New("--resolv-conf excludes --search, --options and --nameservers")
		}
		data, err := readInput(f.resolvConf)
		if err != nil {
			return spec, fmt.Errorf("--resolv-conf: %w", err)
		}
		spec.ResolvConf = lab.File{Data: data, Origin: f.resolvConf}
		spec.Nameservers = lab.Nameservers(data)
	} else {
		if f.nameservers < 1 || f.nameservers > model.MaxNameservers {
			return spec, fmt.Errorf("--nameservers %d: want 1 to %d", f.nameservers, model.MaxNameservers)
		}
		spec.Nameservers = lab.DefaultNameservers(f.nameservers)
		spec.ResolvConf = lab.File{Data: lab.ResolvConf(spec.Nameservers, f.search, f.options), Origin: "generated by nsscope lab"}
	}
	spec.Hosts = lab.File{Keep: true}
	if f.hosts == "missing" {
		spec.Hosts = lab.File{Missing: true, Origin: "--hosts missing"}
	} else if f.hosts != "" {
		data, err := readInput(f.hosts)
		if err != nil {
			return spec, fmt.Errorf("--hosts: %w", err)
		}
		spec.Hosts = lab.File{Data: data, Origin: f.hosts}
	}
	spec.NSSwitch = lab.File{Keep: true}
	switch f.nsswitch {
	case "":
	case "missing":
		spec.NSSwitch = lab.File{Missing: true, Origin: "--nsswitch missing"}
	default:
		data, err := readInput(f.nsswitch)
		if err != nil {
			return spec, fmt.Errorf("--nsswitch: %w", err)
		}
		spec.NSSwitch = lab.File{Data: data, Origin: f.nsswitch}
	}
	return spec, nil
}

// readInput reads a small configuration file given on the command line.
func readInput(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > 1<<20 {
		return nil, fmt.Errorf("%s is larger than 1 MiB", path)
	}
	return os.ReadFile(path)
}

// labCheck is a --check in progress: the program and request described on
// the command line, and the outcome once the run is done.
type labCheck struct {
	// fromBinary: no flag described the program; read it after the run.
	fromBinary bool
	spec       lab.Spec
	prog       model.Program
	req        model.Request
	scenario   model.Scenario
	out        labCheckOut
}

// labCheckOut is the --check part of the output.
type labCheckOut struct {
	Prediction *model.Prediction `json:"prediction"`
	Comparison lab.Comparison    `json:"comparison"`
}

// run predicts the run from the files the program actually saw, and
// compares.
func (c *labCheck) run(res *lab.Result) error {
	if c.fromBinary {
		prog, err := inspectProgram(c.spec, res)
		if err != nil {
			return inputError(err)
		}
		c.prog = prog
	}
	p, err := model.Predict(res.ModelEnv(), c.prog, c.req, c.scenario)
	if err != nil {
		return inputError(fmt.Errorf("--check: the model cannot predict this run: %w", err))
	}
	c.out.Prediction = p
	// The program does not say when its lookup starts: align the first
	// exchanges, which takes its own start-up time out of the comparison.
	obs := lab.Observation{Exchanges: res.Exchanges(), Total: res.Total, AnchorFirst: true, Debug: lab.DebugLines(res.Output)}
	switch res.Ended {
	case "until":
		ok := true
		obs.Succeeded = &ok
	case "exit":
		ok := res.ExitCode == 0
		obs.Succeeded = &ok
	}
	c.out.Comparison = lab.Compare(p, obs)
	return nil
}
