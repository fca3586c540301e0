package lab

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// sniffer records UDP queries sent to "refuse" servers, which have no
// socket to receive them: it reads a packet socket on lo. Only the
// loopback copy seen as incoming is used (each packet on lo is seen twice).
type sniffer struct {
	fd      int
	targets map[netip.Addr]bool
	rec     *recorder
	stopped atomic.Bool
	done    chan struct{}
	once    sync.Once
}

// startSniffer opens a packet socket on lo (ifindex) and records UDP
// messages to port 53 of the targets.
func startSniffer(ifindex int, targets []netip.Addr, rec *recorder) (*sniffer, error) {
	proto := htons(unix.ETH_P_ALL)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(proto))
	if err != nil {
		return nil, fmt.Errorf("packet socket for refused queries: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind packet socket to lo: %w", err)
	}
	// A short receive timeout lets the loop notice stop().
	tv := unix.NsecToTimeval(int64(50 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("packet socket timeout: %w", err)
	}
	s := &sniffer{fd: fd, targets: map[netip.Addr]bool{}, rec: rec, done: make(chan struct{})}
	for _, t := range targets {
		s.targets[t] = true
	}
	go s.loop()
	return s, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (s *sniffer) loop() {
	defer close(s.done)
	buf := make([]byte, 65536)
	for {
		// Once stopping, read what is queued without waiting, then end.
		stopping := s.stopped.Load()
		flags := 0
		if stopping {
			flags = unix.MSG_DONTWAIT
		}
		n, from, err := unix.Recvfrom(s.fd, buf, flags)
		if err != nil {
			if stopping && err != unix.EINTR {
				return
			}
			continue // timeout (EAGAIN) or EINTR: look at stopped again
		}
		at := time.Now()
		ll, ok := from.(*unix.SockaddrLinklayer)
		if !ok || ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		dst, client, payload, ok := parseUDP(buf[:n])
		if !ok || dst.Port() != 53 || !s.targets[dst.Addr()] {
			continue
		}
		m := new(dns.Msg)
		if m.Unpack(payload) != nil {
			continue
		}
		s.rec.add(at, dst.Addr(), "udp", client, "refuse", m)
	}
}

// stop ends the loop and closes the socket.
func (s *sniffer) stop() {
	s.once.Do(func() {
		s.stopped.Store(true)
		<-s.done
		unix.Close(s.fd)
	})
}

// parseUDP reads an IPv4 or IPv6 packet carrying UDP (no IPv6 extension
// headers) and returns its destination, source and payload.
func parseUDP(p []byte) (dst netip.AddrPort, src string, payload []byte, ok bool) {
	if len(p) < 1 {
		return dst, "", nil, false
	}
	var sa, da netip.Addr
	var udp []byte
	switch p[0] >> 4 {
	case 4:
		ihl := int(p[0]&0x0f) * 4
		if len(p) < 20 || ihl < 20 || len(p) < ihl+8 || p[9] != unix.IPPROTO_UDP {
			return dst, "", nil, false
		}
		sa = netip.AddrFrom4([4]byte(p[12:16]))
		da = netip.AddrFrom4([4]byte(p[16:20]))
		udp = p[ihl:]
	case 6:
		if len(p) < 48 || p[6] != unix.IPPROTO_UDP {
			return dst, "", nil, false
		}
		sa = netip.AddrFrom16([16]byte(p[8:24]))
		da = netip.AddrFrom16([16]byte(p[24:40]))
		udp = p[40:]
	default:
		return dst, "", nil, false
	}
	sport := binary.BigEndian.Uint16(udp[0:2])
	dport := binary.BigEndian.Uint16(udp[2:4])
	ulen := int(binary.BigEndian.Uint16(udp[4:6]))
	if ulen < 8 || ulen > len(udp) {
		return dst, "", nil, false
	}
	return netip.AddrPortFrom(da, dport), netip.AddrPortFrom(sa, sport).String(), udp[8:ulen], true
}
