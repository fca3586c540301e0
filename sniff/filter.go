package sniff

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// The kernel filter sees cooked packets (an AF_PACKET SOCK_DGRAM socket):
// the data starts at the network header whatever the link type (Ethernet,
// loopback, tunnels, the "any" pseudo-device), and the EtherType is the
// packet's protocol (an ancillary load). 802.1Q-tagged packets whose tag
// the driver left in the data start with the 4-byte tag instead.
const (
	etherIPv4 = 0x0800
	etherIPv6 = 0x86dd
	etherVLAN = 0x8100
	protoUDP  = 17
	protoTCP  = 6
	dnsPort   = 53
	// packetOutgoing is PACKET_OUTGOING, the packet type of a packet this
	// host sends.
	packetOutgoing = 4
	// snapLen is what the filter keeps of a packet: all of it (a TCP
	// segment on loopback can be 64 KiB).
	snapLen = 1 << 18
)

// asm is a tiny assembler for classic BPF with symbolic jump targets, so
// the filter reads as a decision list rather than as skip counts.
type asm struct {
	ins    []bpf.Instruction
	labels map[string]int
	// fixups are conditional jumps whose targets are labels.
	fixups []fixup
}

type fixup struct {
	at          int
	true, false string
}

func (a *asm) emit(i bpf.Instruction) { a.ins = append(a.ins, i) }

func (a *asm) label(name string) { a.labels[name] = len(a.ins) }

// jump emits "if A <cond> val goto t else goto f"; "" falls through.
func (a *asm) jump(cond bpf.JumpTest, val uint32, t, f string) {
	a.fixups = append(a.fixups, fixup{len(a.ins), t, f})
	a.emit(bpf.JumpIf{Cond: cond, Val: val})
}

func (a *asm) assemble() ([]bpf.RawInstruction, error) {
	for _, fx := range a.fixups {
		j := a.ins[fx.at].(bpf.JumpIf)
		for _, side := range []struct {
			name string
			skip *uint8
		}{{fx.true, &j.SkipTrue}, {fx.false, &j.SkipFalse}} {
			if side.name == "" {
				continue
			}
			to, ok := a.labels[side.name]
			if !ok || to <= fx.at || to-fx.at-1 > 255 {
				return nil, fmt.Errorf("bpf: bad jump to %q", side.name)
			}
			*side.skip = uint8(to - fx.at - 1)
		}
		a.ins[fx.at] = j
	}
	return bpf.Assemble(a.ins)
}

// dnsFilter builds the kernel filter: accept IPv4 and IPv6 packets (also
// inside one 802.1Q tag) carrying UDP or TCP with source or destination
// port 53; reject everything else, including the outgoing copy of each
// packet on the loopback interface loIndex (the kernel shows loopback
// traffic twice, as sent and as received; 0 means no loopback to skip),
// non-first IPv4 fragments (no ports to look at) and IPv6 packets whose
// first next-header is not UDP or TCP. With toServer, only packets to port
// 53 are accepted (the queries, for attribution).
func dnsFilter(loIndex int, toServer bool) ([]bpf.RawInstruction, error) {
	a := &asm{labels: map[string]int{}}
	if loIndex > 0 {
		a.emit(bpf.LoadExtension{Num: bpf.ExtType})
		a.jump(bpf.JumpEqual, packetOutgoing, "", "proto")
		a.emit(bpf.LoadExtension{Num: bpf.ExtInterfaceIndex})
		a.jump(bpf.JumpEqual, uint32(loIndex), "reject", "proto")
	}
	a.label("proto")
	a.emit(bpf.LoadExtension{Num: bpf.ExtProto})
	a.jump(bpf.JumpEqual, etherIPv4, "v4@0", "")
	a.jump(bpf.JumpEqual, etherIPv6, "v6@0", "")
	a.jump(bpf.JumpEqual, etherVLAN, "", "reject")
	// One 802.1Q tag: TCI (2 bytes), then the inner EtherType.
	a.emit(bpf.LoadAbsolute{Off: 2, Size: 2})
	a.jump(bpf.JumpEqual, etherIPv4, "v4@4", "")
	a.jump(bpf.JumpEqual, etherIPv6, "v6@4", "reject")
	for _, base := range []uint32{0, 4} {
		v4, v6 := fmt.Sprintf("v4@%d", base), fmt.Sprintf("v6@%d", base)
		ports4, ports6 := "ports4@"+fmt.Sprint(base), "ports6@"+fmt.Sprint(base)

		a.label(v4)
		a.emit(bpf.LoadAbsolute{Off: base + 9, Size: 1}) // protocol
		a.jump(bpf.JumpEqual, protoUDP, "frag@"+fmt.Sprint(base), "")
		a.jump(bpf.JumpEqual, protoTCP, "", "reject")
		a.label("frag@" + fmt.Sprint(base))
		a.emit(bpf.LoadAbsolute{Off: base + 6, Size: 2}) // flags and fragment offset
		a.jump(bpf.JumpBitsSet, 0x1fff, "reject", "")
		a.emit(bpf.LoadMemShift{Off: base}) // X = IPv4 header length
		a.label(ports4)
		a.emit(bpf.LoadIndirect{Off: base, Size: 2}) // source port
		if !toServer {
			a.jump(bpf.JumpEqual, dnsPort, "accept", "")
		}
		a.emit(bpf.LoadIndirect{Off: base + 2, Size: 2}) // destination port
		a.jump(bpf.JumpEqual, dnsPort, "accept", "reject")

		a.label(v6)
		a.emit(bpf.LoadAbsolute{Off: base + 6, Size: 1}) // next header
		a.jump(bpf.JumpEqual, protoUDP, ports6, "")
		a.jump(bpf.JumpEqual, protoTCP, "", "reject")
		a.label(ports6)
		a.emit(bpf.LoadAbsolute{Off: base + 40, Size: 2})
		if !toServer {
			a.jump(bpf.JumpEqual, dnsPort, "accept", "")
		}
		a.emit(bpf.LoadAbsolute{Off: base + 42, Size: 2})
		a.jump(bpf.JumpEqual, dnsPort, "accept", "reject")
	}
	a.label("accept")
	a.emit(bpf.RetConstant{Val: snapLen})
	a.label("reject")
	a.emit(bpf.RetConstant{Val: 0})
	return a.assemble()
}
