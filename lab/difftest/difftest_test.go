package difftest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
)

// Environment variables steering the suite (all optional):
//
//	NSSCOPE_DIFFTEST_PARALLEL  labs run at once (default: two per CPU; they
//	                           mostly wait, but start-up costs CPU)
//	NSSCOPE_DIFFTEST_ONLY      regular expression: run only matching cases
//	NSSCOPE_DIFFTEST_REPORT    write every case's prediction and observation
//	                           as JSON to this file
const (
	envParallel = "NSSCOPE_DIFFTEST_PARALLEL"
	envOnly     = "NSSCOPE_DIFFTEST_ONLY"
	envReport   = "NSSCOPE_DIFFTEST_REPORT"
)

// minConfigs is the floor for the number of generated cases.
const minConfigs = 200

func moduleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// probes holds the binaries of one run of the suite.
type probes struct {
	// root is a minimal root filesystem holding every binary under /bin
	// and glibc's loader and libc.so.6: the programs run chrooted into
	// (an overlay of) it, so what the host has installed (NSS modules,
	// /etc/host.conf, /etc/gai.conf) cannot change the outcome.
	root    string
	paths   map[string]string // program key -> binary, inside root
	skipped map[string]string // program key -> why it cannot run
	goVer   model.Version
	// startup is, per program key of a program that does not report when
	// its lookup starts, its measured start-up: the median time to its
	// result line when the name is in /etc/hosts (no DNS at all).
	startup map[string]time.Duration
}

// startupRuns is how often each program's start-up is measured.
const startupRuns = 3

// median is the middle of ds (not empty).
func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// measureStartups measures the start-up of every program that does not
// report when its lookup begins (esbuild), so that it can be subtracted
// from the observed total when no exchange anchors the lookup.
func measureStartups(ctx context.Context, p probes) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, key := range []string{"esbuild-0.8.40", "esbuild-0.11.23"} {
		if _, ok := p.paths[p.subject(key).binary]; !ok {
			continue
		}
		c := config{Program: key, NSSwitch: "files-dns", Ndots: 1, Attempts: 1, Servers: []string{"nxdomain"}, Name: "localhost", Network: "tcp"}
		var ds []time.Duration
		for range startupRuns {
			if o := runCase(ctx, p, c); o.Observed != nil {
				ds = append(ds, o.Observed.Total.Duration())
			}
		}
		if len(ds) > 0 {
			out[key] = median(ds)
		}
	}
	return out
}

