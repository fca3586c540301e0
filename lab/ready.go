package lab

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nsscope/nsscope/model"
)

// Probe is a readiness check the lab's init makes from inside the lab's
// own network namespace: an HTTP(S) GET of a URL on a loopback address
// (never a name, so the probe itself sends no DNS message), every
// ProbeInterval, until it answers 200 (with Body, when set). The
// certificate of an https URL is not checked: it is the program's own,
// on the lab's own loopback.
type Probe struct {
	URL string `json:"url"`
	// Body is the answer that means ready ("" = any 200 answer), e.g.
	// "ok" for kube-apiserver's /readyz.
	Body string `json:"body,omitempty"`
	// Grace is how long the run goes on once the program is ready (late
	// queries still count); zero ends it at once. Only Spec.Ready uses it.
	Grace model.Seconds `json:"grace_seconds,omitempty"`
}

// Sidecar is a program the lab starts before Spec.Argv, contained like
// it and in the same root (kube-apiserver's etcd, say). It is killed
// when the run ends; its output is not kept. With Ready the program
// starts only once the sidecar's probe answers.
type Sidecar struct {
	Argv  []string `json:"argv"`
	Ready *Probe   `json:"ready,omitempty"`
}

// Readiness is when the program's Spec.Ready probe first answered.
type Readiness struct {
	URL string `json:"url"`
	// Offset is from the program's start.
	Offset model.Seconds `json:"offset_seconds"`
	// Answer is the body it answered (at most 256 bytes).
	Answer string `json:"answer"`
}

// Timings of the probes.
const (
	// ProbeInterval is the time between two tries (kube-apiserver's
	// readiness is read to within it).
	ProbeInterval = 200 * time.Millisecond
	// probeTimeout bounds one try.
	probeTimeout = time.Second
	// SidecarReadyTimeout is how long the lab waits for a sidecar's probe.
	SidecarReadyTimeout = time.Minute
)

// EndedReady is Result.Ended when Spec.Ready answered (and its grace passed).
const EndedReady = "ready"

// CheckProbe says whether a probe's URL is one the lab may poll: http or
// https to a loopback address literal with a port.
func CheckProbe(p Probe) error {
	u, err := url.Parse(p.URL)
	if err != nil {
		return fmt.Errorf("probe %q: %w", p.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("probe %q: want an http:// or https:// URL", p.URL)
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil || !a.IsLoopback() {
		return fmt.Errorf("probe %q: the host must be a loopback address (127.0.0.1, [::1]): the probe runs inside the lab and resolves no name", p.URL)
	}
	if u.Port() == "" {
		return fmt.Errorf("probe %q: give the port", p.URL)
	}
	if p.Grace < 0 {
		return fmt.Errorf("probe %q: negative grace %s", p.URL, p.Grace)
	}
	return nil
}

// checkProbes validates the spec's probes and sidecars (an input error).
func checkProbes(spec Spec) error {
	if spec.Ready != nil {
		if err := CheckProbe(*spec.Ready); err != nil {
			return inputErrorf("--ready-url: %v", err)
		}
	}
	for _, s := range spec.Sidecars {
		if len(s.Argv) == 0 || s.Argv[0] == "" {
			return inputErrorf("--sidecar: empty command")
		}
		if s.Ready != nil {
			if err := CheckProbe(*s.Ready); err != nil {
				return inputErrorf("--sidecar-ready: %v", err)
			}
		}
	}
	return nil
}

// prober polls one probe's URL.
type prober struct {
	probe  Probe
	client *http.Client
}

func newProber(p Probe) *prober {
	// No proxy, no name: the dial goes to the literal address.
	tr := &http.Transport{
		Proxy:             nil,
		DialContext:       (&net.Dialer{Timeout: probeTimeout}).DialContext,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the program's own certificate on the lab's loopback
		DisableKeepAlives: true,
	}
	return &prober{probe: p, client: &http.Client{Transport: tr, Timeout: probeTimeout}}
}

// try makes one request; ok when the answer means ready.
func (p *prober) try(ctx context.Context) (string, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.probe.URL, nil)
	if err != nil {
		return "", false
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	body := string(b)
	return body, resp.StatusCode == http.StatusOK && (p.probe.Body == "" || strings.TrimSpace(body) == p.probe.Body)
}

// wait polls until the probe answers, ctx ends or stop closes; it
// returns the answer and when it came.
func (p *prober) wait(ctx context.Context, stop <-chan struct{}) (string, time.Time, bool) {
	t := time.NewTicker(ProbeInterval)
	defer t.Stop()
	for {
		if body, ok := p.try(ctx); ok {
			return body, time.Now(), true
		}
		select {
		case <-ctx.Done():
			return "", time.Time{}, false
		case <-stop:
			return "", time.Time{}, false
		case <-t.C:
		}
	}
}

// watchReady polls spec.Ready while the program runs: when it answers it
// records the readiness in res and, after the grace, sends on end.
func watchReady(p Probe, t0 time.Time, res *Result, end chan<- time.Time, stop <-chan struct{}) {
	body, at, ok := newProber(p).wait(context.Background(), stop)
	if !ok {
		return
	}
	res.Ready = &Readiness{URL: p.URL, Offset: model.Seconds(at.Sub(t0)), Answer: body}
	select {
	case <-time.After(p.Grace.Duration()):
	case <-stop:
		return
	}
	end <- time.Now()
}

// sidecars are the running sidecar processes.
type sidecars struct{ procs []*os.Process }

// startSidecars starts the spec's sidecars in rootDir, each waited for
// when it has a probe.
func startSidecars(spec Spec, r *rootFS, rootDir string) (*sidecars, error) {
	sc := &sidecars{}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	for _, s := range spec.Sidecars {
		path, err := findProgram(r, s.Argv[0], envValue(spec.Env, "PATH", DefaultPath))
		if err != nil {
			sc.stop()
			return nil, fmt.Errorf("sidecar: %w", err)
		}
		cmd, err := startContained(execRequest{Root: rootDir, Path: path, Argv: s.Argv, Env: spec.Env}, null, null)
		if err != nil {
			sc.stop()
			return nil, fmt.Errorf("sidecar %s: %w", s.Argv[0], err)
		}
		sc.procs = append(sc.procs, cmd.Process)
		go cmd.Wait() //nolint:errcheck // reaped; killed at the end
		if s.Ready == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), SidecarReadyTimeout)
		_, _, ok := newProber(*s.Ready).wait(ctx, nil)
		cancel()
		if !ok {
			sc.stop()
			return nil, inputErrorf("sidecar %s: %s did not answer within %s", s.Argv[0], s.Ready.URL, SidecarReadyTimeout)
		}
	}
	return sc, nil
}

// stop kills every sidecar's process group.
func (sc *sidecars) stop() {
	for _, p := range sc.procs {
		killGroup(p.Pid)
	}
}
