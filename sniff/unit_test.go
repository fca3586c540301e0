package sniff

import (
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestParseProcNet(t *testing.T) {
	data := []byte(`   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 1234: 0100007F:A3F1 3500007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 50341 2 0000000000000000 0
  bad line
 1235: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 777 2 0000000000000000 0
`)
	got := ParseProcNet(data)
	want := []SocketEntry{
		{netip.MustParseAddrPort("127.0.0.1:41969"), netip.MustParseAddrPort("127.0.0.53:53"), 50341},
		{netip.MustParseAddrPort("0.0.0.0:53"), netip.MustParseAddrPort("0.0.0.0:0"), 777},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	v6 := []byte("hdr\n 0: 00000000000000000000000001000000:8AE3 00000000000000000000000001000000:0035 01 0:0 0:0 0 0 0 91 2 0 0\n")
	g6 := ParseProcNet(v6)
	if len(g6) != 1 || g6[0].Local != netip.MustParseAddrPort("[::1]:35555") || g6[0].Inode != 91 {
		t.Errorf("IPv6: %+v", g6)
	}
}

func TestParseCgroup(t *testing.T) {
	id := strings.Repeat("ab12", 16)
	for _, c := range []struct{ in, container, pod string }{
		{"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_1111_2222_3333_444455556666.slice/cri-containerd-" + id + ".scope\n", id, "1a2b3c4d-1111-2222-3333-444455556666"},
		{"12:memory:/kubepods/besteffort/pod1a2b3c4d-1111-2222-3333-444455556666/" + id + "\n0::/\n", id, "1a2b3c4d-1111-2222-3333-444455556666"},
		{"0::/system.slice/docker-" + id + ".scope\n", id, ""},
		{"0::/user.slice/user-0.slice/session-1.scope\n", "", ""},
		{"garbage", "", ""},
	} {
		p := ParseCgroup(c.in)
		if p.Container != c.container || p.Pod != c.pod {
			t.Errorf("%q: got %+v", c.in, p)
		}
	}
}

func FuzzParseCgroup(f *testing.F) {
	f.Add("0::/kubepods/pod1a2b3c4d-1111-2222-3333-444455556666/x")
	f.Fuzz(func(t *testing.T, s string) { ParseCgroup(s) })
}

func FuzzParseProcNet(f *testing.F) {
	f.Add([]byte("h\n 1: 0100007F:A3F1 3500007F:0035 01 0:0 0:0 0 0 0 5 2 0 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseProcNet(b) })
}

// ipv4UDP builds an IPv4/UDP packet.
func ipv4UDP(src, dst netip.AddrPort, payload []byte) []byte {
	p := make([]byte, 28+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[9] = protoUDP
	copy(p[12:16], src.Addr().AsSlice())
	copy(p[16:20], dst.Addr().AsSlice())
	binary.BigEndian.PutUint16(p[20:], src.Port())
	binary.BigEndian.PutUint16(p[22:], dst.Port())
	binary.BigEndian.PutUint16(p[24:], uint16(8+len(payload)))
	copy(p[28:], payload)
	return p
}

func TestParseSegment(t *testing.T) {
	src, dst := netip.MustParseAddrPort("10.0.0.1:4000"), netip.MustParseAddrPort("10.0.0.2:53")
	pkt := ipv4UDP(src, dst, []byte("hello"))
	s, err := ParseSegment(etherIPv4, pkt)
	if err != nil || s.Src != src || s.Dst != dst || string(s.Payload) != "hello" || s.Transport != "udp" {
		t.Fatalf("got %+v, %v", s, err)
	}
	// In an 802.1Q tag.
	tagged := append([]byte{0, 5, 0x08, 0x00}, pkt...)
	if s, err := ParseSegment(etherVLAN, tagged); err != nil || s.Dst != dst {
		t.Errorf("VLAN: %+v %v", s, err)
	}
	// A later fragment, a non-DNS port, a short packet.
	frag := append([]byte(nil), pkt...)
	frag[7] = 1
	other := ipv4UDP(src, netip.MustParseAddrPort("10.0.0.2:80"), nil)
	for _, bad := range [][]byte{frag, other, pkt[:10]} {
		if _, err := ParseSegment(etherIPv4, bad); err == nil {
			t.Errorf("accepted %x", bad)
		}
	}
}

func FuzzParseSegment(f *testing.F) {
	f.Add(uint16(etherIPv4), ipv4UDP(netip.MustParseAddrPort("10.0.0.1:4000"), netip.MustParseAddrPort("10.0.0.2:53"), []byte("x")))
	f.Fuzz(func(t *testing.T, proto uint16, b []byte) { ParseSegment(proto, b) }) //nolint:errcheck
}

// framed returns DNS messages framed for TCP.
func framed(msgs ...[]byte) []byte {
	var out []byte
	for _, m := range msgs {
		out = append(out, byte(len(m)>>8), byte(len(m)))
		out = append(out, m...)
	}
	return out
}

func TestReassembly(t *testing.T) {
	a, b := netip.MustParseAddrPort("10.0.0.1:4000"), netip.MustParseAddrPort("10.0.0.2:53")
	m1, m2 := []byte("first message"), []byte("second, longer message")
	stream := framed(m1, m2)
	seg := func(seq uint32, p []byte) Segment {
		return Segment{Transport: "tcp", Src: a, Dst: b, Seq: seq, Flags: tcpACK, Payload: p}
	}
	at := time.Now()
	for _, c := range []struct {
		name  string
		order [][2]int // byte ranges of stream, in arrival order
	}{
		{"in order, split inside the length", [][2]int{{0, 1}, {1, 9}, {9, len(stream)}}},
		{"out of order", [][2]int{{9, len(stream)}, {0, 9}}},
		{"retransmission overlapping", [][2]int{{0, 12}, {5, 20}, {20, len(stream)}, {0, 4}}},
	} {
		r := newReassembler()
		r.add(Segment{Transport: "tcp", Src: a, Dst: b, Seq: 999, Flags: tcpSYN}, at)
		var got []string
		for _, rg := range c.order {
			for _, m := range r.add(seg(1000+uint32(rg[0]), stream[rg[0]:rg[1]]), at) {
				got = append(got, string(m))
			}
		}
		if len(got) != 2 || got[0] != string(m1) || got[1] != string(m2) {
			t.Errorf("%s: got %q", c.name, got)
		}
	}
}

func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0, 3, 'a', 'b', 'c', 0, 1}, uint32(5), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, seq uint32, cut uint8) {
		r := newReassembler()
		a, b := netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:53")
		c := int(cut)
		if c > len(data) {
			c = len(data)
		}
		r.add(Segment{Transport: "tcp", Src: a, Dst: b, Seq: seq + uint32(c), Payload: data[c:]}, time.Now())
		r.add(Segment{Transport: "tcp", Src: a, Dst: b, Seq: seq, Payload: data[:c]}, time.Now())
	})
}

func TestTracker(t *testing.T) {
	var out []Exchange
	tr := newTracker(2, func(x Exchange) { out = append(out, x) })
	c, s := netip.MustParseAddrPort("10.0.0.1:4000"), netip.MustParseAddrPort("10.0.0.2:53")
	t0 := time.Unix(1000, 0)
	q := func(id uint16, name string) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		m.Id = id
		return m
	}
	who := Attribution{Process: &Process{PID: 7, Comm: "p"}}
	tr.query(t0, "udp", c, s, q(1, "a.example."), who, time.Second)
	tr.query(t0.Add(100*time.Millisecond), "udp", c, s, q(2, "a.example."), who, time.Second) // a retry of 1
	// A response with the wrong question does not pair.
	wrong := q(1, "b.example.")
	wrong.Response = true
	tr.response(t0.Add(200*time.Millisecond), "udp", c, s, wrong)
	r := q(1, "a.example.")
	r.Response, r.Rcode = true, dns.RcodeNameError
	tr.response(t0.Add(300*time.Millisecond), "udp", c, s, r)
	if len(out) != 1 || out[0].ID != 1 || out[0].Rcode != "NXDOMAIN" || !out[0].AnsweredAfterRetry || out[0].Latency != 300*time.Millisecond {
		t.Fatalf("after the answer: %+v", out)
	}
	tr.expire(t0.Add(time.Second))
	if len(out) != 1 {
		t.Fatalf("expired too early: %+v", out)
	}
	tr.expire(t0.Add(1100 * time.Millisecond))
	if len(out) != 2 || out[1].ID != 2 || !out[1].Unanswered {
		t.Fatalf("after the timeout: %+v", out)
	}
	// A late answer to 2 is counted, not paired.
	r2 := q(2, "a.example.")
	r2.Response = true
	tr.response(t0.Add(1500*time.Millisecond), "udp", c, s, r2)
	if tr.counts.Late != 1 || tr.counts.Unmatched != 1 || len(out) != 2 {
		t.Errorf("late %d unmatched %d out %d", tr.counts.Late, tr.counts.Unmatched, len(out))
	}
	// The cap: a third pending query drops the one due first.
	for i := uint16(10); i < 13; i++ {
		tr.query(t0.Add(2*time.Second), "udp", c, s, q(i, "c.example."), Attribution{}, time.Second)
	}
	if tr.counts.Overflow != 1 || len(tr.heap) != 2 {
		t.Errorf("overflow %d pending %d", tr.counts.Overflow, len(tr.heap))
	}
	tr.finish(t0.Add(2500 * time.Millisecond))
	if tr.counts.InFlight != 2 {
		t.Errorf("in flight %d", tr.counts.InFlight)
	}
}

