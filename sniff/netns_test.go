package sniff

import (
	"encoding/json"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
)

type xkey struct {
	transport, client, server string
	id                        uint16
}

func keyOf(x Exchange) xkey {
	return xkey{x.Transport, x.Client.String(), x.Server.String(), x.ID}
}

// probeSpec is a lab run of the test binary on the host's root, as a
// probe (env envProbe) or a pair of probes (envPair).
func probeSpec(t *testing.T, servers []string, behaviours, options, envKey string, plan any) lab.Spec {
	t.Helper()
	sc, err := model.ParseScenario(behaviours)
	if err != nil {
		t.Fatal(err)
	}
	var ns []netip.Addr
	for _, s := range servers {
		ns = append(ns, netip.MustParseAddr(s))
	}
	b, _ := json.Marshal(plan)
	return lab.Spec{
		Nameservers: ns,
		Scenario:    sc,
		ResolvConf:  &model.File{Data: lab.ResolvConf(ns, "", options), Origin: "test"},
		Argv:        []string{testBinary(t), "probe"},
		Env:         []string{"PATH=" + lab.DefaultPath, envKey + "=" + string(b)},
		Timeout:     2 * time.Minute,
	}
}

// TestSniffPairsAndAttributes runs two probes at once against a silent,
// an NXDOMAIN and a truncating server (which sends the probe to TCP):
// sniff must see exactly the messages the probes sent, pair every reply,
// flag exactly the unanswered queries, and name the right probe for each.
func TestSniffPairsAndAttributes(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	goFile, release := filepath.Join(dir, "go"), filepath.Join(dir, "release")
	servers := []string{"10.53.0.1", "10.53.0.2", "10.53.0.3"}
	plan := func(label string) probePlan {
		// The probe waits longer than the resolver timeout sniff applies
		// (the default 5 s), so a reply sniff counts is one the probe saw.
		p := probePlan{Go: goFile, Label: label, Timeout: 6 * time.Second, Release: release}
		for i, s := range servers {
			for _, typ := range []uint16{dns.TypeA, dns.TypeAAAA} {
				p.Queries = append(p.Queries, probeQuery{Server: s, Name: label + "-" + string(rune('0'+i)) + ".example.", Type: typ, Resend: i == 0 && typ == dns.TypeA})
			}
		}
		return p
	}
	spec := probeSpec(t, servers, "silent,nxdomain,answer=192.0.2.7/truncate", "", envPair, []probePlan{plan("a"), plan("b")})
	run := sniffLab(t, spec, goFile, release, 18, Options{})
	sent := probeOutput(t, run.res)

	// 2 probes × (3 servers × 2 types + 1 resend + 2 TCP retries) = 18.
	if len(sent) != 18 {
		t.Fatalf("the probes report %d messages, want 18: %+v", len(sent), sent)
	}
	if len(run.res.Queries) != len(sent) {
		t.Fatalf("the fake servers received %d messages, the probes sent %d", len(run.res.Queries), len(sent))
	}
	got := map[xkey]Exchange{}
	for _, x := range run.exchanges {
		if _, dup := got[keyOf(x)]; dup {
			t.Errorf("exchange reported twice: %+v", x)
		}
		got[keyOf(x)] = x
	}
	if len(got) != len(sent) {
		t.Errorf("sniff reported %d exchanges, the probes sent %d", len(got), len(sent))
	}
	pids := map[string]int{}
	for _, s := range sent {
		x, ok := got[xkey{s.Transport, s.Client, s.Server, s.ID}]
		if !ok {
			t.Errorf("missed: %+v", s)
			continue
		}
		if x.Name != s.Name || x.Type != s.Type {
			t.Errorf("%+v: sniff read %s %s", s, x.Name, x.Type)
		}
		if x.Unanswered == s.Answered {
			t.Errorf("%+v: sniff says unanswered=%v", s, x.Unanswered)
		}
		if s.Answered && (x.Rcode != s.Rcode || x.Truncated != s.Truncated) {
			t.Errorf("%+v: sniff paired rcode %s truncated %v", s, x.Rcode, x.Truncated)
		}
		if x.Process == nil {
			t.Errorf("%+v: not attributed: %s", s, x.AttrError)
			continue
		}
		if !slices.Contains(x.Process.Cmdline, "probe-"+s.Label) {
			t.Errorf("%+v: attributed to %d %q", s, x.Process.PID, x.Process.Cmdline)
		}
		if p, ok := pids[s.Label]; ok && p != x.Process.PID {
			t.Errorf("probe %s attributed to PIDs %d and %d", s.Label, p, x.Process.PID)
		}
		pids[s.Label] = x.Process.PID
	}
	if pids["a"] == pids["b"] {
		t.Errorf("both probes attributed to PID %d", pids["a"])
	}
	// The resent question: both unanswered, the first marked retried.
	for _, x := range run.exchanges {
		if strings.HasSuffix(x.Name, "-0.example.") && x.Type == "A" {
			if !x.Unanswered || x.Timeout != DefaultTimeout {
				t.Errorf("%+v: want unanswered after 5s", x)
			}
		}
	}
	retried := 0
	for _, x := range run.exchanges {
		if x.Retried > 0 {
			retried++
		}
	}
	if retried != 2 {
		t.Errorf("%d queries marked retried, want 2 (one per probe)", retried)
	}
	s := run.sum
	if s.Kernel.Drops != 0 || s.Unmatched != 0 || s.Late != 0 || s.InFlight != 0 || s.Malformed != 0 {
		t.Errorf("summary counters: %+v", s.trackerCounts)
	}
	var unanswered int
	for _, p := range s.Processes {
		unanswered += p.Unanswered
	}
	if unanswered != 6 {
		t.Errorf("summary: %d unanswered, want 6 (3 per probe)", unanswered)
	}
}

