package lab

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/nsscope/nsscope/model"
)

func x(start time.Duration, server, typ, name string) model.Exchange {
	return model.Exchange{Start: model.Seconds(start), Server: server, Type: typ, Name: name, Transport: "udp"}
}

func TestCompare(t *testing.T) {
	const s1, s2 = "127.0.0.53:53", "127.0.0.54:53"
	pred := &model.Prediction{Total: model.Seconds(2 * time.Second), Debug: []string{"go package net: hostLookupOrder(a) = dns,files"}, Exchanges: []model.Exchange{
		x(0, s1, "A", "a."), x(0, s1, "AAAA", "a."),
		x(time.Second, s2, "A", "a."), x(time.Second, s2, "AAAA", "a."),
	}}
	yes, no := true, false
	tests := []struct {
		name string
		obs  Observation
		want []string // substrings of the differences, in order; none = match
	}{
		{"same, pair swapped", Observation{Total: 2*time.Second + 10*time.Millisecond, Exchanges: []model.Exchange{
			x(3*time.Millisecond, s1, "AAAA", "a."), x(3*time.Millisecond, s1, "A", "a."),
			x(time.Second+4*time.Millisecond, s2, "A", "a."), x(time.Second+4*time.Millisecond, s2, "AAAA", "a."),
		}}, nil},
		{"servers swapped", Observation{Total: 2 * time.Second, Exchanges: []model.Exchange{
			x(0, s2, "A", "a."), x(0, s2, "AAAA", "a."), x(time.Second, s1, "A", "a."), x(time.Second, s1, "AAAA", "a."),
		}}, []string{"exchanges 1-2: predicted"}},
		{"one missing", Observation{Total: 2 * time.Second, Exchanges: []model.Exchange{
			x(0, s1, "A", "a."), x(0, s1, "AAAA", "a."), x(time.Second, s2, "A", "a."),
		}}, []string{"predicted 4, observed 3", "exchanges 3-4"}},
		{"one extra", Observation{Total: 2 * time.Second, Exchanges: []model.Exchange{
			x(0, s1, "A", "a."), x(0, s1, "AAAA", "a."), x(time.Second, s2, "A", "a."), x(time.Second, s2, "AAAA", "a."), x(time.Second, s2, "A", "b."),
		}}, []string{"predicted 4, observed 5", "unpredicted exchanges 5-5"}},
		{"late burst", Observation{Total: 2 * time.Second, Exchanges: []model.Exchange{
			x(0, s1, "A", "a."), x(0, s1, "AAAA", "a."), x(1200*time.Millisecond, s2, "A", "a."), x(1200*time.Millisecond, s2, "AAAA", "a."),
		}}, []string{"predicted at +1.000s, observed at +1.200s"}},
		{"slow total", Observation{Total: 2200 * time.Millisecond, Exchanges: pred.Exchanges}, []string{"total time: predicted 2.000s, observed 2.200s"}},
		{"lookup start offset", Observation{LookupStart: 80 * time.Millisecond, Total: 2 * time.Second, Exchanges: []model.Exchange{
			x(80*time.Millisecond, s1, "A", "a."), x(80*time.Millisecond, s1, "AAAA", "a."), x(1080*time.Millisecond, s2, "A", "a."), x(1080*time.Millisecond, s2, "AAAA", "a."),
		}}, nil},
		{"anchored", Observation{AnchorFirst: true, Total: 2100 * time.Millisecond, Exchanges: []model.Exchange{
			x(100*time.Millisecond, s1, "A", "a."), x(100*time.Millisecond, s1, "AAAA", "a."), x(1100*time.Millisecond, s2, "A", "a."), x(1100*time.Millisecond, s2, "AAAA", "a."),
		}}, nil},
		{"unanchored start-up is a difference", Observation{Total: 2 * time.Second, Exchanges: []model.Exchange{
			x(100*time.Millisecond, s1, "A", "a."), x(100*time.Millisecond, s1, "AAAA", "a."), x(1100*time.Millisecond, s2, "A", "a."), x(1100*time.Millisecond, s2, "AAAA", "a."),
		}}, []string{"observed at +0.100s", "observed at +1.100s"}},
		{"success agrees", Observation{Total: 2 * time.Second, Exchanges: pred.Exchanges, Succeeded: &yes}, nil},
		{"failure differs", Observation{Total: 2 * time.Second, Exchanges: pred.Exchanges, Succeeded: &no}, []string{"predicted success"}},
		{"debug output agrees", Observation{Total: 2 * time.Second, Exchanges: pred.Exchanges, Debug: []string{"go package net: hostLookupOrder(a) = dns,files"}}, nil},
		{"debug output differs", Observation{Total: 2 * time.Second, Exchanges: pred.Exchanges, Debug: []string{"go package net: hostLookupOrder(a) = files,dns"}}, []string{"debug output: predicted"}},
		{"no debug output printed", Observation{Total: 2 * time.Second, Exchanges: pred.Exchanges, Debug: []string{}}, []string{"debug output: predicted"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(pred, tc.obs)
			if len(tc.want) == 0 {
				if !c.OK() {
					t.Errorf("differences: %q", c.Differences)
				}
				return
			}
			if len(c.Differences) != len(tc.want) {
				t.Fatalf("differences %q, want %d like %q", c.Differences, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(c.Differences[i], w) {
					t.Errorf("difference %d = %q, want it to contain %q", i, c.Differences[i], w)
				}
			}
		})
	}
}

func TestSameMessages(t *testing.T) {
	const s1, s2 = "127.0.0.53:53", "127.0.0.54:53"
	want := []model.Exchange{
		x(0, s1, "A", "a."), x(time.Millisecond, s1, "AAAA", "a."),
		x(time.Second, s2, "A", "a."), x(time.Second, s2, "AAAA", "a."),
	}
	tests := []struct {
		name        string
		got         []model.Exchange
		ok          bool
		first, last int
	}{
		{"same", want, true, 0, 0},
		{"swapped within a burst", []model.Exchange{want[1], want[0], want[3], want[2]}, true, 0, 0},
		{"swapped across bursts", []model.Exchange{want[0], want[2], want[1], want[3]}, false, 1, 2},
		{"last one missing", want[:3], false, 3, 4},
		{"none", nil, false, 1, 2},
		{"one extra", append(append([]model.Exchange(nil), want...), x(2*time.Second, s1, "A", "b.")), false, 5, 5},
		{"another name", []model.Exchange{want[0], want[1], want[2], x(time.Second, s2, "AAAA", "b.")}, false, 3, 4},
	}
	for _, tc := range tests {
		ok, first, last := SameMessages(want, tc.got)
		if ok != tc.ok || first != tc.first || last != tc.last {
			t.Errorf("%s: SameMessages = %v, %d, %d; want %v, %d, %d", tc.name, ok, first, last, tc.ok, tc.first, tc.last)
		}
	}
}

func TestNormalizeError(t *testing.T) {
	for in, want := range map[string]string{
		"lookup foo on 127.0.0.53:53: read udp 127.0.0.1:53421->127.0.0.53:53: i/o timeout": "lookup foo on 127.0.0.53:53: read udp <local>->127.0.0.53:53: i/o timeout",
		"read udp [2001:db8::53]:60650->[2001:db8::53]:53: i/o timeout":                     "read udp <local>->[2001:db8::53]:53: i/o timeout",
		"dial tcp4: lookup foo: no such host":                                               "dial tcp4: lookup foo: no such host",
	} {
		if got := NormalizeError(in); got != want {
			t.Errorf("NormalizeError(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFidelity(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{
		{0, 50 * time.Millisecond}, {time.Second, 50 * time.Millisecond}, {12 * time.Second, 360 * time.Millisecond}, {120 * time.Second, 3600 * time.Millisecond},
	} {
		if got := Fidelity(tc.in); got != tc.want {
			t.Errorf("Fidelity(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestRespond checks the reply each behaviour builds, over UDP and TCP.
func TestRespond(t *testing.T) {
	q := func(typ uint16) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("foo.example.", typ)
		return m
	}
	beh := func(s string) model.Behavior {
		b, err := model.ParseBehavior(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		behavior, transport string
		qtype               uint16
		action              string
		rcode               int
		answers             int
		tc                  bool
	}{
		{"silent", "udp", dns.TypeA, "silent", -1, 0, false},
		{"nxdomain", "udp", dns.TypeA, "nxdomain", dns.RcodeNameError, 0, false},
		{"servfail", "tcp", dns.TypeAAAA, "servfail", dns.RcodeServerFailure, 0, false},
		{"refused", "udp", dns.TypeA, "refused", dns.RcodeRefused, 0, false},
		{"nodata", "udp", dns.TypeA, "nodata", dns.RcodeSuccess, 0, false},
		{"answer=127.0.0.9", "udp", dns.TypeA, "answer", dns.RcodeSuccess, 1, false},
		{"answer=127.0.0.9", "udp", dns.TypeAAAA, "nodata", dns.RcodeSuccess, 0, false},
		{"answer=127.0.0.9+::9", "udp", dns.TypeAAAA, "answer", dns.RcodeSuccess, 1, false},
		{"answer=127.0.0.9/truncate", "udp", dns.TypeA, "truncated", dns.RcodeSuccess, 0, true},
		{"answer=127.0.0.9/truncate", "tcp", dns.TypeA, "answer", dns.RcodeSuccess, 1, false},
	}
	for _, tc := range tests {
		m, action := respond(beh(tc.behavior), tc.transport, q(tc.qtype))
		if action != tc.action {
			t.Errorf("%s over %s: action %s, want %s", tc.behavior, tc.transport, action, tc.action)
		}
		if tc.rcode < 0 {
			if m != nil {
				t.Errorf("%s: a reply was built", tc.behavior)
			}
			continue
		}
		if m.Rcode != tc.rcode || len(m.Answer) != tc.answers || m.Truncated != tc.tc {
			t.Errorf("%s over %s (%s): rcode %d answers %d tc %v, want %d %d %v", tc.behavior, tc.transport, dns.TypeToString[tc.qtype], m.Rcode, len(m.Answer), m.Truncated, tc.rcode, tc.answers, tc.tc)
		}
	}
}
