package realk8s

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
)

// This file is `nsscope lab --check` of a kube-apiserver: the lab runs
// the apiserver itself (its etcd as a lab sidecar), polls its /readyz
// from inside the lab, and the run is compared with the start-up model
// exactly as the tests compare their runs (Observe, Predict, Compare).

// Identity is what a kube-apiserver binary's Go build info says.
type Identity struct {
	// Kube is the Kubernetes release, Go the Go release it was built with.
	Kube, Go model.Version
	// From says where Kube was read.
	From string
	// Program is the binary as the resolver model sees it (zero: a Go
	// binary of release Go without cgo, as kube-apiserver is released).
	Program model.Program
}

// program is the model's view of the binary.
func (id Identity) program() model.Program {
	if id.Program.Impl != "" {
		return id.Program
	}
	return model.Program{Label: "kube-apiserver", Impl: model.ImplGo, Go: model.GoBuild{Version: id.Go}}
}

// ErrNotAPIServer says a binary is not kube-apiserver.
var ErrNotAPIServer = errors.New("not a kube-apiserver binary")

// Identify reads a binary's Go build info: a kube-apiserver is built
// from the package k8s.io/kubernetes/cmd/kube-apiserver, and its release
// is the version of the module k8s.io/kubernetes (main module or
// dependency), or, in Kubernetes' own builds, where the module is
// "(devel)", the version stamped with -X into k8s.io/component-base.
func Identify(bin string) (Identity, error) {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return Identity{}, fmt.Errorf("%s: %w (%w)", bin, ErrNotAPIServer, err)
	}
	return identify(bi)
}

// apiserverPackage is kube-apiserver's main package.
const apiserverPackage = "k8s.io/kubernetes/cmd/kube-apiserver"

func identify(bi *buildinfo.BuildInfo) (Identity, error) {
	if bi.Path != apiserverPackage {
		return Identity{}, fmt.Errorf("%w: its main package is %q", ErrNotAPIServer, bi.Path)
	}
	id := Identity{}
	g, err := model.ParseVersion(bi.GoVersion)
	if err != nil {
		return Identity{}, fmt.Errorf("its Go version %q: %w", bi.GoVersion, err)
	}
	id.Go = g
	mods := append([]*debug.Module{&bi.Main}, bi.Deps...)
	for _, m := range mods {
		if m == nil || m.Path != "k8s.io/kubernetes" {
			continue
		}
		if v, err := model.ParseVersion(strings.TrimPrefix(m.Version, "v")); err == nil && m.Version != "(devel)" {
			id.Kube, id.From = v, "module k8s.io/kubernetes "+m.Version
			return id, nil
		}
	}
	for _, s := range bi.Settings {
		if s.Key != "-ldflags" {
			continue
		}
		const stamp = "k8s.io/component-base/version.gitVersion="
		if i := strings.Index(s.Value, stamp); i >= 0 {
			v, _, _ := strings.Cut(strings.TrimLeft(s.Value[i+len(stamp):], `'"`), " ")
			v = strings.Trim(v, `'"`)
			if kv, err := model.ParseVersion(strings.TrimPrefix(v, "v")); err == nil {
				id.Kube, id.From = kv, "-ldflags "+stamp+v
				return id, nil
			}
		}
	}
	return Identity{}, fmt.Errorf("kube-apiserver with no readable release in its build info: give --kube-version")
}

// ReadyProbe is the probe that says the apiserver in argv is ready: an
// anonymous GET of /readyz on its secure port over the lab's loopback
// (IPv6's when it binds an IPv6 address), which answers "ok".
func ReadyProbe(argv []string, grace time.Duration) (lab.Probe, kube.APIServerFlags, error) {
	f, err := kube.ParseAPIServerFlags(&corev1.Container{Command: argv})
	if err != nil {
		return lab.Probe{}, f, err
	}
	host := "127.0.0.1"
	if a, err := netip.ParseAddr(f.BindAddress); err == nil && a.Is6() && !a.Is4In6() && !a.IsUnspecified() {
		host = "[::1]"
	}
	return lab.Probe{URL: fmt.Sprintf("https://%s:%d/readyz", host, f.SecurePort), Body: "ok", Grace: model.Seconds(grace)}, f, nil
}

