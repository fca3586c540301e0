package lab

// A trace is a lab run with the real network behind it: the program runs
// in the lab's namespaces as usual, but instead of fake nameservers its
// resolv.conf lists forwarders on the far end of a veth pair, in the host's
// network namespace, which relay every query to the real nameservers from
// there and record it with what the upstream did. The veth pair lives as
// long as the lab's network namespace: when the init dies, however it
// dies, the kernel deletes both ends and the forwarders' addresses with
// them; the forwarders' sockets close with the init.

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	inetns "github.com/nsscope/nsscope/internal/netns"
	"github.com/nsscope/nsscope/model"
)

// Trace turns a lab run into a trace (Spec.Trace). Make it with
// [PrepareTrace].
type Trace struct {
	// Upstreams are the real nameservers: forwarder i (Spec.Nameservers[i])
	// relays to Upstreams[i], so the program sees as many nameservers, in
	// the same order, as the host has.
	Upstreams []netip.AddrPort `json:"upstreams"`
	// HostNetns is the network namespace playing the host: the veth's
	// other end and the forwarders are there (a /proc/PID/ns/net path).
	HostNetns string `json:"host_netns"`
	// UpstreamNetns is where relayed queries are sent from ("" =
	// HostNetns). Tests point both at a namespace of their own whose fake
	// servers stand in for the real ones.
	UpstreamNetns string `json:"upstream_netns,omitempty"`
	// Subnet is the veth pair's /24 (link-local); the program's end has
	// address .254.
	Subnet netip.Prefix `json:"subnet"`
	// RelayTimeout bounds the wait for an upstream's answer (0: 30 s).
	RelayTimeout time.Duration `json:"relay_timeout,omitempty"`
}

// Relay is what a trace's upstream did with one query.
type Relay struct {
	Upstream string `json:"upstream"`
	// Rcode and Answers are the upstream's reply; both empty when none
	// came (Action "silent") or the upstream refused the connection.
	Rcode          string   `json:"rcode,omitempty"`
	Answers        []string `json:"answers,omitempty"`
	LatencySeconds float64  `json:"latency_seconds,omitempty"`
	Error          string   `json:"error,omitempty"`
}

// DefaultRelayTimeout bounds the wait for an upstream's answer.
const DefaultRelayTimeout = 30 * time.Second

// PrepareTrace makes spec a trace relaying to upstreams (1 to 3 real
// nameservers): it picks a free link-local /24 for the veth pair and sets
// spec.Nameservers to the forwarders' addresses, which the program's
// resolv.conf must list (see [TraceResolvConf]). hostNetns "" means this
// process's network namespace.
func PrepareTrace(spec *Spec, upstreams []netip.AddrPort, hostNetns, upstreamNetns string) error {
	if n := len(upstreams); n == 0 || n > 3 {
		return inputErrorf("a trace relays to 1 to 3 nameservers, not %d", n)
	}
	if os.Geteuid() != 0 || spec.Rootless {
		return inputErrorf("a trace needs root: it joins the lab to the host's network namespace with a veth pair")
	}
	if hostNetns == "" {
		hostNetns = fmt.Sprintf("/proc/%d/ns/net", os.Getpid())
	}
	subnet, err := freeSubnet(hostNetns)
	if err != nil {
		return err
	}
	spec.Trace = &Trace{Upstreams: upstreams, HostNetns: hostNetns, UpstreamNetns: upstreamNetns, Subnet: subnet}
	spec.Nameservers = nil
	for i := range upstreams {
		spec.Nameservers = append(spec.Nameservers, subnetAddr(subnet, byte(1+i)))
	}
	return nil
}

func subnetAddr(p netip.Prefix, last byte) netip.Addr {
	a := p.Addr().As4()
	a[3] = last
	return netip.AddrFrom4(a)
}

