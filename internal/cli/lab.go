package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/internal/jsonstyle"
	"github.com/nsscope/nsscope/internal/realk8s"
	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/waterfall"
)

// labSchemaVersion is the version of lab's and trace's JSON document (run,
// check). Version 2: the files are model.File objects under
// resolv_conf, hosts and nsswitch_conf (version 1 said nsswitch).
const labSchemaVersion = 2

// writeLabJSON writes lab's and trace's JSON document: the envelope, the
// run, its --check and the apiserver check (nil: none), empty lists as []
// (jsonstyle.Write).
func writeLabJSON(w io.Writer, res *lab.Result, check *labCheckOut, api *realk8s.Check) error {
	doc := struct {
		jsonstyle.Envelope
		Run   *lab.Result  `json:"run"`
		Check *labCheckOut `json:"check,omitempty"`
		// APIServer is --check of a kube-apiserver's start-up.
		APIServer *realk8s.Check `json:"apiserver_check,omitempty"`
	}{Envelope: jsonstyle.NewEnvelope(labSchemaVersion, toolVersion()), Run: res, Check: check, APIServer: api}
	return jsonstyle.Write(w, &doc)
}

// labFlags holds the parsed command line of "nsscope lab".
type labFlags struct {
	servers, resolvConf, search, options string
	nameservers                          int
	hosts, nsswitch, root, hostname      string
	until, tmp                           string
	untilOK, untilFail, ipv6, tmpfsSize  string
	timeout                              time.Duration
	rootless, check                      bool
	env, add, caps, allow, share         []string
	reading                              lab.Reading
	prog                                 programFlags
	serve                                labServeFlags
	report                               reportFlags
	set                                  map[string]bool // flags given
}

func newLabCmd(a *app) *cobra.Command {
	var f labFlags
	cmd := newVerb(verbSpec{
		use:     "lab [flags] [--] CMD [ARGS...]",
		summary: "run a program in a throwaway network namespace with fake nameservers",
		long: `Runs CMD in throwaway network, mount, PID and UTS namespaces with fake
nameservers, and prints every DNS message they receive with its time, the
program's output and the total time. Nothing outlives the run.

The lab's flags come before CMD: everything from CMD on (or after "--")
is the program's command line, its flags included.`,
		exit: `0  the program ran (whatever its own exit status); with --check, as predicted
1  --check: the run differs from the prediction
2  usage error or bad input
3  internal error`,
		examples: `nsscope lab --servers silent --search "ns.svc.cluster.local svc.cluster.local" \
    --options "ndots:5 timeout:1 attempts:1" -- /usr/bin/getent hosts example
nsscope lab --root alpine-3.13.tar.gz --add ./esbuild --until-ok 'http://' \
    --until-fail 'error: ' --error-from 'error: (.*)' \
    --check --go 1.15 --name localhost --network tcp --op listen -- /esbuild --serve=localhost:8000`,
		run: func(cmd *cobra.Command, args []string) error { return runLab(cmd, a, &f, args) },
	})
	// Flags stop at CMD: its own flags are its own.
	cmd.Flags().SetInterspersed(false)
	addGroup(cmd, "Nameservers", func(fs *pflag.FlagSet) {
		fs.StringVar(&f.servers, "servers", "silent", "server behaviour, one `SPEC` for all or a comma list in nameserver order: silent|refuse|nxdomain|servfail|refused|nodata|answer=ADDR[+ADDR]|delay=DUR|truncate, items joined by / (answer=127.0.0.9/delay=2s)")
		fs.IntVar(&f.nameservers, "nameservers", 3, "`N` fake nameservers (127.0.0.53, .54, ...) when --resolv-conf is not given")
		fs.StringVar(&f.resolvConf, "resolv-conf", "", "the program's resolv.conf `FILE` (- for stdin); its nameserver addresses are faked inside the namespace")
		fs.StringVar(&f.search, "search", "", "search `LIST` of the generated resolv.conf (space-separated)")
		fs.StringVar(&f.options, "options", "", "`OPTIONS` of the generated resolv.conf, e.g. \"ndots:5 timeout:1 attempts:1\"")
	})
	addGroup(cmd, "Root", f.registerRoot)
	addGroup(cmd, "Run", func(fs *pflag.FlagSet) {
		f.registerRun(fs)
		fs.StringVar(&f.ipv6, "ipv6", "", "IPv6 in the lab's network namespace, `on|off` (disable_ipv6 of all, default and lo; default: the kernel's)")
		fs.StringArrayVar(&f.caps, "cap", nil, "grant the program capability `NAME` (NET_RAW, NET_BIND_SERVICE, ...; repeatable); it has none by default")
		fs.StringArrayVar(&f.allow, "allow", nil, "lift the lab's refusal of a `GROUP` of system calls: "+strings.Join(lab.SeccompGroups(), ", ")+" (repeatable; for tests that need one)")
		fs.BoolVar(&f.rootless, "rootless", false, "use a user namespace even when root (automatic when not root)")
	})
	addGroup(cmd, "Servers (readiness probe, sidecars)", f.serve.register)
	addGroup(cmd, checkGroup, f.registerCheck)
	addGroup(cmd, programGroup, f.prog.buildFlags.register)
	addGroup(cmd, "Output", func(fs *pflag.FlagSet) { f.report.register(fs, []string{"text", "json", "html"}, false) })
	completeValues(cmd, "format", "text", "json", "html")
	return cmd
}

