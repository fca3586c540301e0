package lab

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// setupNetwork brings lo up in the (new, empty) network namespace and adds
// every nameserver address that lo does not already cover: once lo is up
// all of 127.0.0.0/8 and ::1 are local, other addresses get a host route
// (/32, /128) on lo. The namespace has no other interface and no route
// out, so nothing sent to these addresses can leave it.
// It returns lo's interface index.
func setupNetwork(addrs []netip.Addr) (int, error) {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return 0, fmt.Errorf("find lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return 0, fmt.Errorf("bring lo up: %w", err)
	}
	for _, a := range addrs {
		if a.IsLoopback() && (a.Is4() || a == netip.IPv6Loopback()) {
			continue
		}
		bits := 32
		if a.Is6() {
			bits = 128
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, bits)}}
		if a.Is6() {
			addr.Flags = 0x80 // IFA_F_NODAD: usable at once, no duplicate detection wait
		}
		if err := netlink.AddrAdd(lo, addr); err != nil {
			return 0, fmt.Errorf("add %s to lo: %w", a, err)
		}
	}
	return lo.Attrs().Index, nil
}