// copyFile copies src (following links) to dst with mode.
func copyFile(dst, src string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// buildProbes builds the probe program three ways with the machine's Go
// and finds the esbuild binaries in ../shared/data.
func buildProbes(t *testing.T, dir string) probes {
	t.Helper()
	goVer, err := model.ParseVersion(runtime.Version())
	if err != nil {
		t.Fatalf("Go version %q: %v", runtime.Version(), err)
	}
	p := probes{root: filepath.Join(dir, "root"), paths: map[string]string{}, skipped: map[string]string{}, goVer: goVer}
	root := moduleRoot(t)
	for _, lib := range []string{"/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6"} {
		if err := copyFile(filepath.Join(p.root, lib), lib, 0o755); err != nil {
			t.Fatalf("glibc for the probes' root: %v", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(p.root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(p.root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	builds := []struct {
		variant string
		env     []string
		ldflags string
	}{
		{"static", []string{"CGO_ENABLED=0"}, ""},
		{"cgo-glibc", []string{"CGO_ENABLED=1"}, ""},
		{"cgo-musl", []string{"CGO_ENABLED=1", "CC=musl-gcc"}, "-linkmode external -extldflags -static"},
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, b := range builds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := filepath.Join(p.root, "bin", "probe-"+b.variant)
			args := []string{"build", "-o", out}
			if b.ldflags != "" {
				args = append(args, "-ldflags", b.ldflags)
			}
			cmd := exec.Command("go", append(args, "./lab/testdata/probe")...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), b.env...)
			msg, err := cmd.CombinedOutput()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				p.skipped[b.variant] = fmt.Sprintf("probe %s does not build: %v: %s", b.variant, err, strings.TrimSpace(string(msg)))
				return
			}
			p.paths[b.variant] = "/bin/probe-" + b.variant
		}()
	}
	// The same lookup as a plain C program: gcc against glibc (dynamic),
	// musl-gcc (static).
	for _, c := range []struct{ variant, cc string }{{"c-glibc", "gcc"}, {"c-musl", "musl-gcc"}} {
		args := []string{"-O2", "-o", filepath.Join(p.root, "bin", "probe-"+c.variant), filepath.Join(root, "lab", "testdata", "cprobe", "probe.c")}
		if c.cc == "musl-gcc" {
			args = append([]string{"-static"}, args...)
		}
		if _, err := exec.LookPath(c.cc); err != nil {
			p.skipped[c.variant] = c.cc + " not installed"
			continue
		}
		if msg, err := exec.Command(c.cc, args...).CombinedOutput(); err != nil {
			t.Fatalf("build C probe with %s: %v: %s", c.cc, err, msg)
		}
		p.paths[c.variant] = "/bin/probe-" + c.variant
	}
	wg.Wait()
	for _, v := range []string{"static", "cgo-glibc"} {
		if why, bad := p.skipped[v]; bad {
			t.Fatal(why)
		}
	}
	if why, bad := p.skipped["cgo-musl"]; bad {
		if _, err := exec.LookPath("musl-gcc"); err != nil {
			p.skipped["cgo-musl"] = "musl-gcc not installed (Debian package musl-tools)"
		} else {
			t.Fatal(why)
		}
	}
	bins := filepath.Join(root, "..", "shared", "data", "binaries")
	for _, v := range []string{"0.8.40", "0.11.23"} {
		bin := filepath.Join(bins, "esbuild-"+v+"-linux-amd64")
		if _, err := os.Stat(bin); err != nil {
			p.skipped["esbuild-"+v] = "no " + bin + " (../shared/data is absent)"
			continue
		}
		if err := copyFile(filepath.Join(p.root, "bin", "esbuild-"+v), bin, 0o755); err != nil {
			t.Fatal(err)
		}
		p.paths["esbuild-"+v] = "/bin/esbuild-" + v
	}
	return p
}

// subject is what runs for one program key, and how the model sees it.
type subject struct {
	binary  string // key into probes.paths
	prog    model.Program
	env     []string
	esbuild bool
	c       bool // the C probe: NAME NETWORK, no deadline
}

func (p probes) subject(key string) subject {
	glibc := model.Libc{Kind: "glibc", Version: model.V(2, 36, -1), Distro: "debian"}
	musl := model.Libc{Kind: "musl", Version: model.V(1, 2, 3)}
	goProg := func(label string, cgo bool, libc model.Libc) model.Program {
		return model.Program{Label: label, Impl: model.ImplGo, Libc: libc,
			Go: model.GoBuild{Version: p.goVer, Cgo: cgo, GoModVersion: p.goVer}}
	}
	switch key {
	// Go programs run with the resolver's debug output on (level 2), which
	// changes nothing else; it is compared with the prediction's.
	case "go-static":
		return subject{binary: "static", prog: goProg("probe, Go static", false, model.Libc{}), env: []string{"GODEBUG=netdns=+2"}}
	case "go-cgo-glibc":
		return subject{binary: "cgo-glibc", prog: goProg("probe, Go cgo glibc", true, glibc), env: []string{"GODEBUG=netdns=+2"}}
	case "go-cgo-glibc+netdns=cgo":
		return subject{binary: "cgo-glibc", prog: goProg("probe, Go cgo glibc, netdns=cgo", true, glibc), env: []string{"GODEBUG=netdns=cgo+2"}}
	case "go-cgo-musl":
		return subject{binary: "cgo-musl", prog: goProg("probe, Go cgo musl", true, musl), env: []string{"GODEBUG=netdns=+2"}}
	case "go-cgo-musl+netdns=cgo":
		return subject{binary: "cgo-musl", prog: goProg("probe, Go cgo musl, netdns=cgo", true, musl), env: []string{"GODEBUG=netdns=cgo+2"}}
	case "c-glibc":
		return subject{binary: key, c: true, prog: model.Program{Label: "C program, glibc", Impl: model.ImplGlibc, Libc: glibc}}
	case "c-musl":
		return subject{binary: key, c: true, prog: model.Program{Label: "C program, musl", Impl: model.ImplMusl, Libc: musl}}
	case "esbuild-0.8.40":
		return subject{binary: key, esbuild: true, env: []string{"GODEBUG=netdns=+2"}, prog: model.Program{Label: "esbuild 0.8.40 (Go 1.15.7)", Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 15, 7)}}}
	case "esbuild-0.11.23":
		return subject{binary: key, esbuild: true, env: []string{"GODEBUG=netdns=+2"}, prog: model.Program{Label: "esbuild 0.11.23 (Go 1.16.3)", Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 16, 3)}}}
	}
	panic("unknown program " + key)
}