// TestSniffAnsweredAfterRetry: a slow server answers the first copy of a
// question after the client already sent it again.
func TestSniffAnsweredAfterRetry(t *testing.T) {
	needRoot(t)
	goFile := filepath.Join(t.TempDir(), "go")
	servers := []string{"10.53.1.1"}
	plan := probePlan{Go: goFile, Label: "slow", Timeout: 10 * time.Second,
		Queries: []probeQuery{{Server: servers[0], Name: "slow.example.", Type: dns.TypeA, Resend: true}}}
	spec := probeSpec(t, servers, "answer=192.0.2.8/delay=300ms", "", envProbe, plan)
	run := sniffLab(t, spec, goFile, "", 0, Options{})
	sent := probeOutput(t, run.res)
	if len(sent) != 2 || len(run.exchanges) != 2 {
		t.Fatalf("sent %+v, sniffed %+v", sent, run.exchanges)
	}
	first, second := run.exchanges[0], run.exchanges[1]
	if first.Time.After(second.Time) {
		first, second = second, first
	}
	if !first.AnsweredAfterRetry || first.Unanswered || first.Rcode != "NOERROR" || len(first.Answers) != 1 || first.Answers[0] != "A 192.0.2.8" {
		t.Errorf("first copy: %+v", first)
	}
	if second.AnsweredAfterRetry || second.Retried != 0 {
		t.Errorf("second copy: %+v", second)
	}
	if first.Latency < 300*time.Millisecond || first.Timeout != DefaultTimeout {
		t.Errorf("first copy latency %s timeout %s", first.Latency, first.Timeout)
	}
	// The sockets close as soon as the answer is read: attribution may
	// come too late, but must then say so, and never name another process.
	for _, x := range run.exchanges {
		switch {
		case x.Process == nil && x.AttrError == "":
			t.Errorf("%+v: neither a process nor a reason", x)
		case x.Process != nil && !slices.Contains(x.Process.Cmdline, "probe"):
			t.Errorf("%+v: attributed to %q", x, x.Process.Cmdline)
		}
	}
}

// TestSniffIPv6: the same over IPv6, UDP and (after truncation) TCP.
func TestSniffIPv6(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	goFile, release := filepath.Join(dir, "go"), filepath.Join(dir, "release")
	servers := []string{"fd00:53::1"}
	plan := probePlan{Go: goFile, Label: "v6", Timeout: 6 * time.Second, Release: release,
		Queries: []probeQuery{{Server: servers[0], Name: "six.example.", Type: dns.TypeAAAA}}}
	spec := probeSpec(t, servers, "answer=2001:db8::6/truncate", "", envProbe, plan)
	run := sniffLab(t, spec, goFile, release, 2, Options{})
	sent := probeOutput(t, run.res)
	if len(sent) != 2 || len(run.exchanges) != 2 {
		t.Fatalf("sent %+v, sniffed %+v", sent, run.exchanges)
	}
	for _, x := range run.exchanges {
		if !x.Server.Addr().Is6() || x.Unanswered || x.Process == nil || !slices.Contains(x.Process.Cmdline, "probe") {
			t.Errorf("%+v (%s)", x, x.AttrError)
		}
		switch x.Transport {
		case "udp":
			if !x.Truncated {
				t.Errorf("UDP reply not truncated: %+v", x)
			}
		case "tcp":
			if len(x.Answers) != 1 || x.Answers[0] != "AAAA 2001:db8::6" {
				t.Errorf("TCP answer: %+v", x.Answers)
			}
		}
	}
}
