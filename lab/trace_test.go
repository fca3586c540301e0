package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	inetns "github.com/nsscope/nsscope/internal/netns"
	"github.com/nsscope/nsscope/model"
)

// upstreamLab starts a lab whose fake servers (behaviour b, at the default
// addresses) stand in for the host's real nameservers, and whose program
// waits for release to be non-empty. It returns the lab's network
// namespace and a function that releases it and returns its result.
func upstreamLab(t *testing.T, b string) (string, []netip.AddrPort, func() *Result) {
	t.Helper()
	release := filepath.Join(t.TempDir(), "release")
	sc, err := model.ParseScenario(b)
	if err != nil {
		t.Fatal(err)
	}
	ns := DefaultNameservers(3)
	spec := Spec{Nameservers: ns, Scenario: sc, ResolvConf: &model.File{Data: ResolvConf(ns, "", "")}, Env: []string{"PATH=" + DefaultPath},
		Argv: []string{"/bin/sh", "-c", "echo up > " + release + ".ready; until [ -s " + release + " ]; do sleep 0.05; done"}, Timeout: 5 * time.Minute,
		Share: []string{filepath.Dir(release)}} // the host's /tmp is a private copy otherwise
	var res *Result
	var runErr error
	done := make(chan struct{})
	started := make(chan int, 1)
	go func() {
		defer close(done)
		res, runErr = Runner{Started: func(pid int) { started <- pid }}.Run(context.Background(), spec)
	}()
	var pid int
	select {
	case pid = <-started:
	case <-done:
		t.Fatalf("upstream lab: %v", runErr)
	}
	waitFile(t, release+".ready", done)
	var ups []netip.AddrPort
	for _, a := range ns {
		ups = append(ups, netip.AddrPortFrom(a, 53))
	}
	finish := func() *Result {
		os.WriteFile(release, []byte("1"), 0o644) //nolint:errcheck
		<-done
		if runErr != nil {
			t.Fatalf("upstream lab: %v", runErr)
		}
		return res
	}
	t.Cleanup(func() { os.WriteFile(release, []byte("1"), 0o644); <-done }) //nolint:errcheck
	return filepath.Join("/proc", strconv.Itoa(pid), "ns", "net"), ups, finish
}

// esbuildIncident is the incident's program and root: Alpine 3.13, the Go
// 1.15.7 esbuild serving on localhost, no search list, timeout 1 s.
func esbuildIncident(t *testing.T) Spec {
	ns := DefaultNameservers(3)
	return Spec{
		Nameservers: ns,
		Scenario:    model.Scenario{Servers: []model.Behavior{{Kind: model.Silent}}},
		ResolvConf:  &model.File{Data: ResolvConf(ns, "", "timeout:1")},
		Root:        sharedData(t, "rootfs/alpine-minirootfs-3.13.12-x86_64.tar.gz"),
		Add:         []Add{{Src: sharedData(t, "binaries/esbuild-0.8.40-linux-amd64"), Dst: "/usr/local/bin/esbuild"}},
		Argv:        []string{"esbuild", "--serve=localhost:8000"},
		Env:         []string{"PATH=" + DefaultPath},
		Until:       "http://|error",
		Timeout:     2 * time.Minute,
	}
}

// TestTraceReproducesLab: the incident traced against three silent
// upstreams (fake, in a namespace of the test's own) gives the timeline
// the lab records for the same scenario — same exchanges to the same
// nameserver positions, in the same bursts, each burst sent only once the
// previous server's timeout has run out — and every query really reached the upstreams. The
// host's network namespace is never touched.
func TestTraceReproducesLab(t *testing.T) {
	requireRoot(t)
	plain, err := Runner{}.Run(context.Background(), esbuildIncident(t))
	if err != nil {
		t.Fatal(err)
	}
	hostNS, ups, finish := upstreamLab(t, "silent")
	spec := esbuildIncident(t)
	if err := PrepareTrace(&spec, ups, hostNS, ""); err != nil {
		t.Fatal(err)
	}
	spec.ResolvConf = &model.File{Data: ResolvConf(spec.Nameservers, "", "timeout:1")}
	traced, err := Runner{}.Run(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	upstream := finish()
	var tl bytes.Buffer
	WriteTimeline(&tl, traced)
	t.Logf("trace:\n%s", tl.String())

	if len(plain.Queries) != 12 || len(traced.Queries) != 12 || len(upstream.Queries) != 12 {
		t.Fatalf("queries: lab %d, trace %d, received upstream %d; want 12 each", len(plain.Queries), len(traced.Queries), len(upstream.Queries))
	}
	// Hold the trace to the lab run as the lab holds a run to the model,
	// nameservers matched by position.
	pos := map[netip.Addr]int{}
	for i, s := range traced.Servers {
		pos[s.Addr] = i
	}
	obs := traced.Exchanges()
	for i := range obs {
		obs[i].Server = netip.AddrPortFrom(plain.Servers[pos[traced.Queries[i].Server]].Addr, 53).String()
	}
	// The same exchanges to the same positions, burst by burst (a burst is
	// one nameserver's A and AAAA, sent at once in either order), with the
	// same outcomes.
	want := plain.Exchanges()
	if ok, i, j := SameMessages(want, obs); !ok {
		t.Errorf("exchanges %d-%d differ:\nlab   %+v\ntrace %+v", i, j, want, obs)
	}
	outcomes := func(xs []model.Exchange) []string {
		var out []string
		for _, x := range xs {
			out = append(out, x.Outcome)
		}
		return slices.Sorted(slices.Values(out))
	}
	if w, o := outcomes(want), outcomes(obs); !slices.Equal(w, o) {
		t.Errorf("outcomes: lab %q, trace %q", w, o)
	}
	// The same timing as the program's own clock gives it: every new
	// nameserver is asked only once the last one's timeout:1 has run out,
	// in the traced run as in the lab run. A relay that made a silent
	// upstream fail fast (an ICMP error, a reset) would bring a server's
	// burst forward. The bound is from the program's start, not from the
	// burst before: an exchange is recorded when the fake server reads it,
	// which load can delay past the program's send (and so shorten the gap
	// to the next burst, sent on time), but never bring before it; the k-th
	// server's burst cannot be sent before k timeouts have run. (A 1/20
	// allowance covers the two clocks' granularity, not load: load only
	// makes an exchange later.)
	const timeout = time.Second
	for _, run := range []struct {
		what string
		ex   []model.Exchange
	}{{"lab", want}, {"trace", obs}} {
		for i, x := range run.ex {
			k := i / 2 // each server's burst is its A and its AAAA
			if earliest := time.Duration(k)*timeout - timeout/20; x.Start.Duration() < earliest {
				t.Errorf("%s: exchange %d (%s to %s) sent at +%s, before %d timeouts of %s had run out", run.what, i+1, x.Type, x.Server, x.Start.Duration(), k, timeout)
			}
		}
	}
	for _, q := range traced.Queries {
		if q.Relay == nil || q.Action != "silent" || !strings.HasSuffix(q.Relay.Upstream, ":53") {
			t.Errorf("relay record: %+v %+v", q, q.Relay)
		}
	}
	// The veth pair went with the trace's namespace.
	links, _ := netlink.LinkList()
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, "nsst") {
			t.Errorf("interface %s left in the host namespace", l.Attrs().Name)
		}
	}
}

