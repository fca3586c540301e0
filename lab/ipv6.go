package lab

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// IPv6 says whether the lab's network namespace has IPv6 on its
// interfaces, as the kernel's disable_ipv6 switch sets it.
type IPv6 string

const (
	// IPv6Default leaves the namespace as the kernel makes it (IPv6 on,
	// unless the host's defaults say otherwise).
	IPv6Default IPv6 = ""
	// IPv6On writes disable_ipv6 = 0: lo has ::1.
	IPv6On IPv6 = "on"
	// IPv6Off writes disable_ipv6 = 1: lo has no IPv6 address, so a
	// program's loopback dials and listeners are IPv4 only (a node with
	// net.ipv6.conf.all.disable_ipv6 = 1).
	IPv6Off IPv6 = "off"
)

// ParseIPv6 reads an --ipv6 value: "on" or "off".
func ParseIPv6(s string) (IPv6, error) {
	switch v := IPv6(s); v {
	case IPv6On, IPv6Off:
		return v, nil
	}
	return "", inputErrorf("--ipv6 %q: want on or off", s)
}

// ipv6Conf is where the kernel keeps the switch, per interface and for
// all and future ones. Opened from inside the lab's network namespace,
// these files are that namespace's: the host's are never touched.
const ipv6Conf = "/proc/sys/net/ipv6/conf"

// ipv6Switches are the disable_ipv6 files the lab sets: "all" and
// "default" (interfaces created later, by a program) and lo, the one
// interface the namespace has.
var ipv6Switches = []string{"all", "default", "lo"}

// setIPv6 writes the namespace's disable_ipv6 switches for mode. It runs
// in the init, before the program starts, so the program needs no
// privilege for it. IPv6Default writes nothing.
func setIPv6(mode IPv6) error {
	var v string
	switch mode {
	case IPv6Default:
		return nil
	case IPv6On:
		v = "0"
	case IPv6Off:
		v = "1"
	default:
		return inputErrorf("ipv6 %q: want on or off", mode)
	}
	if _, err := os.Stat(ipv6Conf); err != nil {
		if mode == IPv6Off {
			return nil // a kernel without IPv6 (ipv6.disable=1) is already off
		}
		return inputErrorf("--ipv6 on: this kernel has no IPv6 (%v)", err)
	}
	for _, dev := range ipv6Switches {
		p := ipv6Conf + "/" + dev + "/disable_ipv6"
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			return fmt.Errorf("set %s: %w", p, err)
		}
	}
	return nil
}

// readIPv6 reports lo's IPv6 state in the namespace as the program finds
// it: "off" when disable_ipv6 is set or the kernel has no IPv6.
func readIPv6() IPv6 {
	b, err := os.ReadFile(ipv6Conf + "/lo/disable_ipv6")
	if err != nil || strings.TrimSpace(string(b)) != "0" {
		return IPv6Off
	}
	return IPv6On
}

// checkIPv6 refuses a mode the lab does not know, and an IPv6 nameserver
// in a namespace without IPv6 (its address could not be added to lo).
func checkIPv6(mode IPv6, nameservers []netip.Addr) error {
	switch mode {
	case IPv6Default, IPv6On:
		return nil
	case IPv6Off:
		for _, a := range nameservers {
			if a.Is6() && !a.Is4In6() {
				return inputErrorf("nameserver %s is an IPv6 address, but IPv6 is off in the lab (--ipv6 off)", a)
			}
		}
		return nil
	}
	return inputErrorf("ipv6 %q: want on or off", mode)
}