func TestSignature(t *testing.T) {
	v := View{Hosts: map[string]bool{"localhost.": true, "localhost.localdomain.": true}, Search: []string{"svc.cluster.local."}}
	for name, want := range map[string]string{
		"localhost.":                   "in /etc/hosts, sent to DNS",
		"LOCALHOST":                    "in /etc/hosts, sent to DNS",
		"localhost.svc.cluster.local.": "search-list expansion of localhost (in /etc/hosts)",
		"localhost.example.":           "expansion of localhost (in /etc/hosts) with a domain",
		"example.com.":                 "",
	} {
		if got := v.Signature(name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i))
	}
	if percentile(ds, 50) != 50 || percentile(ds, 99) != 99 || percentile(ds[:1], 99) != 1 {
		t.Error("nearest-rank percentiles")
	}
}

// TestNoCapNetRaw: without CAP_NET_RAW (here: in a new user namespace,
// which has no say over the host's network namespace) the capture fails
// with ErrNoCapNetRaw.
func TestNoCapNetRaw(t *testing.T) {
	if os.Getenv("NSSCOPE_SNIFF_CAPTEST") == "1" {
		_, err := OpenCapture(CaptureOptions{})
		if !IsNoCapNetRaw(err) {
			t.Fatalf("got %v, want ErrNoCapNetRaw", err)
		}
		return
	}
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err != nil || strings.TrimSpace(string(b)) == "0" {
		t.Skip("no user namespaces")
	}
	cmd := exec.Command(testBinary(t), "-test.run=^TestNoCapNetRaw$")
	cmd.Env = append(os.Environ(), "NSSCOPE_SNIFF_CAPTEST=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestJSONLines: an exchange line has every documented field, and the
// summary line the schema_version, tool and version of every verb.
func TestJSONLines(t *testing.T) {
	x := Exchange{Time: time.Unix(1700000000, 0), Process: &Process{PID: 42, Comm: "esbuild"},
		Client: netip.MustParseAddrPort("127.0.0.1:4000"), Server: netip.MustParseAddrPort("127.0.0.53:53"),
		Transport: "udp", Name: "localhost.", Type: "A", Unanswered: true, Timeout: 5 * time.Second}
	var b strings.Builder
	if err := WriteExchangeJSON(&b, x, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	s := newSummary(x.Time)
	s.add(x, "in /etc/hosts, sent to DNS")
	s.finish(x.Time.Add(time.Minute))
	if err := WriteSummaryJSON(&b, s, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	var ex, sum map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &ex); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &sum); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema_version", "tool", "version", "kind", "time", "pid", "comm", "client", "server", "transport", "name", "qtype", "rcode", "unanswered", "timeout_seconds"} {
		if _, ok := ex[k]; !ok {
			t.Errorf("exchange line lacks %q: %s", k, lines[0])
		}
	}
	if _, has := ex["latency_seconds"]; ex["unanswered"] != true || has || ex["pid"] != 42.0 || ex["tool"] != "nsscope" {
		t.Errorf("exchange line: %s", lines[0])
	}
	for _, k := range []string{"schema_version", "tool", "version", "kind", "names", "processes", "signature", "kernel", "duration_seconds"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary line lacks %q: %s", k, lines[1])
		}
	}
	if sum["kind"] != "summary" || len(sum["signature"].([]any)) != 1 {
		t.Errorf("summary line: %s", lines[1])
	}
}