// LabLoopback is lo's addresses in a lab: 127.0.0.1/8 and ::1/128 (which
// the IPv6 state removes when off).
func LabLoopback() []kube.IfAddr {
	return []kube.IfAddr{
		{Interface: "lo", Prefix: netip.MustParsePrefix("127.0.0.1/8")},
		{Interface: "lo", Prefix: netip.MustParsePrefix("::1/128")},
	}
}

// Observe reads a lab run of kube-apiserver itself (not the test
// wrapper): ready when the lab's probe answered, exits when the program
// exited (at its fatal line), as Read does for the wrapper.
func Observe(res *lab.Result) *Run {
	r := &Run{Lab: res, Outcome: "timeout", Addrs: LabLoopback()}
	r.Config.IPv6 = res.IPv6 == lab.IPv6On
	switch {
	case res.Ready != nil:
		r.Outcome, r.Time = kube.OutcomeReady, res.Ready.Offset.Duration()
	case res.Ended == "exit":
		r.Outcome, r.Time = kube.OutcomeExits, res.Total.Duration()
	}
	r.readLog(res.Output, 0)
	r.settle(res.Queries, 0)
	return r
}

// Check is a lab --check of kube-apiserver: the start-up predicted from
// the lab's actual files, loopback and this run's machine speed, the
// start-up seen, and how they differ.
type Check struct {
	Identity  Identity `json:"-"`
	Kube      string   `json:"kube_version"`
	KubeFrom  string   `json:"kube_version_from"`
	GoVersion string   `json:"go_version"`
	// Loopback is the host its loopback client dials.
	Loopback string `json:"loopback"`
	// Predicted and Observed are in the same terms.
	Predicted kube.StartupResult `json:"predicted"`
	Observed  kube.StartupResult `json:"observed"`
	// Machine is how fast this run started apart from DNS, read from the
	// apiserver's own log (admission chain, serving) and given to the model.
	Machine MachineSeen `json:"machine"`
	// Differences is empty when the run is as predicted (outcome, DNS
	// query count, time within Tolerance, log line).
	Differences []string `json:"differences"`
	// ToleranceSeconds is the time allowed, max(6 s, 12%) of the real time.
	ToleranceSeconds float64 `json:"tolerance_seconds"`
	// Reasons are the model's, first cause first.
	Reasons []string `json:"reasons"`
}

// MachineSeen is the machine speed a run showed.
type MachineSeen struct {
	AdmissionSeconds float64 `json:"admission_seconds"`
	ServingSeconds   float64 `json:"serving_seconds"`
	// FatalLateSeconds is how long the process lived after its fatal line.
	FatalLateSeconds float64 `json:"fatal_late_seconds,omitempty"`
}

// OK says the run was as predicted.
func (c *Check) OK() bool { return len(c.Differences) == 0 }

// CheckRun predicts the run's start-up and compares.
func CheckRun(id Identity, res *lab.Result) (*Check, error) {
	r := Observe(res)
	if r.Serving == 0 && r.Outcome != kube.OutcomeExits {
		return nil, fmt.Errorf("--check: the apiserver never logged \"Serving securely\" (%s after %.1f s): not a start-up the model covers; its output ends: %s", res.Ended, res.Total.Seconds(), tail(res.Output))
	}
	f, err := kube.ParseAPIServerFlags(&corev1.Container{Command: res.Argv})
	if err != nil {
		return nil, err
	}
	p, err := predictFlags(id.Kube, id.program(), f, r)
	if err != nil {
		return nil, err
	}
	c := &Check{
		Identity: id, Kube: id.Kube.String(), KubeFrom: id.From, GoVersion: id.program().Go.Version.String(),
		Loopback:         p.Loopback.Host,
		Predicted:        p.Result,
		Observed:         r.Observed(),
		Machine:          MachineSeen{AdmissionSeconds: r.Admission.Seconds(), ServingSeconds: r.Serving.Seconds(), FatalLateSeconds: r.Late.Seconds()},
		ToleranceSeconds: Tolerance(r.Time).Seconds(),
		Reasons:          p.Reasons,
	}
	c.Differences = Compare(p.Result, r)
	if c.Differences == nil {
		c.Differences = []string{}
	}
	return c, nil
}

// Observed is the run in the model's terms.
func (r *Run) Observed() kube.StartupResult {
	log := r.FirstError
	if r.Outcome == kube.OutcomeExits {
		log = r.Fatal
	}
	return kube.StartupResult{Outcome: r.Outcome, Time: model.Seconds(r.Time), DNSQueries: len(r.Queries), Log: log}
}
