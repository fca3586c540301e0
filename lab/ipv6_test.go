package lab

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/model"
)

func TestParseIPv6(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want IPv6
		bad  bool
	}{{"on", IPv6On, false}, {"off", IPv6Off, false}, {"", "", true}, {"yes", "", true}, {"OFF", "", true}} {
		got, err := ParseIPv6(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseIPv6(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.bad)
		}
		if err != nil && !IsInputError(err) {
			t.Errorf("ParseIPv6(%q): %v is not an input error", tc.in, err)
		}
	}
}

func TestCheckIPv6(t *testing.T) {
	v4 := []netip.Addr{netip.MustParseAddr("127.0.0.53")}
	v6 := []netip.Addr{netip.MustParseAddr("127.0.0.53"), netip.MustParseAddr("2001:db8::53")}
	for _, tc := range []struct {
		mode IPv6
		ns   []netip.Addr
		bad  bool
	}{{IPv6Default, v6, false}, {IPv6On, v6, false}, {IPv6Off, v4, false}, {IPv6Off, v6, true}, {"maybe", v4, true}} {
		if err := checkIPv6(tc.mode, tc.ns); (err != nil) != tc.bad {
			t.Errorf("checkIPv6(%q, %v) = %v, want error %v", tc.mode, tc.ns, err, tc.bad)
		}
	}
}

// TestIPv6Switch runs a shell in the lab with IPv6 on and off and reads
// the namespace's disable_ipv6 switches and lo's addresses as the
// program sees them; the host's switches are unchanged.
func TestIPv6Switch(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat(ipv6Conf); err != nil {
		t.Skip("kernel without IPv6")
	}
	hostBefore, err := os.ReadFile(ipv6Conf + "/all/disable_ipv6")
	if err != nil {
		t.Fatal(err)
	}
	script := `for d in all default lo; do printf '%s=' $d; cat /proc/sys/net/ipv6/conf/$d/disable_ipv6; done; cat /proc/net/if_inet6`
	for _, tc := range []struct {
		mode      IPv6
		want      string
		loopback6 bool
	}{{IPv6Off, "1", false}, {IPv6On, "0", true}} {
		t.Run(string(tc.mode), func(t *testing.T) {
			addrs := []netip.Addr{netip.MustParseAddr("127.0.0.53")}
			spec := Spec{
				Nameservers: addrs,
				Scenario:    model.Scenario{Servers: []model.Behavior{{Kind: model.NXDomain}}},
				ResolvConf:  &model.File{Data: ResolvConf(addrs, "", "")},
				IPv6:        tc.mode,
				Argv:        []string{"/bin/sh", "-c", script},
				Env:         []string{"PATH=" + DefaultPath},
				Timeout:     time.Minute,
			}
			res, err := Runner{}.Run(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, l := range res.Output {
				out = append(out, l.Text)
			}
			text := strings.Join(out, "\n")
			for _, d := range ipv6Switches {
				if !strings.Contains(text, d+"="+tc.want) {
					t.Errorf("output lacks %s=%s:\n%s", d, tc.want, text)
				}
			}
			// /proc/net/if_inet6 lists ::1 on lo as 000...001.
			if got := strings.Contains(text, "00000000000000000000000000000001"); got != tc.loopback6 {
				t.Errorf("::1 on lo: %v, want %v:\n%s", got, tc.loopback6, text)
			}
			if res.IPv6 != tc.mode {
				t.Errorf("Result.IPv6 = %q, want %q", res.IPv6, tc.mode)
			}
		})
	}
	hostAfter, _ := os.ReadFile(ipv6Conf + "/all/disable_ipv6")
	if string(hostAfter) != string(hostBefore) {
		t.Errorf("host's all/disable_ipv6 changed: %q -> %q", hostBefore, hostAfter)
	}
}