// TestTraceRelaysAnswers: answers and truncation (then TCP)
// come back from the upstreams through the forwarders, recorded with the
// upstream's reply.
func TestTraceRelaysAnswers(t *testing.T) {
	requireRoot(t)
	hostNS, ups, finish := upstreamLab(t, "answer=192.0.2.9/truncate,nxdomain,silent")
	spec := Spec{Env: []string{"PATH=" + DefaultPath},
		Argv:    []string{"/usr/bin/getent", "ahostsv4", "traced.example"},
		Timeout: time.Minute,
	}
	if err := PrepareTrace(&spec, ups, hostNS, ""); err != nil {
		t.Fatal(err)
	}
	spec.ResolvConf = &model.File{Data: TraceResolvConf([]byte("search example\noptions timeout:1 attempts:1\nnameserver 10.9.9.9\n"), spec.Nameservers)}
	res, err := Runner{}.Run(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	upstream := finish()
	var tl bytes.Buffer
	WriteTimeline(&tl, res)
	t.Logf("trace:\n%s", tl.String())
	if len(upstream.Queries) != len(res.Queries) {
		t.Errorf("forwarders recorded %d queries, upstreams received %d", len(res.Queries), len(upstream.Queries))
	}
	actions := map[string]bool{}
	for _, q := range res.Queries {
		actions[q.Transport+" "+q.Action] = true
		if q.Action == "answer" && (len(q.Relay.Answers) == 0 || !strings.Contains(q.Relay.Answers[0], "192.0.2.9")) {
			t.Errorf("answer not recorded: %+v", q.Relay)
		}
	}
	if !actions["udp truncated"] || !actions["tcp answer"] {
		t.Errorf("actions %v: want a truncated UDP reply and a TCP answer", actions)
	}
	var gotAddr bool
	for _, l := range res.Output {
		gotAddr = gotAddr || strings.Contains(l.Text, "192.0.2.9")
	}
	if !gotAddr || res.ExitCode != 0 {
		t.Errorf("getent did not get the relayed answer: %+v", res.Output)
	}
}

// TestTraceSIGKILL: a trace whose nsscope is killed with SIGKILL leaves
// no veth end and no forwarder address in the host namespace.
func TestTraceSIGKILL(t *testing.T) {
	requireRoot(t)
	hostNS, ups, _ := upstreamLab(t, "silent")
	spec := Spec{Env: []string{"PATH=" + DefaultPath},
		Argv: []string{"/bin/sleep", "300"}, Timeout: 5 * time.Minute}
	if err := PrepareTrace(&spec, ups, hostNS, ""); err != nil {
		t.Fatal(err)
	}
	spec.ResolvConf = &model.File{Data: ResolvConf(spec.Nameservers, "", "")}
	b, _ := json.Marshal(spec)
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), envRunSpec+"="+string(b))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // if the test fails before the SIGKILL
	links := func() []string {
		var names []string
		inetns.Do(hostNS, func() error { //nolint:errcheck
			ls, err := netlink.LinkList()
			for _, l := range ls {
				if strings.HasPrefix(l.Attrs().Name, "nsst") {
					names = append(names, l.Attrs().Name)
				}
			}
			return err
		})
		return names
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() //nolint:errcheck
	for len(links()) == 0 {
		select {
		case <-exited:
			t.Fatal("the trace ended before its veth appeared")
		case <-time.After(10 * time.Millisecond):
		}
	}
	cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck
	<-exited
	// The kernel removes the pair once the namespace is gone, which it
	// does in the background: wait for it, however long.
	for end := time.Now().Add(5 * time.Minute); len(links()) > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("left behind after SIGKILL: %v", links())
		}
	}
}

// waitFile waits until a lab's program has written p (its namespaces are
// then fully set up), or the lab has ended.
func waitFile(t testing.TB, p string, done <-chan struct{}) {
	t.Helper()
	for {
		if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
			return
		}
		select {
		case <-done:
			t.Fatal("the lab ended before its program started")
		case <-time.After(5 * time.Millisecond):
		}
	}
}
