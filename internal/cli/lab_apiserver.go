package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"mvdan.cc/sh/v3/shell"

	"github.com/nsscope/nsscope/internal/realk8s"
	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
)

// labServeFlags are lab's flags for servers: a readiness probe, sidecars,
// and what --check needs to know of a kube-apiserver.
type labServeFlags struct {
	readyURL, readyBody string
	readyGrace          time.Duration
	sidecars, sideReady []string
	kubeVersion         string
}

func (f *labServeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.readyURL, "ready-url", "", "poll this loopback `URL` (http(s)://127.0.0.1:PORT/PATH) from inside the lab every 0.2 s; the first 200 answer is the program's readiness, and the run ends --ready-grace later (with --check of kube-apiserver: its /readyz)")
	fs.StringVar(&f.readyBody, "ready-body", "", "the `TEXT` a --ready-url answer must be (default: any 200 answer; \"ok\" for kube-apiserver)")
	fs.DurationVar(&f.readyGrace, "ready-grace", 3*time.Second, "how long the run goes on once --ready-url answered (late DNS messages still count)")
	fs.StringArrayVar(&f.sidecars, "sidecar", nil, "start `CMD` (a shell-quoted command line) in the lab before the program, contained like it, killed after it: e.g. etcd for kube-apiserver; repeatable")
	fs.StringArrayVar(&f.sideReady, "sidecar-ready", nil, "loopback `URL` the matching --sidecar (in order) must answer 200 before the program starts; repeatable")
	fs.StringVar(&f.kubeVersion, "kube-version", "", "--check: the program is kube-apiserver of this `VERSION` (default: read from its Go build info when it is one)")
}

// apply adds the probe and sidecars to spec.
func (f *labServeFlags) apply(spec *lab.Spec) error {
	if len(f.sideReady) > len(f.sidecars) {
		return usageErrorf("%d --sidecar-ready for %d --sidecar", len(f.sideReady), len(f.sidecars))
	}
	for i, c := range f.sidecars {
		argv, err := shell.Fields(c, nil)
		if err != nil || len(argv) == 0 {
			return usageErrorf("--sidecar %q: not a command line (%v)", c, err)
		}
		sc := lab.Sidecar{Argv: argv}
		if i < len(f.sideReady) {
			sc.Ready = &lab.Probe{URL: f.sideReady[i]}
		}
		spec.Sidecars = append(spec.Sidecars, sc)
	}
	if f.readyGrace < 0 {
		return usageErrorf("--ready-grace %s: want zero or more", f.readyGrace)
	}
	if f.readyURL != "" {
		spec.Ready = &lab.Probe{URL: f.readyURL, Body: f.readyBody, Grace: model.Seconds(f.readyGrace)}
	} else if f.readyBody != "" {
		return usageErrorf("--ready-body needs --ready-url")
	}
	return nil
}

// apiserverCheck is lab --check of a kube-apiserver (see realk8s.CheckRun).
type apiserverCheck struct {
	id  realk8s.Identity
	out *realk8s.Check
}

// apiserverFor says whether spec runs a kube-apiserver to check: with
// --kube-version, or when the program's build info says so. It sets the
// /readyz probe unless --ready-url is given.
func (f *labServeFlags) apiserverFor(spec *lab.Spec, b *buildFlags) (*apiserverCheck, error) {
	bin := lab.HostPath(*spec)
	var id realk8s.Identity
	var idErr error = realk8s.ErrNotAPIServer
	if bin != "" {
		id, idErr = realk8s.Identify(bin)
	}
	if f.kubeVersion == "" && idErr != nil {
		return nil, nil
	}
	if f.kubeVersion != "" {
		v, err := model.ParseVersion(strings.TrimPrefix(f.kubeVersion, "v"))
		if err != nil {
			return nil, usageErrorf("--kube-version %q: %v", f.kubeVersion, err)
		}
		id.Kube, id.From = v, "--kube-version"
	}
	prog, err := b.program()
	switch {
	case err == nil:
		id.Program = prog
		id.Go = prog.Go.Version
	case err != errNoDescription:
		return nil, err
	case id.Go.IsZero():
		return nil, usageErrorf("--check of kube-apiserver %s: cannot read the Go release of %s; give --go VERSION", id.Kube, spec.Argv[0])
	}
	if id.Program.Impl != "" && id.Program.Impl != model.ImplGo {
		return nil, usageErrorf("--check of kube-apiserver: it is a Go program; describe it with --go")
	}
	if spec.Ready == nil {
		p, _, err := realk8s.ReadyProbe(spec.Argv, f.readyGrace)
		if err != nil {
			return nil, usageErrorf("--check of kube-apiserver: %v", err)
		}
		spec.Ready = &p
	}
	return &apiserverCheck{id: id}, nil
}

// run compares the run with the start-up model.
func (c *apiserverCheck) run(res *lab.Result) error {
	out, err := realk8s.CheckRun(c.id, res)
	if err != nil {
		return inputError(err)
	}
	c.out = out
	return nil
}

// write prints the comparison.
func (c *apiserverCheck) write(w io.Writer) {
	ck := c.out
	desc := func(s string, r interface {
		Seconds() float64
	}, queries int, log string) string {
		line := fmt.Sprintf("%s %.1f s after start, %d DNS queries", s, r.Seconds(), queries)
		if log != "" {
			line += "\n      " + log
		}
		return line
	}
	fmt.Fprintf(w, "\nkube-apiserver %s (%s), Go %s; loopback host %s\n", ck.Kube, ck.KubeFrom, ck.GoVersion, ck.Loopback)
	fmt.Fprintf(w, "  machine: admission chain at %.1f s, serving at %.1f s (from its log; the model starts there)\n", ck.Machine.AdmissionSeconds, ck.Machine.ServingSeconds)
	fmt.Fprintf(w, "  predicted: %s\n", desc(ck.Predicted.Outcome, ck.Predicted.Time, ck.Predicted.DNSQueries, ck.Predicted.Log))
	fmt.Fprintf(w, "  observed:  %s\n", desc(ck.Observed.Outcome, ck.Observed.Time, ck.Observed.DNSQueries, ck.Observed.Log))
	if ck.OK() {
		fmt.Fprintf(w, "  as predicted (same outcome, same DNS query count, time within %.1f s, same log line)\n", ck.ToleranceSeconds)
		return
	}
	fmt.Fprintf(w, "  DIFFERS:\n")
	for _, d := range ck.Differences {
		fmt.Fprintf(w, "    - %s\n", d)
	}
	fmt.Fprintf(w, "  the model's reasons:\n")
	for _, r := range ck.Reasons {
		fmt.Fprintf(w, "    %s\n", r)
	}
}
