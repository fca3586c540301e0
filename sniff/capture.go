package sniff

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/nsscope/nsscope/internal/netns"
)

// ErrNoCapNetRaw is returned when the packet socket cannot be opened for
// want of the CAP_NET_RAW capability.
var ErrNoCapNetRaw = errors.New("sniff needs CAP_NET_RAW to open a packet socket: run it as root, or grant the capability (setcap cap_net_raw+ep nsscope, or securityContext.capabilities.add: [NET_RAW])")

// Ring geometry: TPACKET_V3 blocks of variable-size packets. The kernel
// hands a block over when it is full or ringRetire ms old, so at ordinary
// rates each block holds ringRetire ms of traffic and the ring as many
// blocks of it: 256 blocks of 10 ms ride out a 2.5 s stall of this
// process (a loaded machine) without a drop; a 128 KiB block holds 10 ms
// at 90,000 DNS packets/s. The early watcher (early.go) does the
// latency-sensitive work, so the retire time costs nothing there.
const (
	ringBlockSize = 1 << 17
	ringBlocks    = 256
	ringFrameSize = 1 << 11
	// ringRetire is how long the kernel waits before handing over a block
	// that is not full (milliseconds).
	ringRetire = 10
	// tpStatusUser marks a block that belongs to user space.
	tpStatusUser = 1
	// tpacketAlign is TPACKET_ALIGNMENT.
	tpacketAlign = 16
)

// Packet is one captured packet: its network-layer bytes (valid only until
// the next Next call), kernel timestamp, interface and direction.
type Packet struct {
	Data     []byte
	Time     time.Time
	Ifindex  int
	Protocol uint16 // EtherType
	Outgoing bool
	// Truncated reports that the kernel kept less than the whole packet.
	Truncated bool
}

// Stats are the kernel's counters for the socket (PACKET_STATISTICS),
// summed over the capture.
type Stats struct {
	Packets uint64 `json:"packets"`
	Drops   uint64 `json:"drops"`
	// FreezeQueue counts the times the ring was full.
	FreezeQueue uint64 `json:"freeze_queue"`
}

// Capture is an AF_PACKET socket with the DNS filter attached and a
// TPACKET_V3 memory-mapped receive ring. It is used by one goroutine.
type Capture struct {
	fd     int
	ring   []byte
	block  int // the block being read
	pkt    int // packets left in it
	next   int // offset of the next packet in it
	held   bool
	stats  Stats
	closed atomic.Bool
}

// CaptureOptions say where to capture.
type CaptureOptions struct {
	// Interface is the interface name, "" or "any" for all of them.
	Interface string
	// Netns, if set, is a network namespace file (/proc/PID/ns/net, a
	// bind mount under /run/netns): the socket is opened in it, and
	// captures its traffic, while this process stays where it is.
	Netns string
}

// OpenCapture opens the capture. Without CAP_NET_RAW it returns an error
// wrapping ErrNoCapNetRaw.
func OpenCapture(o CaptureOptions) (*Capture, error) {
	var c *Capture
	err := netns.Do(o.Netns, func() error {
		var err error
		c, err = openCapture(o.Interface)
		return err
	})
	return c, err
}

func openCapture(iface string) (*Capture, error) {
	ifindex, loIndex, err := interfaces(iface)
	if err != nil {
		return nil, err
	}
	// Protocol 0 until the filter and ring are in place: no packet is
	// queued before bind, so none can bypass the filter.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, ErrNoCapNetRaw
		}
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	c := &Capture{fd: fd}
	if err := c.setup(ifindex, loIndex); err != nil {
		unix.Close(fd)
		if c.ring != nil {
			unix.Munmap(c.ring) //nolint:errcheck
		}
		return nil, err
	}
	return c, nil
}

func (c *Capture) setup(ifindex, loIndex int) error {
	prog, err := dnsFilter(loIndex, false)
	if err != nil {
		return err
	}
	if err := attachFilter(c.fd, prog); err != nil {
		return err
	}
	if err := unix.SetsockoptInt(c.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fmt.Errorf("packet socket: TPACKET_V3: %w", err)
	}
	req := unix.TpacketReq3{
		Block_size:     ringBlockSize,
		Block_nr:       ringBlocks,
		Frame_size:     ringFrameSize,
		Frame_nr:       ringBlockSize / ringFrameSize * ringBlocks,
		Retire_blk_tov: ringRetire,
	}
	if err := unix.SetsockoptTpacketReq3(c.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("packet socket: receive ring: %w", err)
	}
	ring, err := unix.Mmap(c.fd, 0, ringBlockSize*ringBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_LOCKED)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ENOMEM) || errors.Is(err, unix.EPERM) {
		// Cannot lock that much memory: an ordinary mapping works as well.
		ring, err = unix.Mmap(c.fd, 0, ringBlockSize*ringBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	}
	if err != nil {
		return fmt.Errorf("packet socket: map the ring: %w", err)
	}
	c.ring = ring
	if err := unix.Bind(c.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		return fmt.Errorf("packet socket: bind: %w", err)
	}
	return nil
}

