package lab

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// setupNetwork brings lo up in the (new, empty) network namespace and adds
// every nameserver address that lo does not already cover: once lo is up
// all of 127.0.0.0/8 and ::1 are local, other addresses get a host route
// (/32, /128) on lo. The namespace has no other interface and no route
// out, so nothing sent to these addresses can leave it.
// It returns lo's interface index.
func setupNetwork(addrs []netip.Addr) (int, error) {
	// Safety: the namespace must be a fresh one, holding lo and nothing
	// else, so nothing can be routed out of it.
	links, err := netlink.LinkList()
	if err != nil {
		return 0, fmt.Errorf("list interfaces: %w", err)
	}
	for _, l := range links {
		if l.Attrs().Name != "lo" {
			return 0, fmt.Errorf("refusing to run: the lab's network namespace has interface %s besides lo", l.Attrs().Name)
		}
	}
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
			addr.Flags = unix.IFA_F_NODAD // usable at once: no duplicate address detection
		}
		if err := netlink.AddrAdd(lo, addr); err != nil {
			return 0, fmt.Errorf("add %s to lo: %w", a, err)
		}
		if a.Is6() {
			if err := waitUsable(a); err != nil {
				return 0, err
			}
		}
	}
	return lo.Attrs().Index, nil
}

// waitUsable sends datagrams from a to itself until one arrives. A fresh
// IPv6 address on lo sometimes drops the first packets sent to it (seen
// here in about one run in four: the program's first queries vanished),
// so the lab does not start the program before the address carries
// traffic.
func waitUsable(a netip.Addr) error {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
	if err != nil {
		return fmt.Errorf("check %s: %w", a, err)
	}
	defer c.Close()
	self := c.LocalAddr().(*net.UDPAddr)
	buf := make([]byte, 16)
	for i := 0; i < 200; i++ {
		if _, err := c.WriteToUDP([]byte("nsscope"), self); err != nil {
			return fmt.Errorf("check %s: %w", a, err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Millisecond)) //nolint:errcheck
		if _, _, err := c.ReadFromUDP(buf); err == nil {
			return nil
		}
	}
	return fmt.Errorf("address %s on lo carries no traffic", a)
}