// runLab implements "nsscope lab".
func runLab(cmd *cobra.Command, a *app, f *labFlags, argv []string) error {
	if len(argv) == 0 {
		return usageErrorf("no program given: nsscope lab [flags] -- CMD [ARGS...]")
	}
	if err := f.report.check(); err != nil {
		return err
	}
	f.set = map[string]bool{}
	cmd.Flags().Visit(func(fl *pflag.Flag) { f.set[fl.Name] = true })
	if err := f.checkOnly(cmd); err != nil {
		return err
	}
	spec, err := f.spec(a, argv)
	if err != nil {
		return inputError(err)
	}
	if err := f.serve.apply(&spec); err != nil {
		return err
	}
	check, api, err := f.checks(cmd, a, &spec)
	if err != nil {
		return err
	}
	res, err := lab.Runner{Args: []string{"lab", lab.InitArg}}.Run(cmd.Context(), spec)
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
	if api != nil {
		if err := api.run(res); err != nil {
			return err
		}
	}
	if err := f.write(a, res, check, api); err != nil {
		return err
	}
	if check != nil && !check.out.Comparison.OK() {
		return errFindings
	}
	if api != nil && !api.out.OK() {
		return errFindings
	}
	return nil
}

// checks prepares what --check compares the run with: the predicted
// lookup of the program, or a kube-apiserver's predicted start-up. Both
// are nil without --check.
func (f *labFlags) checks(cmd *cobra.Command, a *app, spec *lab.Spec) (*labCheck, *apiserverCheck, error) {
	if !f.check {
		return nil, nil, nil
	}
	api, err := f.serve.apiserverFor(spec, &f.prog.buildFlags)
	if err != nil {
		return nil, nil, inputError(err)
	}
	if api != nil {
		if c := changed(cmd, "name", "network", "op", "port", "deadline", "ok-if", "fail-if", "error-from", "addrs-from"); len(c) > 0 {
			return nil, nil, usageErrorf("--check of kube-apiserver: %s describe%s one lookup; the apiserver's start-up is predicted from its own loopback users", strings.Join(c, ", "), map[bool]string{true: "", false: "s"}[len(c) > 1])
		}
		return nil, api, nil
	}
	check, err := f.prog.check(*spec)
	if err != nil {
		return nil, nil, inputError(err)
	}
	check.spec = *spec
	check.reading = f.reading
	for _, n := range f.prog.notes {
		fmt.Fprintf(a.stdio.Err, "nsscope lab: note: %s\n", n)
	}
	return check, nil, nil
}

// write writes the run's report in the format asked for, with what
// --check compared.
func (f *labFlags) write(a *app, res *lab.Result, check *labCheck, api *apiserverCheck) error {
	out := a.output(f.report.output)
	switch f.report.format {
	case "json":
		var co *labCheckOut
		if check != nil {
			co = &check.out
		}
		var ao *realk8s.Check
		if api != nil {
			ao = api.out
		}
		if err := writeLabJSON(out, res, co, ao); err != nil {
			return err
		}
	case "html":
		if err := waterfall.WritePage(out, lab.Page(res, check.view())); err != nil {
			return err
		}
	default:
		lab.WriteTimeline(out, res)
		chart := lab.RunChart(res)
		if check != nil {
			lab.WriteCheck(out, check.prog, check.req, check.out.Prediction, check.out.Comparison)
			chart = lab.CheckChart("", check.out.Prediction, check.obs)
		}
		fmt.Fprintln(out)
		if err := waterfall.WriteText(out, chart, waterfall.TextOptions{Width: a.width(), Color: a.color(f.report.output)}); err != nil {
			return err
		}
		if api != nil {
			api.write(out)
		}
	}
	return out.Close()
}

