package sniff

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strconv"
)

// SocketEntry is one line of /proc/net/{udp,udp6,tcp,tcp6}: a socket's
// local and remote address and its inode.
type SocketEntry struct {
	Local, Remote netip.AddrPort
	Inode         uint64
}

// ParseProcNet reads a /proc/net/{udp,tcp}{,6} table. Lines it cannot read
// are skipped. The kernel writes each address as the hex dump of the
// in-memory (network order) bytes taken as host-order 32-bit words, and
// the port in hex.
func ParseProcNet(data []byte) []SocketEntry {
	var out []SocketEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 1<<16)
	first := true
	for sc.Scan() {
		if first {
			first = false // the header
			continue
		}
		f := bytes.Fields(sc.Bytes())
		// sl local rem st tx:rx tr:tm retrnsmt uid timeout inode ...
		if len(f) < 10 {
			continue
		}
		local, ok1 := parseProcAddr(f[1])
		remote, ok2 := parseProcAddr(f[2])
		inode, err := strconv.ParseUint(string(f[9]), 10, 64)
		if !ok1 || !ok2 || err != nil {
			continue
		}
		out = append(out, SocketEntry{Local: local, Remote: remote, Inode: inode})
	}
	return out
}

// parseProcAddr reads "0100007F:0035" (IPv4) or a 32-digit IPv6 form.
func parseProcAddr(b []byte) (netip.AddrPort, bool) {
	h, p, ok := bytes.Cut(b, []byte(":"))
	if !ok || len(p) != 4 {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(string(p), 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	raw := make([]byte, len(h)/2)
	if len(h)%2 != 0 {
		return netip.AddrPort{}, false
	}
	if _, err := hex.Decode(raw, h); err != nil {
		return netip.AddrPort{}, false
	}
	// Each 32-bit word is printed in host order (little-endian here).
	var addr netip.Addr
	switch len(raw) {
	case 4:
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], binary.LittleEndian.Uint32(raw))
		addr = netip.AddrFrom4(a)
	case 16:
		var a [16]byte
		for i := 0; i < 16; i += 4 {
			binary.BigEndian.PutUint32(a[i:], binary.LittleEndian.Uint32(raw[i:]))
		}
		addr = netip.AddrFrom16(a)
	default:
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(addr, uint16(port)), true
}
