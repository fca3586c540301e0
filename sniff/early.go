package sniff

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsscope/nsscope/internal/netns"
)

// A client socket may live only as long as its query's round trip: Go's
// resolver and glibc close it as soon as the answer is read. The ring
// hands packets over in blocks (up to ringRetire ms late), so by the time
// the query is decoded the socket may be gone. The early watcher reads,
// on a second packet socket without a ring, only the packets sent to port
// 53, as the kernel receives them, and looks up the sender's socket at
// once; the decoder then takes that attribution.

type earlyEntry struct {
	ready chan struct{}
	a     Attribution
	at    time.Time
}

type earlyWatcher struct {
	fd   int
	attr *attributor
	mu   sync.Mutex
	m    map[sockKey]*earlyEntry
	stop chan struct{}
	done chan struct{}
}

// earlyFresh is how long an early attribution stands for later packets
// from the same socket.
const earlyFresh = time.Second

func startEarly(o CaptureOptions, attr *attributor) (*earlyWatcher, error) {
	w := &earlyWatcher{attr: attr, m: map[sockKey]*earlyEntry{}, stop: make(chan struct{}), done: make(chan struct{}), fd: -1}
	err := netns.Do(o.Netns, func() error {
		ifindex, loIndex, err := interfaces(o.Interface)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		w.fd = fd
		prog, err := dnsFilter(loIndex, true)
		if err != nil {
			return err
		}
		if err := attachFilter(fd, prog); err != nil {
			return err
		}
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20) //nolint:errcheck
		tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv) //nolint:errcheck
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex})
	})
	if err != nil {
		if w.fd >= 0 {
			unix.Close(w.fd)
		}
		return nil, err
	}
	go w.loop()
	return w, nil
}

func (w *earlyWatcher) loop() {
	defer close(w.done)
	buf := make([]byte, 1<<16)
	gc := time.Now()
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		n, from, err := unix.Recvfrom(w.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		ll, ok := from.(*unix.SockaddrLinklayer)
		if !ok {
			continue
		}
		seg, err := ParseSegment(htons(ll.Protocol), buf[:n])
		if err != nil || seg.Dst.Port() != dnsPort {
			continue
		}
		now := time.Now()
		k := sockKey{seg.Transport, seg.Src}
		w.mu.Lock()
		e := w.m[k]
		fresh := e != nil && now.Sub(e.at) < earlyFresh
		if !fresh {
			e = &earlyEntry{ready: make(chan struct{}), at: now}
			w.m[k] = e
		}
		if now.Sub(gc) > time.Second {
			for k, e := range w.m {
				if now.Sub(e.at) > 2*earlyFresh {
					delete(w.m, k)
				}
			}
			gc = now
		}
		w.mu.Unlock()
		if !fresh {
			e.a = w.attr.attribute(seg.Transport, seg.Src, seg.Dst, now)
			close(e.ready)
		}
	}
}

// get returns the early attribution of the socket at local captured at
// at, waiting for a look-up in progress; ok false when there is none.
func (w *earlyWatcher) get(transport string, local netip.AddrPort, at time.Time) (Attribution, bool) {
	w.mu.Lock()
	e := w.m[sockKey{transport, local}]
	w.mu.Unlock()
	if e == nil || at.Sub(e.at) > earlyFresh || e.at.Sub(at) > earlyFresh {
		return Attribution{}, false
	}
	select {
	case <-e.ready:
		return e.a, true
	case <-time.After(5 * time.Second):
		return Attribution{}, false
	}
}

func (w *earlyWatcher) close() {
	close(w.stop)
	<-w.done
	unix.Close(w.fd)
}

// interfaces returns the capture interface's index (0 for any) and the
// loopback's, in the current network namespace.
func interfaces(iface string) (ifindex, loIndex int, err error) {
	if iface != "" && iface != "any" {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return 0, 0, &InputError{fmt.Errorf("interface %s: %w", iface, err)}
		}
		ifindex = ifi.Index
	}
	if ifs, err := net.Interfaces(); err == nil {
		for _, ifi := range ifs {
			if ifi.Flags&net.FlagLoopback != 0 {
				loIndex = ifi.Index
				break
			}
		}
	}
	return ifindex, loIndex, nil
}