// spec turns the flags into a lab.Spec, reading the files named.
func (f *labFlags) spec(a *app, argv []string) (lab.Spec, error) {
	spec := lab.Spec{
		Argv:      argv,
		Hostname:  f.hostname,
		Root:      f.root,
		Until:     f.until,
		UntilOK:   f.untilOK,
		UntilFail: f.untilFail,
		Caps:      f.caps,
		Share:     f.share,
		Allow:     f.allow,
		Timeout:   f.timeout,
		Rootless:  f.rootless,
		TempDir:   f.tmp,
		Env:       []string{"PATH=" + lab.DefaultPath},
	}
	if f.timeout <= 0 {
		return spec, usageErrorf("--timeout %s: want a positive duration", f.timeout)
	}
	if f.root != "" {
		root, err := a.rootArg(f.root)
		if err != nil {
			return spec, err
		}
		spec.Root = root
	}
	if f.ipv6 != "" {
		v, err := lab.ParseIPv6(f.ipv6)
		if err != nil {
			return spec, usageErrorf("%v", err)
		}
		spec.IPv6 = v
	}
	size, err := lab.ParseSize(f.tmpfsSize)
	if err != nil {
		return spec, usageErrorf("--tmpfs-size %s: %v", f.tmpfsSize, err)
	}
	spec.TmpfsSize = size
	for _, kv := range f.env {
		if !strings.Contains(kv, "=") || strings.HasPrefix(kv, "=") {
			return spec, usageErrorf("--env %q: want KEY=VALUE", kv)
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
		return spec, usageErrorf("--servers %s: %v", f.servers, err)
	}
	spec.Scenario = sc
	if f.resolvConf != "" {
		if f.set["search"] || f.set["options"] || f.set["nameservers"] {
			return spec, usageErrorf("--resolv-conf excludes --search, --options and --nameservers (they generate a resolv.conf)")
		}
		rc, err := a.confFile("--resolv-conf", f.resolvConf, "/etc/resolv.conf", false)
		if err != nil {
			return spec, err
		}
		data := rc.Data
		spec.ResolvConf = &model.File{Data: data, Origin: rc.Origin}
		spec.Nameservers = lab.Nameservers(data)
	} else {
		if f.nameservers < 1 || f.nameservers > model.MaxNameservers {
			return spec, usageErrorf("--nameservers %d: want 1 to %d", f.nameservers, model.MaxNameservers)
		}
		spec.Nameservers = lab.DefaultNameservers(f.nameservers)
		spec.ResolvConf = &model.File{Data: lab.ResolvConf(spec.Nameservers, f.search, f.options), Origin: "generated by nsscope lab"}
	}
	// Hosts and NSSwitch stay nil (the root's own file) unless a flag names one.
	if f.hosts == "missing" {
		spec.Hosts = &model.File{Missing: true, Origin: "--hosts missing"}
	} else if f.hosts != "" {
		h, err := a.confFile("--hosts", f.hosts, "/etc/hosts", false)
		if err != nil {
			return spec, err
		}
		spec.Hosts = &model.File{Data: h.Data, Origin: h.Origin}
	}
	switch f.nsswitch {
	case "":
	case "missing":
		spec.NSSwitch = &model.File{Missing: true, Origin: "--nsswitch missing"}
	default:
		n, err := a.confFile("--nsswitch", f.nsswitch, "/etc/nsswitch.conf", false)
		if err != nil {
			return spec, err
		}
		spec.NSSwitch = &model.File{Data: n.Data, Origin: n.Origin}
	}
	return spec, nil
}

// labCheck is a --check in progress: the program and request described on
// the command line, and the outcome once the run is done.
type labCheck struct {
	obs lab.Observation
	// fromBinary: no flag described the program; read it after the run.
	fromBinary bool
	spec       lab.Spec
	prog       model.Program
	req        model.Request
	scenario   model.Scenario
	reading    lab.Reading
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
	// Read the outcome the way the program reports it (lab.Observe).
	obs, err := lab.Observe(res, c.reading)
	if err != nil {
		return inputError(err)
	}
	c.out.Comparison = lab.Compare(p, obs)
	c.obs = obs
	return nil
}

// view is the check for a page; nil without --check.
func (c *labCheck) view() *lab.CheckView {
	if c == nil {
		return nil
	}
	return &lab.CheckView{Program: c.prog, Request: c.req, Prediction: c.out.Prediction, Observation: c.obs, Comparison: c.out.Comparison}
}
