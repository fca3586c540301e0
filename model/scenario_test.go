package model

import (
	"strings"
	"testing"
)

func TestParseBehavior(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "silent", want: "silent"},
		{in: " nxdomain ", want: "nxdomain"},
		{in: "delay=2s", want: "nxdomain/delay=2s"},
		{in: "truncate", want: "nxdomain/truncate"},
		{in: "answer=127.0.0.9+::9/delay=100ms/truncate", want: "answer=127.0.0.9+::9/delay=100ms/truncate"},
		{in: "answer=::ffff:127.0.0.9", want: "answer=127.0.0.9"},
		{in: "answer", err: "needs addresses"},
		{in: "answer=foo", err: "is not an IP address"},
		{in: "silent/delay=1s", err: "never replies"},
		{in: "refuse/truncate", err: "never replies"},
		{in: "nxdomain/servfail", err: "both"},
		{in: "delay=0s", err: "not a duration"},
		{in: "bogus", err: "unknown item"},
		{in: "", err: "empty"},
	}
	for _, tc := range tests {
		b, err := ParseBehavior(tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseBehavior(%q) error %v, want %q", tc.in, err, tc.err)
			}
		case err != nil:
			t.Errorf("ParseBehavior(%q): %v", tc.in, err)
		case b.String() != tc.want:
			t.Errorf("ParseBehavior(%q) = %s, want %s", tc.in, b.String(), tc.want)
		}
	}
	if _, err := ParseScenario("silent,silent,silent,silent"); err == nil {
		t.Error("four behaviours accepted")
	}
}

func FuzzParseScenario(f *testing.F) {
	for _, s := range []string{"silent", "silent,nxdomain,answer=127.0.0.9", "answer=127.0.0.9+::9/delay=2s/truncate",
		"delay=1s", "truncate", "refuse,refused,nodata", "answer=", "silent/delay=1s", ",", "answer=1.2.3.4+", "delay=-1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScenario(s)
		if err != nil {
			return
		}
		// Whatever parses must render back to something that parses to
		// the same scenario.
		again, err := ParseScenario(sc.String())
		if err != nil {
			t.Fatalf("%q -> %q does not parse: %v", s, sc.String(), err)
		}
		if again.String() != sc.String() {
			t.Fatalf("%q: %q != %q", s, again.String(), sc.String())
		}
	})
}
