package kube

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/nsscope/nsscope/internal/jsonstyle"
)

// IfAddr is one address of a network interface.
type IfAddr struct {
	Interface string       `json:"interface,omitempty"`
	Prefix    netip.Prefix `json:"prefix"`
}

// Addr is the address without its prefix length.
func (a IfAddr) Addr() netip.Addr { return a.Prefix.Addr() }

// IPv6State says how much IPv6 the node has.
type IPv6State string

const (
	// IPv6On: IPv6 sockets work and the addresses are as listed.
	IPv6On IPv6State = "on"
	// IPv6Off: net.ipv6.conf.all.disable_ipv6=1. IPv6 sockets can still be
	// opened (a "tcp" listener on 0.0.0.0 is dual-stack and reports [::]),
	// but no interface has an IPv6 address: ::1 is gone from lo.
	IPv6Off IPv6State = "off"
	// IPv6Absent: the kernel was booted with ipv6.disable=1; no IPv6
	// socket can be opened, so a listener on 0.0.0.0 is IPv4 only.
	IPv6Absent IPv6State = "absent"
)

// ParseIPv6State parses on, off or absent.
func ParseIPv6State(s string) (IPv6State, error) {
	switch st := IPv6State(strings.ToLower(s)); st {
	case IPv6On, IPv6Off, IPv6Absent:
		return st, nil
	}
	return "", fmt.Errorf("unknown IPv6 state %q (want on, off or absent)", s)
}

// WithIPv6 applies an IPv6 state to a list of addresses: off and absent
// remove every IPv6 address.
func WithIPv6(addrs []IfAddr, st IPv6State) []IfAddr {
	if st == IPv6On || st == "" {
		return addrs
	}
	var out []IfAddr
	for _, a := range addrs {
		if a.Addr().Is4() || a.Addr().Is4In6() {
			out = append(out, a)
		}
	}
	return out
}

// ipJSONIface is the part of `ip -j addr` output read here.
type ipJSONIface struct {
	IfName   string `json:"ifname"`
	AddrInfo []struct {
		Family    string `json:"family"`
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
	} `json:"addr_info"`
}

// ParseIPJSON reads the JSON printed by `ip -j addr` (iproute2), in
// interface order, the order net.InterfaceAddrs reports. An empty list
// ([]) is no interfaces: the result is empty but not nil, which callers
// read as "this host's".
func ParseIPJSON(data []byte) ([]IfAddr, error) {
	var ifs []ipJSONIface
	if err := json.Unmarshal(data, &ifs); err != nil {
		return nil, fmt.Errorf("not `ip -j addr` output: %w", jsonstyle.Describe(err))
	}
	out := []IfAddr{}
	for i, ifc := range ifs {
		for j, ai := range ifc.AddrInfo {
			if ai.Family != "inet" && ai.Family != "inet6" {
				continue
			}
			a, err := netip.ParseAddr(ai.Local)
			if err != nil {
				return nil, fmt.Errorf("interface %d (%s) address %d: %w", i, ifc.IfName, j, err)
			}
			p, err := a.Prefix(ai.PrefixLen)
			if err != nil {
				return nil, fmt.Errorf("interface %d (%s) address %d: prefix length %d: %w", i, ifc.IfName, j, ai.PrefixLen, err)
			}
			out = append(out, IfAddr{Interface: ifc.IfName, Prefix: netip.PrefixFrom(a, p.Bits())})
		}
	}
	return out, nil
}

// HasIPv6Loopback reports whether ::1 is configured.
func HasIPv6Loopback(addrs []IfAddr) bool {
	for _, a := range addrs {
		if a.Addr() == netip.IPv6Loopback() {
			return true
		}
	}
	return false
}

// FormatAddrs renders addresses for a reason line.
func FormatAddrs(addrs []IfAddr) string {
	if len(addrs) == 0 {
		return "none"
	}
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = a.Prefix.String()
		if a.Interface != "" {
			parts[i] += " (" + a.Interface + ")"
		}
	}
	return strings.Join(parts, ", ")
}