// outcome is one case's prediction, observation and comparison.
type outcome struct {
	Config     config            `json:"config"`
	Skip       string            `json:"skip,omitempty"`
	Err        string            `json:"error,omitempty"`
	Predicted  *model.Prediction `json:"predicted,omitempty"`
	PredictErr string            `json:"predict_error,omitempty"`
	Observed   *lab.Result       `json:"observed,omitempty"`
	Obs        lab.Observation   `json:"observation"`
	Comparison *lab.Comparison   `json:"comparison,omitempty"`
	// Retried holds the first run's differences when they were timing
	// only and the case was run again alone (the outcome is the second run's).
	Retried []string `json:"retried,omitempty"`
	// Overloaded is the load average per CPU when a retried case still
	// differed in timing only on a machine too loaded to judge timing
	// (see overloaded); such a case is reported, not failed.
	Overloaded float64 `json:"overloaded,omitempty"`
}

// esbuildEnd matches esbuild's line once --serve has resolved its host:
// the URL it serves, or the error it exits with.
const esbuildEnd = `http://|error:`

// caseSpec is the lab run of a configuration in root: its nameservers,
// files and scenario (the caller sets Argv, Env and Until).
func caseSpec(c config, root string) (lab.Spec, model.Scenario, error) {
	servers := lab.DefaultNameservers(len(c.Servers))
	var sc model.Scenario
	for _, b := range c.Servers {
		beh, err := model.ParseBehavior(b)
		if err != nil {
			return lab.Spec{}, sc, err
		}
		sc.Servers = append(sc.Servers, beh)
	}
	timeout := max(c.Timeout, 1)
	opts := strings.Join(append([]string{fmt.Sprintf("ndots:%d timeout:%d attempts:%d", c.Ndots, timeout, c.Attempts)}, c.Options...), " ")
	spec := lab.Spec{
		Root:        root,
		Nameservers: servers,
		Scenario:    sc,
		ResolvConf:  &model.File{Data: lab.ResolvConf(servers, strings.Join(c.Search, " "), opts), Origin: "generated"},
		Hosts:       &model.File{Data: []byte(hostsFile), Origin: "generated"},
		Timeout:     c.bound() + 30*time.Second,
	}
	if c.NSSwitch == "missing" {
		spec.NSSwitch = &model.File{Missing: true}
	} else {
		spec.NSSwitch = &model.File{Data: []byte(nsswitchFiles[c.NSSwitch]), Origin: "generated"}
	}
	return spec, sc, nil
}