func attachFilter(fd int, prog []bpf.RawInstruction) error {
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fmt.Errorf("packet socket: attach the DNS filter: %w", err)
	}
	runtime.KeepAlive(prog)
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// blockStatus is the status word of block b (the first field of
// tpacket_hdr_v1, after version and offset_to_priv).
func (c *Capture) blockStatus(b int) *uint32 {
	return (*uint32)(unsafe.Pointer(&c.ring[b*ringBlockSize+8]))
}

// Next returns the next packet, waiting up to wait for one. It returns
// ok false when none came in time. The packet's Data stays valid until
// the next call.
func (c *Capture) Next(wait time.Duration) (p Packet, ok bool, err error) {
	for {
		if c.held && c.pkt > 0 {
			return c.take(), true, nil
		}
		if c.held {
			// Give the block back to the kernel and move on.
			atomic.StoreUint32(c.blockStatus(c.block), 0)
			c.held = false
			c.block = (c.block + 1) % ringBlocks
		}
		if atomic.LoadUint32(c.blockStatus(c.block))&tpStatusUser == 0 {
			if c.closed.Load() {
				return p, false, os.ErrClosed
			}
			fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN | unix.POLLERR}}
			_, err := unix.Poll(fds, int(wait/time.Millisecond))
			if err != nil && !errors.Is(err, unix.EINTR) {
				return p, false, fmt.Errorf("poll packet socket: %w", err)
			}
			if atomic.LoadUint32(c.blockStatus(c.block))&tpStatusUser == 0 {
				return p, false, nil
			}
		}
		b := c.ring[c.block*ringBlockSize:]
		c.pkt = int(binary.NativeEndian.Uint32(b[12:]))
		c.next = int(binary.NativeEndian.Uint32(b[16:]))
		c.held = true
	}
}

// take decodes the packet at c.next of the held block.
func (c *Capture) take() Packet {
	b := c.ring[c.block*ringBlockSize : (c.block+1)*ringBlockSize]
	h := b[c.next:]
	nextOff := binary.NativeEndian.Uint32(h[0:])
	sec := binary.NativeEndian.Uint32(h[4:])
	nsec := binary.NativeEndian.Uint32(h[8:])
	snap := binary.NativeEndian.Uint32(h[12:])
	length := binary.NativeEndian.Uint32(h[16:])
	netOff := binary.NativeEndian.Uint16(h[26:])
	// The sockaddr_ll follows the header, aligned.
	sll := h[(unix.SizeofTpacket3Hdr+tpacketAlign-1)&^(tpacketAlign-1):]
	p := Packet{
		Time:      time.Unix(int64(sec), int64(nsec)),
		Protocol:  binary.BigEndian.Uint16(sll[2:4]),
		Ifindex:   int(int32(binary.NativeEndian.Uint32(sll[4:8]))),
		Outgoing:  sll[10] == packetOutgoing,
		Truncated: snap < length,
	}
	end := int(netOff) + int(snap)
	if int(netOff) <= len(h) && end <= len(h) {
		p.Data = h[netOff:end]
	}
	c.pkt--
	c.next += int(nextOff)
	return p
}

// Stats returns the kernel's counters so far.
func (c *Capture) Stats() (Stats, error) {
	s, err := unix.GetsockoptTpacketStatsV3(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return c.stats, fmt.Errorf("packet statistics: %w", err)
	}
	// Reading the counters resets them: keep the sum.
	c.stats.Packets += uint64(s.Packets)
	c.stats.Drops += uint64(s.Drops)
	c.stats.FreezeQueue += uint64(s.Freeze_q_cnt)
	return c.stats, nil
}

// Close releases the socket and its ring.
func (c *Capture) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if c.ring != nil {
		unix.Munmap(c.ring) //nolint:errcheck
	}
	return unix.Close(c.fd)
}