// freeSubnet picks a 169.254.X.0/24 (X random, not 169: the cloud metadata
// address lives there) that no interface in the host namespace uses.
func freeSubnet(hostNetns string) (netip.Prefix, error) {
	var used []netip.Prefix
	err := inetns.Do(hostNetns, func() error {
		addrs, err := netlink.AddrList(nil, unix.AF_INET)
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok {
				ones, _ := a.Mask.Size()
				used = append(used, netip.PrefixFrom(ip, ones).Masked())
			}
		}
		return err
	})
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("trace: list the host's addresses: %w", err)
	}
	for try := 0; try < 64; try++ {
		var b [1]byte
		rand.Read(b[:]) //nolint:errcheck
		if b[0] == 0 || b[0] == 255 || b[0] == 169 {
			continue
		}
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{169, 254, b[0], 0}), 24)
		free := true
		for _, u := range used {
			if u.Overlaps(p) {
				free = false
			}
		}
		if free {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("trace: no free 169.254.X.0/24 for the veth pair")
}

// TraceResolvConf is the host's resolv.conf as the traced program sees
// it: the same search list and options, the nameserver lines replaced by
// the forwarders.
func TraceResolvConf(host []byte, forwarders []netip.Addr) []byte {
	var b strings.Builder
	for _, f := range forwarders {
		fmt.Fprintf(&b, "nameserver %s\n", f)
	}
	for _, l := range strings.Split(string(host), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "nameserver" {
			continue
		}
		if strings.TrimSpace(l) != "" {
			b.WriteString(l + "\n")
		}
	}
	return []byte(b.String())
}

// fakeAddrs are the addresses the lab fakes inside its own namespace:
// none in a trace, where the nameservers are across the veth pair.
func fakeAddrs(spec Spec) []netip.Addr {
	if spec.Trace != nil {
		return nil
	}
	return spec.Nameservers
}

// tracer is a trace's running part inside the init.
type tracer struct {
	t     *Trace
	rec   *recorder
	fws   []*forwarder
	relay time.Duration
	conns sync.WaitGroup
}

// forwarder listens on one forwarder address (in the host namespace) and
// relays to one upstream.
type forwarder struct {
	tr       *tracer
	addr     netip.Addr
	upstream netip.AddrPort
	pc       net.PacketConn
	l        net.Listener
	busy     atomic.Int64 // messages read but not yet recorded
	mu       sync.Mutex
	open     []net.Conn // relay and client connections, closed by stop
}

// startTrace joins the lab to the host namespace and starts the
// forwarders; nil when spec is not a trace.
func startTrace(spec Spec, rec *recorder, res *Result) (*tracer, error) {
	if spec.Trace == nil {
		return nil, nil
	}
	t := spec.Trace
	if len(t.Upstreams) != len(spec.Nameservers) {
		return nil, inputErrorf("trace: %d upstreams for %d forwarders", len(t.Upstreams), len(spec.Nameservers))
	}
	if err := setupVeth(t, spec.Nameservers); err != nil {
		return nil, err
	}
	tr := &tracer{t: t, rec: rec, relay: t.RelayTimeout}
	if tr.relay <= 0 {
		tr.relay = DefaultRelayTimeout
	}
	for i, a := range spec.Nameservers {
		fw := &forwarder{tr: tr, addr: a, upstream: t.Upstreams[i]}
		if err := fw.listen(); err != nil {
			tr.stop()
			return nil, err
		}
		tr.fws = append(tr.fws, fw)
		res.Servers = append(res.Servers, Server{Addr: a, Behavior: "relay to " + t.Upstreams[i].String()})
	}
	return tr, nil
}

