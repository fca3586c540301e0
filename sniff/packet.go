package sniff

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Segment is the transport-layer view of one captured packet.
type Segment struct {
	Transport string // "udp" or "tcp"
	Src, Dst  netip.AddrPort
	Payload   []byte
	// TCP only.
	Seq   uint32
	Flags uint8
}

// TCP flags.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

var errNotDNS = errors.New("not a UDP or TCP packet to or from port 53")

// ParseSegment reads a network-layer packet (proto is its EtherType) as
// IPv4 or IPv6 (optionally inside one 802.1Q tag) carrying UDP or TCP.
// Payload aliases p. IPv6 extension headers and IP fragments other than
// the first are not followed (the kernel filter drops them already).
func ParseSegment(proto uint16, p []byte) (Segment, error) {
	if proto == etherVLAN {
		if len(p) < 4 {
			return Segment{}, errNotDNS
		}
		proto, p = binary.BigEndian.Uint16(p[2:4]), p[4:]
	}
	var s Segment
	var l4 []byte
	var next byte
	switch {
	case proto == etherIPv4 && len(p) >= 20 && p[0]>>4 == 4:
		ihl := int(p[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(p[2:4]))
		if ihl < 20 || total < ihl || total > len(p) {
			return Segment{}, errNotDNS
		}
		if binary.BigEndian.Uint16(p[6:8])&0x1fff != 0 {
			return Segment{}, errNotDNS // a later fragment
		}
		next = p[9]
		src := netip.AddrFrom4([4]byte(p[12:16]))
		dst := netip.AddrFrom4([4]byte(p[16:20]))
		l4 = p[ihl:total]
		s.Src, s.Dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
	case proto == etherIPv6 && len(p) >= 40 && p[0]>>4 == 6:
		plen := int(binary.BigEndian.Uint16(p[4:6]))
		if 40+plen > len(p) {
			return Segment{}, errNotDNS
		}
		next = p[6]
		src := netip.AddrFrom16([16]byte(p[8:24])).Unmap()
		dst := netip.AddrFrom16([16]byte(p[24:40])).Unmap()
		l4 = p[40 : 40+plen]
		s.Src, s.Dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
	default:
		return Segment{}, errNotDNS
	}
	switch next {
	case protoUDP:
		if len(l4) < 8 {
			return Segment{}, errNotDNS
		}
		ulen := int(binary.BigEndian.Uint16(l4[4:6]))
		if ulen < 8 || ulen > len(l4) {
			return Segment{}, errNotDNS
		}
		s.Transport = "udp"
		s.Payload = l4[8:ulen]
	case protoTCP:
		if len(l4) < 20 {
			return Segment{}, errNotDNS
		}
		off := int(l4[12]>>4) * 4
		if off < 20 || off > len(l4) {
			return Segment{}, errNotDNS
		}
		s.Transport = "tcp"
		s.Seq = binary.BigEndian.Uint32(l4[4:8])
		s.Flags = l4[13]
		s.Payload = l4[off:]
	default:
		return Segment{}, errNotDNS
	}
	sport := binary.BigEndian.Uint16(l4[0:2])
	dport := binary.BigEndian.Uint16(l4[2:4])
	if sport != dnsPort && dport != dnsPort {
		return Segment{}, errNotDNS
	}
	s.Src = netip.AddrPortFrom(s.Src.Addr(), sport)
	s.Dst = netip.AddrPortFrom(s.Dst.Addr(), dport)
	return s, nil
}