// readProbe reads the JSON line a probe prints (Go or C): when the lookup
// started, how long it took and its error, which it writes into obs. A C
// probe's error is written the way the model writes a C program's:
// what("NAME"): TEXT.
func readProbe(res *lab.Result, c config, cprobe bool, what string, obs *lab.Observation) error {
	var pr struct {
		Start   int64  `json:"start_unix_ns"`
		Elapsed int64  `json:"elapsed_ns"`
		Err     string `json:"err"`
	}
	found := false
	for _, l := range res.Output {
		if l.Stream == "stdout" && json.Unmarshal([]byte(l.Text), &pr) == nil {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("probe printed no result (ended %s, exit %d): %+v", res.Ended, res.ExitCode, res.Output)
	}
	obs.Total = time.Duration(pr.Elapsed)
	errText := pr.Err
	if cprobe && errText != "" {
		errText = fmt.Sprintf("%s(%q): %s", what, c.Name, errText)
	}
	obs.Error = &errText
	obs.LookupStart = time.Unix(0, pr.Start).Sub(res.Started)
	ok := pr.Err == ""
	obs.Succeeded = &ok
	return nil
}

// runCase runs one configuration in the lab and compares it with the model.
func runCase(ctx context.Context, p probes, c config) outcome {
	o := outcome{Config: c}
	s := p.subject(c.Program)
	bin, ok := p.paths[s.binary]
	if !ok {
		o.Skip = p.skipped[s.binary]
		return o
	}
	spec, sc, err := caseSpec(c, p.root)
	if err != nil {
		o.Err = err.Error()
		return o
	}
	spec.Env = append(append([]string{"PATH=" + lab.DefaultPath}, s.env...), c.Env...)
	req := model.Request{Name: c.Name, Network: c.Network, Deadline: model.Seconds(c.Deadline), Op: model.OpLookupIP}
	switch {
	case s.esbuild:
		spec.Argv = []string{bin, "--serve=" + c.Name + ":8000"}
		spec.Until = esbuildEnd
		req.Op = model.OpListen // net.Listen("tcp", NAME:PORT)
	case s.c:
		spec.Argv = []string{bin, c.Name, c.Network}
	default:
		spec.Argv = []string{bin, "-name", c.Name, "-net", c.Network, "-port", "7000"}
		if c.Deadline > 0 {
			spec.Argv = append(spec.Argv, "-timeout", c.Deadline.String())
		}
		if strings.HasPrefix(c.Network, "tcp") {
			req.Op, req.Dial, req.Port = model.OpDial, true, 7000
		}
	}
	res, err := lab.Runner{}.Run(ctx, spec)
	if err != nil {
		o.Err = "lab: " + err.Error()
		return o
	}
	o.Observed = res
	o.Obs = lab.Observation{Exchanges: res.Exchanges(), Total: res.Total.Duration()}
	if s.prog.Impl == model.ImplGo {
		// Every Go case runs with GODEBUG=netdns=…+2 (see subject); what
		// it prints is compared too, so an empty print is a difference.
		o.Obs.Debug = lab.DebugLines(res.Output)
		if o.Obs.Debug == nil {
			o.Obs.Debug = []string{}
		}
	}
	if s.esbuild {
		// esbuild does not say when it starts resolving: align the first
		// exchanges, which takes its start-up time out; with no exchange
		// to align, subtract its measured start-up.
		o.Obs.AnchorFirst = true
		if len(o.Obs.Exchanges) == 0 {
			o.Obs.Total = max(0, o.Obs.Total-p.startup[c.Program])
		}
		ok := false
		for _, l := range res.Output {
			if strings.Contains(l.Text, "http://") {
				ok = true
			}
		}
		if res.Ended == "timeout" {
			o.Err = "esbuild printed neither its URL nor an error"
			return o
		}
		o.Obs.Succeeded = &ok
		// esbuild prints " > error: listen tcp: lookup ...".
		errText := ""
		for _, l := range res.Output {
			if _, after, found := strings.Cut(l.Text, "error: "); found && errText == "" {
				errText = after
			}
		}
		o.Obs.Error = &errText
	} else {
		what := "getaddrinfo"
		if req.Op == model.OpHostByName2 {
			what = "gethostbyname2"
		}
		if err := readProbe(res, c, s.c, what, &o.Obs); err != nil {
			o.Err = err.Error()
			return o
		}
	}
	pred, err := model.Predict(res.ModelEnv(), s.prog, req, sc)
	if err != nil {
		o.PredictErr = err.Error()
		return o
	}
	o.Predicted = pred
	cmp := lab.Compare(pred, o.Obs)
	o.Comparison = &cmp
	return o
}

// TestDifferential runs every generated configuration for real and holds
// the model to what happened: same exchanges in the same order (bursts
// such as A+AAAA compared as sets), total time within max(50ms, 3%).
func TestDifferential(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create namespaces (CI runs as root)")
	}
	configs := generate()
	if len(configs) < minConfigs {
		t.Fatalf("%d configurations generated, the suite needs at least %d", len(configs), minConfigs)
	}
	configs = onlyConfigs(t, configs)
	p := buildProbes(t, t.TempDir())
	p.startup = measureStartups(t.Context(), p)
	outs := runAll(t, configs, func(c config) outcome { return runCase(t.Context(), p, c) })
	ran := reportOutcomes(t, outs)
	if os.Getenv("CI") == "true" && ran < minConfigs {
		// In CI every probe must build and ../shared/data must be there:
		// the suite's promise is at least minConfigs real comparisons.
		t.Errorf("only %d configurations were compared in CI, want at least %d (missing musl-tools or ../shared/data?)", ran, minConfigs)
	}
}

