package lab

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
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
	f       *os.File // the packet socket, non-blocking, in Go's poller
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
	// Protocol 0 at creation, the real one at bind: a socket created with
	// a protocol is hooked in at once, and bind would unhook it first,
	// which waits for an RCU grace period (about 10ms).
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("packet socket for refused queries: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind packet socket to lo: %w", err)
	}
	s := &sniffer{f: os.NewFile(uintptr(fd), "packet socket"), targets: map[netip.Addr]bool{}, rec: rec, done: make(chan struct{})}
	for _, t := range targets {
		s.targets[t] = true
	}
	go s.loop()
	return s, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (s *sniffer) loop() {
	defer close(s.done)
	rc, err := s.f.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 65536)
	for {
		var n int
		var from unix.Sockaddr
		var rerr error
		// Wait in the poller for a packet; stop() ends the wait with a
		// deadline. Once stopping, read what is queued without waiting,
		// then end.
		stopping := s.stopped.Load()
		if stopping {
			s.f.SetReadDeadline(time.Time{}) //nolint:errcheck
		}
		err := rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			return stopping || rerr != unix.EAGAIN
		})
		switch {
		case err != nil && s.stopped.Load():
			continue // woken by stop(): drain on the next round
		case err != nil:
			return // the socket is unusable
		case rerr == unix.EAGAIN && stopping:
			return // drained
		case rerr != nil:
			continue
		}
		at := time.Now()
		ll, ok := from.(*unix.SockaddrLinklayer)
		if !ok || ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if dst, client, ok := parseTCPSyn(buf[:n]); ok {
			// A TCP connection to a refusing server is reset before any
			// message is sent: record the attempt, without name or type.
			if dst.Port() == 53 && s.targets[dst.Addr()] {
				s.rec.addQuery(at, Query{Server: dst.Addr(), Transport: "tcp", Client: client, Action: "refuse"})
			}
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

// stop reads what is queued, ends the loop and closes the socket.
func (s *sniffer) stop() {
	s.once.Do(func() {
		s.stopped.Store(true)
		s.f.SetReadDeadline(time.Now()) //nolint:errcheck // wakes the loop
		<-s.done
		s.f.Close()
	})
}

// parseTCPSyn recognises a TCP SYN (a connection attempt) and returns its
// destination and source.
func parseTCPSyn(p []byte) (dst netip.AddrPort, src string, ok bool) {
	var sa, da netip.Addr
	var tcp []byte
	switch {
	case len(p) >= 20 && p[0]>>4 == 4 && p[9] == unix.IPPROTO_TCP:
		ihl := int(p[0]&0x0f) * 4
		if ihl < 20 || len(p) < ihl+14 {
			return dst, "", false
		}
		sa = netip.AddrFrom4([4]byte(p[12:16]))
		da = netip.AddrFrom4([4]byte(p[16:20]))
		tcp = p[ihl:]
	case len(p) >= 54 && p[0]>>4 == 6 && p[6] == unix.IPPROTO_TCP:
		sa = netip.AddrFrom16([16]byte(p[8:24]))
		da = netip.AddrFrom16([16]byte(p[24:40]))
		tcp = p[40:]
	default:
		return dst, "", false
	}
	const syn, ack = 0x02, 0x10
	if tcp[13]&(syn|ack) != syn {
		return dst, "", false
	}
	sport := binary.BigEndian.Uint16(tcp[0:2])
	dport := binary.BigEndian.Uint16(tcp[2:4])
	return netip.AddrPortFrom(da, dport), netip.AddrPortFrom(sa, sport).String(), true
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