// setupVeth creates the veth pair from inside the lab's namespace: "nss0"
// here with .254, the peer in the host namespace with the forwarders'
// addresses. Static neighbour entries on both ends mean the first query
// needs no ARP exchange.
func setupVeth(t *Trace, forwarders []netip.Addr) error {
	hostFd, err := unix.Open(t.HostNetns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("trace: host network namespace %s: %w", t.HostNetns, err)
	}
	defer unix.Close(hostFd)
	var rnd [4]byte
	rand.Read(rnd[:]) //nolint:errcheck
	peer := fmt.Sprintf("nsst%08x", binary.BigEndian.Uint32(rnd[:]))
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "nss0"}, PeerName: peer, PeerNamespace: netlink.NsFd(hostFd)}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("trace: create the veth pair: %w", err)
	}
	os.WriteFile("/proc/sys/net/ipv6/conf/nss0/disable_ipv6", []byte("1"), 0o644) //nolint:errcheck // quiet: no router solicitations
	local, err := netlink.LinkByName("nss0")
	if err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	mask := net.CIDRMask(t.Subnet.Bits(), 32)
	me := subnetAddr(t.Subnet, 254)
	if err := netlink.AddrAdd(local, &netlink.Addr{IPNet: &net.IPNet{IP: me.AsSlice(), Mask: mask}}); err != nil {
		return fmt.Errorf("trace: address the veth: %w", err)
	}
	var remoteMAC net.HardwareAddr
	// The host end, configured from a thread in the host namespace.
	err = inetns.Do(t.HostNetns, func() error {
		os.WriteFile("/proc/sys/net/ipv6/conf/"+peer+"/disable_ipv6", []byte("1"), 0o644) //nolint:errcheck
		remote, err := netlink.LinkByName(peer)
		if err != nil {
			return fmt.Errorf("trace: the veth's host end: %w", err)
		}
		remoteMAC = remote.Attrs().HardwareAddr
		for _, f := range forwarders {
			if err := netlink.AddrAdd(remote, &netlink.Addr{IPNet: &net.IPNet{IP: f.AsSlice(), Mask: mask}}); err != nil {
				return fmt.Errorf("trace: address the veth's host end: %w", err)
			}
		}
		if err := netlink.NeighAdd(&netlink.Neigh{LinkIndex: remote.Attrs().Index, Family: unix.AF_INET, State: netlink.NUD_PERMANENT,
			IP: me.AsSlice(), HardwareAddr: local.Attrs().HardwareAddr}); err != nil {
			return fmt.Errorf("trace: neighbour entry on the host end: %w", err)
		}
		if err := netlink.LinkSetUp(remote); err != nil {
			return fmt.Errorf("trace: bring the veth's host end up: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range forwarders {
		if err := netlink.NeighAdd(&netlink.Neigh{LinkIndex: local.Attrs().Index, Family: unix.AF_INET, State: netlink.NUD_PERMANENT,
			IP: f.AsSlice(), HardwareAddr: remoteMAC}); err != nil {
			return fmt.Errorf("trace: neighbour entry: %w", err)
		}
	}
	if err := netlink.LinkSetUp(local); err != nil {
		return fmt.Errorf("trace: bring the veth up: %w", err)
	}
	return waitCarrier(local.Attrs().Name)
}

// waitCarrier waits (up to 5 s) until the veth reports its carrier: both
// ends up, packets flow.
func waitCarrier(name string) error {
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if l, err := netlink.LinkByName(name); err == nil && l.Attrs().OperState == netlink.OperUp {
			return nil
		}
	}
	return fmt.Errorf("trace: the veth %s never came up", name)
}

func (fw *forwarder) listen() error {
	hp := netip.AddrPortFrom(fw.addr, 53).String()
	return inetns.Do(fw.tr.t.HostNetns, func() error {
		pc, err := net.ListenPacket("udp", hp)
		if err != nil {
			return fmt.Errorf("trace: forwarder %s/udp: %w", hp, err)
		}
		l, err := net.Listen("tcp", hp)
		if err != nil {
			pc.Close()
			return fmt.Errorf("trace: forwarder %s/tcp: %w", hp, err)
		}
		fw.pc, fw.l = pc, l
		go fw.serveUDP()
		go fw.serveTCP()
		return nil
	})
}

func (t *tracer) upstreamNetns() string {
	if t.t.UpstreamNetns != "" {
		return t.t.UpstreamNetns
	}
	return t.t.HostNetns
}

// dial connects to the upstream from the upstream namespace.
func (fw *forwarder) dial(network string) (net.Conn, error) {
	var c net.Conn
	err := inetns.Do(fw.tr.upstreamNetns(), func() error {
		var err error
		c, err = net.DialTimeout(network, fw.upstream.String(), fw.tr.relay)
		return err
	})
	if err == nil {
		fw.keep(c)
	}
	return c, err
}

func (fw *forwarder) keep(c net.Conn) {
	fw.mu.Lock()
	fw.open = append(fw.open, c)
	fw.mu.Unlock()
}

// record adds the query m received at at and returns its index.
func (fw *forwarder) record(at time.Time, transport, client string, m *dns.Msg) int {
	q := Query{Server: fw.addr, Transport: transport, ID: m.Id, Client: client, EDNS: m.IsEdns0() != nil,
		Action: "silent", Relay: &Relay{Upstream: fw.upstream.String()}}
	if len(m.Question) > 0 {
		q.Name = m.Question[0].Name
		q.Type = dns.TypeToString[m.Question[0].Qtype]
		if q.Type == "" {
			q.Type = dns.Type(m.Question[0].Qtype).String()
		}
	}
	r := fw.tr.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	r.qs = append(r.qs, q)
	r.ats = append(r.ats, at)
	return len(r.qs) - 1
}

// settle records what the upstream did with query i: its reply (nil for
// none) after latency, or the error that ended the relay.
func (fw *forwarder) settle(i int, transport string, reply *dns.Msg, latency time.Duration, err error) {
	rel := &Relay{Upstream: fw.upstream.String()}
	action := "silent"
	switch {
	case reply != nil:
		rel.Rcode = dns.RcodeToString[reply.Rcode]
		rel.LatencySeconds = latency.Seconds()
		for _, rr := range reply.Answer {
			rel.Answers = append(rel.Answers, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
		action = replyAction(reply)
	case errors.Is(err, syscall.ECONNREFUSED) && transport == "tcp":
		// The client's connection is closed at once: it sees the refusal.
		action, rel.Error = "refuse", "connection refused"
	case errors.Is(err, syscall.ECONNREFUSED):
		// ICMP port unreachable cannot be passed on from user space: the
		// client hears nothing and waits, as with a silent server.
		rel.Error = "upstream refused (ICMP port unreachable); the client was not told"
	case err != nil && !isTimeout(err):
		rel.Error = err.Error()
	}
	r := fw.tr.rec
	r.mu.Lock()
	// A new Relay, never a change to the old one: a snapshot of the
	// queries may already hold it.
	r.qs[i].Action, r.qs[i].Relay = action, rel
	r.mu.Unlock()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// replyAction names an upstream's reply in the lab's vocabulary.
func replyAction(m *dns.Msg) string {
	switch {
	case m.Truncated:
		return "truncated"
	case m.Rcode == dns.RcodeNameError:
		return "nxdomain"
	case m.Rcode == dns.RcodeServerFailure:
		return "servfail"
	case m.Rcode == dns.RcodeRefused:
		return "refused"
	case m.Rcode != dns.RcodeSuccess:
		return strings.ToLower(dns.RcodeToString[m.Rcode])
	}
	for _, rr := range m.Answer {
		if len(m.Question) > 0 && rr.Header().Rrtype == m.Question[0].Qtype {
			return "answer"
		}
	}
	return "nodata"
}

func (fw *forwarder) serveUDP() {
	buf := make([]byte, 65535)
	for {
		fw.busy.Add(1)
		n, from, err := fw.pc.ReadFrom(buf)
		if err != nil {
			fw.busy.Add(-1)
			return
		}
		at := time.Now()
		m := new(dns.Msg)
		if m.Unpack(buf[:n]) != nil {
			fw.busy.Add(-1)
			continue
		}
		i := fw.record(at, "udp", from.String(), m)
		fw.busy.Add(-1)
		raw := append([]byte(nil), buf[:n]...)
		fw.tr.conns.Add(1)
		go fw.relayUDP(i, at, raw, from)
	}
}

func (fw *forwarder) relayUDP(i int, at time.Time, raw []byte, client net.Addr) {
	defer fw.tr.conns.Done()
	c, err := fw.dial("udp")
	if err != nil {
		fw.settle(i, "udp", nil, 0, err)
		return
	}
	defer c.Close()
	if _, err := c.Write(raw); err != nil {
		fw.settle(i, "udp", nil, 0, err)
		return
	}
	c.SetReadDeadline(at.Add(fw.tr.relay)) //nolint:errcheck
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		fw.settle(i, "udp", nil, 0, err)
		return
	}
	reply := new(dns.Msg)
	if err := reply.Unpack(buf[:n]); err != nil {
		fw.settle(i, "udp", nil, 0, fmt.Errorf("bad reply: %w", err))
		return
	}
	fw.settle(i, "udp", reply, time.Since(at), nil)
	fw.pc.WriteTo(buf[:n], client) //nolint:errcheck // the client may be gone
}

func (fw *forwarder) serveTCP() {
	for {
		c, err := fw.l.Accept()
		if err != nil {
			return
		}
		fw.keep(c)
		fw.tr.conns.Add(1)
		go fw.relayTCP(c)
	}
}

// relayTCP relays one client connection over one upstream connection,
// message by message.
func (fw *forwarder) relayTCP(c net.Conn) {
	defer fw.tr.conns.Done()
	defer c.Close()
	client := &dns.Conn{Conn: c}
	var up *dns.Conn
	for {
		m, err := client.ReadMsg()
		if err != nil {
			return
		}
		at := time.Now()
		i := fw.record(at, "tcp", c.RemoteAddr().String(), m)
		if up == nil {
			uc, err := fw.dial("tcp")
			if err != nil {
				fw.settle(i, "tcp", nil, 0, err)
				return
			}
			defer uc.Close()
			up = &dns.Conn{Conn: uc}
		}
		up.SetDeadline(at.Add(fw.tr.relay)) //nolint:errcheck
		if err := up.WriteMsg(m); err != nil {
			fw.settle(i, "tcp", nil, 0, err)
			return
		}
		reply, err := up.ReadMsg()
		if err != nil {
			fw.settle(i, "tcp", nil, 0, err)
			return
		}
		fw.settle(i, "tcp", reply, time.Since(at), nil)
		if err := client.WriteMsg(reply); err != nil {
			return
		}
	}
}

// drain waits (up to limit) until every UDP message queued at the
// forwarders has been read and recorded.
func (t *tracer) drain(limit time.Duration) {
	if t == nil {
		return
	}
	for _, fw := range t.fws {
		sc, err := fw.pc.(*net.UDPConn).SyscallConn()
		if err != nil {
			continue
		}
		settled := func() bool {
			n := 0
			sc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) }) //nolint:errcheck
			return n == 0 && fw.busy.Load() <= 1
		}
		for end := time.Now().Add(limit); time.Now().Before(end) && !settled(); time.Sleep(time.Millisecond) {
		}
	}
}

