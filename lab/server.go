package lab

import (
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/nsscope/nsscope/model"
)

// fakeServer is one fake nameserver on addr:53, UDP and TCP, behaving as b.
// A Refuse server has no sockets at all: the kernel answers UDP with ICMP
// port unreachable and TCP with a reset (the sniffer records the queries).
type fakeServer struct {
	addr netip.Addr
	b    model.Behavior
	rec  *recorder
	pc   net.PacketConn
	udp  *dns.Server
	tcp  *dns.Server
	// received counts UDP messages read from the socket, recorded those
	// the handler has recorded; drain waits for them to agree.
	received, recorded atomic.Int64
}

// startServer binds addr:53 over UDP and TCP and serves b. The sockets are
// bound before it returns, so no query sent afterwards can be missed.
func startServer(addr netip.Addr, b model.Behavior, rec *recorder) (*fakeServer, error) {
	s := &fakeServer{addr: addr, b: b, rec: rec}
	if b.Kind == model.Refuse {
		return s, nil
	}
	hp := netip.AddrPortFrom(addr, 53).String()
	pc, err := net.ListenPacket("udp", hp)
	if err != nil {
		return nil, fmt.Errorf("fake nameserver %s/udp: %w", hp, err)
	}
	l, err := net.Listen("tcp", hp)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("fake nameserver %s/tcp: %w", hp, err)
	}
	s.pc = pc
	s.udp = &dns.Server{PacketConn: pc, Handler: s, UDPSize: 65535,
		DecorateReader: func(r dns.Reader) dns.Reader { return countingReader{r, &s.received} }}
	// A real server keeps a TCP connection open while the client waits;
	// miekg/dns would close it after a few idle seconds, which would end a
	// client's wait on a silent server early.
	keep := func() time.Duration { return time.Hour }
	s.tcp = &dns.Server{Listener: l, Handler: s, ReadTimeout: time.Hour, IdleTimeout: keep}
	go s.udp.ActivateAndServe() //nolint:errcheck // ends with Shutdown
	go s.tcp.ActivateAndServe() //nolint:errcheck
	return s, nil
}

// countingReader counts the UDP messages the server reads.
type countingReader struct {
	dns.Reader
	n *atomic.Int64
}

func (c countingReader) ReadUDP(conn *net.UDPConn, timeout time.Duration) ([]byte, *dns.SessionUDP, error) {
	m, s, err := c.Reader.ReadUDP(conn, timeout)
	if err == nil {
		c.n.Add(1)
	}
	return m, s, err
}

// drain waits (up to limit) until every UDP message queued on the socket
// has been read and recorded: a program that exits right after its last
// query must not have that query lost when the run ends.
func (s *fakeServer) drain(limit time.Duration) {
	if s.pc == nil {
		return
	}
	sc, err := s.pc.(*net.UDPConn).SyscallConn()
	if err != nil {
		return
	}
	queued := func() int {
		n := 0
		sc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) }) //nolint:errcheck
		return n
	}
	settled := func() bool { return queued() == 0 && s.recorded.Load() == s.received.Load() }
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if settled() {
			// Once more after a moment: a message just taken off the
			// queue is counted a few instructions later.
			time.Sleep(time.Millisecond)
			if settled() {
				return
			}
		}
	}
}

// stop closes the server's sockets.
func (s *fakeServer) stop() {
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if srv != nil {
			srv.Shutdown() //nolint:errcheck // best effort at the end of a run
		}
	}
}

// ServeDNS records the query and replies as the behaviour says.
func (s *fakeServer) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	at := time.Now()
	transport := "udp"
	if _, ok := w.LocalAddr().(*net.TCPAddr); ok {
		transport = "tcp"
	}
	reply, action := respond(s.b, transport, r)
	s.rec.add(at, s.addr, transport, w.RemoteAddr().String(), action, r)
	if transport == "udp" {
		s.recorded.Add(1)
	}
	if reply == nil {
		return // silent: the client waits for its timeout
	}
	if s.b.Delay > 0 {
		time.Sleep(s.b.Delay.Duration())
	}
	w.WriteMsg(reply) //nolint:errcheck // the client may have given up
}

// respond builds the reply to r under behaviour b over transport, and names
// the action taken. A nil reply means none is sent.
func respond(b model.Behavior, transport string, r *dns.Msg) (*dns.Msg, string) {
	if b.Kind == model.Silent || b.Kind == model.Refuse || b.Kind == "" {
		return nil, string(model.Silent)
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = true
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(1232, false)
	}
	if b.Truncate && transport == "udp" {
		m.Truncated = true
		return m, "truncated"
	}
	action := string(b.Kind)
	switch b.Kind {
	case model.NXDomain:
		m.Rcode = dns.RcodeNameError
	case model.ServFail:
		m.Rcode = dns.RcodeServerFailure
	case model.Refused:
		m.Rcode = dns.RcodeRefused
	case model.NoData:
	case model.Answer:
		if len(r.Question) == 1 {
			q := r.Question[0]
			for _, a := range b.Addrs {
				hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 60}
				switch {
				case q.Qtype == dns.TypeA && a.Is4():
					hdr.Rrtype = dns.TypeA
					m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: a.AsSlice()})
				case q.Qtype == dns.TypeAAAA && a.Is6():
					hdr.Rrtype = dns.TypeAAAA
					m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
				}
			}
		}
		if len(m.Answer) == 0 {
			action = string(model.NoData)
		}
	}
	return m, action
}
