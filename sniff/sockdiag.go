package sniff

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// diagSocket asks the kernel's sock_diag interface (NETLINK_SOCK_DIAG,
// inet_diag) for the sockets bound to one local port: an exact and cheap
// question, answered while the socket exists, where /proc/net/* would
// have to be read and parsed whole.
type diagSocket struct {
	fd  int
	seq uint32
	buf []byte
}

// openDiag opens the netlink socket in the current network namespace.
func openDiag() (*diagSocket, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sock_diag socket: %w", err)
	}
	tv := unix.Timeval{Sec: 1}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv) //nolint:errcheck
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sock_diag bind: %w", err)
	}
	return &diagSocket{fd: fd, buf: make([]byte, 1<<16)}, nil
}

func (d *diagSocket) close() { unix.Close(d.fd) }

const (
	sizeofInetDiagReqV2 = 56
	sizeofInetDiagMsg   = 72
)

// lookup returns the sockets of the given transport and family
// (AF_INET, AF_INET6) whose local port is port.
func (d *diagSocket) lookup(transport string, family uint8, port uint16) ([]SocketEntry, error) {
	proto := uint8(unix.IPPROTO_UDP)
	if transport == "tcp" {
		proto = unix.IPPROTO_TCP
	}
	d.seq++
	req := make([]byte, unix.NLMSG_HDRLEN+sizeofInetDiagReqV2)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], d.seq)
	r := req[unix.NLMSG_HDRLEN:]
	r[0], r[1] = family, proto
	binary.NativeEndian.PutUint32(r[4:], 0xffffffff) // every state
	binary.BigEndian.PutUint16(r[8:], port)          // id.sport: the dump keeps only this port
	// id.dport 0 and no addresses: not filtered on. Cookie: none.
	binary.NativeEndian.PutUint32(r[48:], ^uint32(0))
	binary.NativeEndian.PutUint32(r[52:], ^uint32(0))
	if err := unix.Sendto(d.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("sock_diag request: %w", err)
	}
	var out []SocketEntry
	for {
		n, _, err := unix.Recvfrom(d.fd, d.buf, 0)
		if err != nil {
			return nil, fmt.Errorf("sock_diag reply: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(d.buf[:n])
		if err != nil {
			return nil, fmt.Errorf("sock_diag reply: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != d.seq {
				continue
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if errno := -int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
						return nil, fmt.Errorf("sock_diag: %w", syscall.Errno(errno))
					}
				}
				return out, nil
			case unix.SOCK_DIAG_BY_FAMILY:
				if e, ok := parseDiagMsg(m.Data); ok {
					out = append(out, e)
				}
			}
		}
	}
}

// parseDiagMsg reads one inet_diag_msg.
func parseDiagMsg(b []byte) (SocketEntry, bool) {
	if len(b) < sizeofInetDiagMsg {
		return SocketEntry{}, false
	}
	fam := b[0]
	id := b[4:52]
	sport := binary.BigEndian.Uint16(id[0:2])
	dport := binary.BigEndian.Uint16(id[2:4])
	var src, dst netip.Addr
	switch fam {
	case unix.AF_INET:
		src = netip.AddrFrom4([4]byte(id[4:8]))
		dst = netip.AddrFrom4([4]byte(id[20:24]))
	case unix.AF_INET6:
		src = netip.AddrFrom16([16]byte(id[4:20]))
		dst = netip.AddrFrom16([16]byte(id[20:36]))
	default:
		return SocketEntry{}, false
	}
	inode := binary.NativeEndian.Uint32(b[68:72])
	return SocketEntry{
		Local:  netip.AddrPortFrom(src, sport),
		Remote: netip.AddrPortFrom(dst, dport),
		Inode:  uint64(inode),
	}, true
}