// stop closes every socket; relays still waiting end.
func (t *tracer) stop() {
	if t == nil {
		return
	}
	for _, fw := range t.fws {
		fw.pc.Close()
		fw.l.Close()
		fw.mu.Lock()
		for _, c := range fw.open {
			c.Close()
		}
		fw.mu.Unlock()
	}
	t.conns.Wait()
}

// TraceScenario reads, from what the upstreams did in a trace, how each
// nameserver behaved, in the model's terms: the first reply's kind, or
// silent when none ever came. It is the scenario --check predicts with.
func TraceScenario(res *Result) model.Scenario {
	var sc model.Scenario
	for _, s := range res.Servers {
		b := model.Behavior{Kind: model.Silent}
		for _, q := range res.Queries {
			if q.Server != s.Addr || q.Action == "silent" {
				continue
			}
			if q.Action == "truncated" {
				b.Truncate = true
				continue
			}
			b.Kind = actionKinds[q.Action]
			if b.Kind == model.Answer && q.Relay != nil {
				for _, a := range q.Relay.Answers {
					if ip, err := netip.ParseAddr(strings.TrimSpace(a)); err == nil {
						b.Addrs = append(b.Addrs, ip)
					}
				}
			}
			break
		}
		sc.Servers = append(sc.Servers, b)
	}
	return sc
}

// actionKinds maps a recorded action to the behaviour that causes it.
var actionKinds = map[string]model.BehaviorKind{
	"refuse": model.Refuse, "nxdomain": model.NXDomain, "servfail": model.ServFail,
	"refused": model.Refused, "nodata": model.NoData, "answer": model.Answer,
}