// onlyConfigs keeps the configurations NSSCOPE_DIFFTEST_ONLY matches.
func onlyConfigs(t *testing.T, configs []config) []config {
	t.Helper()
	only := os.Getenv(envOnly)
	if only == "" {
		return configs
	}
	re, err := regexp.Compile(only)
	if err != nil {
		t.Fatalf("%s: %v", envOnly, err)
	}
	var keep []config
	for _, c := range configs {
		if re.MatchString(c.String()) {
			keep = append(keep, c)
		}
	}
	return keep
}

// runAll runs every configuration, a few at a time (see parallelism), then
// runs each case whose only differences are timing once more, alone: on a
// loaded machine a late timer is the machine's, not the model's. A
// difference in the exchanges is never retried.
func runAll(t *testing.T, configs []config, run func(config) outcome) []outcome {
	t.Helper()
	parallel, err := parallelism(os.Getenv(envParallel), runtime.NumCPU())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	outs := make([]outcome, len(configs))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, c := range configs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			outs[i] = run(c)
		}()
	}
	wg.Wait()
	t.Logf("%d configurations in %s (%d at a time)", len(configs), time.Since(start).Round(time.Millisecond), parallel)
	for i, o := range outs {
		if o.Comparison == nil || o.Comparison.OK() || !(timingOnly(o.Comparison.Differences) || deadlineCut(o)) {
			continue
		}
		again := run(o.Config)
		again.Retried = o.Comparison.Differences
		if again.Comparison != nil && !again.Comparison.OK() && timingOnly(again.Comparison.Differences) {
			if load, over := overloaded(runtime.NumCPU()); over {
				again.Overloaded = load
			}
		}
		outs[i] = again
	}
	if path := os.Getenv(envReport); path != "" {
		b, err := json.MarshalIndent(outs, "", "  ")
		if err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
		if err != nil {
			t.Errorf("write %s: %v", path, err)
		}
	}
	return outs
}

// reportOutcomes makes one subtest per outcome, logs the counts
// (compared, matched, retried, racy within their bound) and says loudly
// what was not compared. It returns how many were compared.
func reportOutcomes(t *testing.T, outs []outcome) int {
	t.Helper()
	var ran, matched, retried, retriedOK, racy, overloadedN int
	notCompared := map[string]int{}
	for i, o := range outs {
		if o.Skip != "" {
			notCompared[o.Skip]++
		}
		if o.Retried != nil {
			retried++
		}
		t.Run(fmt.Sprintf("%03d/%s", i, o.Config), func(t *testing.T) {
			switch {
			case o.Skip != "":
				t.Skip(o.Skip)
			case o.Err != "":
				t.Fatal(o.Err)
			case o.PredictErr != "":
				t.Fatalf("the model cannot predict this case: %s", o.PredictErr)
			}
			ran++
			if o.Overloaded > 0 {
				overloadedN++
				t.Logf("timing not judged: late twice, the second time alone, on a machine loaded %.1f× its CPUs: %q", o.Overloaded, o.Comparison.Differences)
				return
			}
			if o.Comparison.OK() {
				matched++
				if o.Retried != nil {
					retriedOK++
				}
				if isRace(o.Predicted) {
					racy++
				}
				return
			}
			for _, d := range o.Retried {
				t.Log("first run: " + d)
			}
			for _, d := range o.Comparison.Differences {
				t.Error(d)
			}
			t.Logf("predicted: resolver %s, order %s, answered from %s, error %q", o.Predicted.Resolver, o.Predicted.Order, o.Predicted.AnsweredFrom, o.Predicted.Error)
		})
	}
	t.Logf("compared %d configurations: %d match (%d racy, within their bound; %d after a timing-only retry, of %d retried), %d exchanges and results matched but timing not judged (machine overloaded), %d mismatch", ran, matched, racy, retriedOK, retried, overloadedN, ran-matched-overloadedN)
	reportNotCompared(t, notCompared)
	return ran
}

// overloadFactor is the load average per CPU above which a machine's
// timers are too late to judge the model's timing by.
const overloadFactor = 2

// overloaded reads the 1-minute load average and reports it per CPU, and
// whether it is above overloadFactor.
func overloaded(cpus int) (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	load, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, false
	}
	perCPU := load / float64(max(cpus, 1))
	return perCPU, perCPU > overloadFactor
}

// isRace reports whether a prediction is a race (a bound, race notes).
func isRace(p *model.Prediction) bool {
	if p.QueriesRange != nil {
		return true
	}
	for _, x := range p.Exchanges {
		if x.Race != "" {
			return true
		}
	}
	return false
}

// parallelism is how many labs run at once: NSSCOPE_DIFFTEST_PARALLEL when
// set, else two per CPU (a lab mostly waits for timeouts, but each start
// costs CPU, and a starved machine makes every timer late).
func parallelism(env string, cpus int) (int, error) {
	if env == "" {
		return max(2, 2*cpus), nil
	}
	n, err := strconv.Atoi(env)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a positive number", envParallel, env)
	}
	return n, nil
}

// timingOnly reports whether every difference of a comparison is about
// time (a total or a burst's start outside the tolerance), none about what
// was sent, the result, the error text or debug output.
func timingOnly(diffs []string) bool {
	if len(diffs) == 0 {
		return false
	}
	for _, d := range diffs {
		if !timingDiff.MatchString(d) {
			return false
		}
	}
	return true
}

// deadlineCut reports a run whose only difference may be the machine's
// lateness moving the caller's deadline across the lookup: the observed
// exchanges are the predicted ones, perhaps cut short, and
//   - the model cut the lookup at the deadline, and every exchange that is
//     missing was predicted so near it that the lateness the run showed on
//     the exchanges it did send carries it past; or
//   - the model ended the lookup before the deadline, but the run ran into
//     it: a reply or a retry came so late that the deadline fired first.
//
// Such a run, like a timing-only one, is run once more, alone, and that run
// must match in full: the retry is the only concession.
func deadlineCut(o outcome) bool {
	p, obs, dl := o.Predicted, o.Obs.Exchanges, o.Config.Deadline
	if p == nil || dl <= 0 || len(obs) > len(p.Exchanges) {
		return false
	}
	sent := p.Exchanges[:len(obs)]
	if ok, _, _ := lab.SameMessages(sent, obs); !ok {
		return false
	}
	if !p.DeadlineExceeded {
		return o.Obs.Total >= dl && o.Obs.Succeeded != nil && !*o.Obs.Succeeded
	}
	if len(obs) == 0 || len(obs) == len(p.Exchanges) {
		return false
	}
	var late time.Duration
	for i := range obs {
		d := (obs[i].Start.Duration() - obs[0].Start.Duration()) - (sent[i].Start.Duration() - sent[0].Start.Duration())
		late = max(late, d)
	}
	for _, x := range p.Exchanges[len(obs):] {
		if x.Start.Duration()+late < dl {
			return false
		}
	}
	return true
}

// timingDiff matches lab.Compare's two timing differences.
var timingDiff = regexp.MustCompile(`^(total time: predicted |exchanges [0-9]+-[0-9]+ \(.*\): predicted at \+)`)

// reportNotCompared says loudly, also without -v, how many configurations
// were not compared and why (a missing musl-gcc, ../shared/data absent):
// a suite that silently compares fewer cases proves less than it claims.
func reportNotCompared(t *testing.T, notCompared map[string]int) {
	t.Helper()
	total := 0
	for _, n := range notCompared {
		total += n
	}
	if total == 0 {
		return
	}
	msg := fmt.Sprintf("difftest: %d configuration(s) NOT COMPARED:", total)
	for why, n := range notCompared {
		msg += fmt.Sprintf("\n\t%d: %s", n, why)
	}
	t.Log(msg)
	fmt.Fprintln(os.Stderr, msg)
}
