package sniff

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsscope/nsscope/internal/netns"
)

// Process is the program a query was attributed to.
type Process struct {
	PID     int      `json:"pid"`
	Comm    string   `json:"comm"`
	Cmdline []string `json:"cmdline,omitempty"`
	// Exe is the binary's path as the process sees it.
	Exe string `json:"exe,omitempty"`
	Placement
	// Netns is the inode of the process's network namespace.
	Netns uint64 `json:"netns,omitempty"`
}

// Attribution is the answer to "which process sent this": the process, or
// why none could be named.
type Attribution struct {
	Process *Process
	// Err says why attribution failed ("" when Process is set).
	Err string
	// Inode is the socket's inode, when found.
	Inode uint64
}

// attributor maps a local socket address to the process holding the
// socket: the socket's inode from sock_diag (or /proc/PID/net/* for other
// network namespaces), then the inode to a PID through /proc/*/fd. The
// lookup runs when the query is captured, while the socket still exists.
type attributor struct {
	proc string // the proc mount, "/proc"
	diag *diagSocket
	// diagErr is why sock_diag is unavailable; /proc/net is read instead.
	diagErr error
	// netnsPath is the capture's namespace file ("" for this process's).
	netnsPath string
	// byInode caches socket inode → PID from fd scans.
	byInode map[uint64]int
	// procs caches process facts by PID.
	procs map[int]*Process
	// recent caches a local socket's attribution for a moment, so a
	// socket sending many queries is looked up once.
	recent map[sockKey]recentAttr
	// Lookups and Failures count attribution attempts and failures.
	Lookups, Failures int
	// mu serialises the early watcher's look-ups and the decoder's.
	mu sync.Mutex
	// recentPIDs are the processes attributed last, searched first.
	recentPIDs []int
	// pidNetns caches each process's network namespace inode.
	pidNetns map[int]uint64
}

type sockKey struct {
	transport string
	local     netip.AddrPort
}

type recentAttr struct {
	a  Attribution
	at time.Time
}

// recentTTL is how long a socket's attribution is reused without asking
// the kernel again (a port reused by another process within it would be
// misattributed; ephemeral ports cycle far slower).
const recentTTL = time.Second

func newAttributor(proc, netnsPath string) *attributor {
	a := &attributor{proc: proc, netnsPath: netnsPath, byInode: map[uint64]int{},
		procs: map[int]*Process{}, recent: map[sockKey]recentAttr{}, pidNetns: map[int]uint64{}}
	err := netns.Do(netnsPath, func() error {
		var err error
		a.diag, err = openDiag()
		return err
	})
	a.diagErr = err
	return a
}

func (a *attributor) close() {
	if a.diag != nil {
		a.diag.close()
	}
}

// attribute names the process holding the socket at local (the client
// side of a query) over transport, at capture time now.
func (a *attributor) attribute(transport string, local, remote netip.AddrPort, now time.Time) Attribution {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := sockKey{transport, local}
	if r, ok := a.recent[k]; ok && now.Sub(r.at) < recentTTL && r.a.Process != nil {
		return r.a
	}
	a.Lookups++
	at := a.lookup(transport, local, remote)
	if at.Process == nil {
		a.Failures++
	}
	if len(a.recent) > 65536 {
		clear(a.recent)
	}
	a.recent[k] = recentAttr{at, now}
	return at
}

func (a *attributor) lookup(transport string, local, remote netip.AddrPort) Attribution {
	inode, netns, err := a.findInode(transport, local, remote)
	if err != nil {
		return Attribution{Err: err.Error()}
	}
	alive := func() bool {
		if netns != 0 || a.diag == nil {
			return true // no cheap way to ask; keep looking
		}
		ino, ok := a.inCaptureNetns(transport, local, remote)
		return ok && ino == inode
	}
	pid, err := a.findPID(inode, netns, alive)
	if err != nil {
		return Attribution{Err: err.Error(), Inode: inode}
	}
	p, err := a.process(pid)
	if err != nil {
		return Attribution{Err: err.Error(), Inode: inode}
	}
	a.remember(pid)
	return Attribution{Process: p, Inode: inode}
}

// findInode finds the socket's inode: first in the capture's network
// namespace, then in each other namespace a process is in. It returns the
// namespace inode where it was found (0: the capture's, not known).
func (a *attributor) findInode(transport string, local, remote netip.AddrPort) (uint64, uint64, error) {
	if ino, ok := a.inCaptureNetns(transport, local, remote); ok {
		return ino, 0, nil
	}
	for netns, pid := range a.netnsPIDs() {
		for _, table := range procNetTables(transport, local.Addr()) {
			data, err := os.ReadFile(filepath.Join(a.proc, strconv.Itoa(pid), "net", table))
			if err != nil {
				continue
			}
			if ino, ok := pickSocket(ParseProcNet(data), local, remote); ok {
				return ino, netns, nil
			}
		}
	}
	return 0, 0, fmt.Errorf("no %s socket on %s (closed before it could be attributed, or in a namespace no process is in)", transport, local)
}

func (a *attributor) inCaptureNetns(transport string, local, remote netip.AddrPort) (uint64, bool) {
	if a.diag != nil {
		for _, fam := range families(local.Addr()) {
			es, err := a.diag.lookup(transport, fam, local.Port())
			if err != nil {
				break
			}
			if ino, ok := pickSocket(es, local, remote); ok {
				return ino, true
			}
		}
		return 0, false
	}
	dir := filepath.Join(a.proc, "self", "net")
	if a.netnsPath != "" {
		dir = filepath.Join(filepath.Dir(filepath.Dir(a.netnsPath)), "net") // /proc/PID/ns/net → /proc/PID/net
	}
	for _, table := range procNetTables(transport, local.Addr()) {
		data, err := os.ReadFile(filepath.Join(dir, table))
		if err != nil {
			continue
		}
		if ino, ok := pickSocket(ParseProcNet(data), local, remote); ok {
			return ino, true
		}
	}
	return 0, false
}

// families are the socket families that can send from addr: an IPv4
// address may belong to a dual-stack IPv6 socket.
func families(addr netip.Addr) []uint8 {
	if addr.Is4() {
		return []uint8{unix.AF_INET, unix.AF_INET6}
	}
	return []uint8{unix.AF_INET6}
}

func procNetTables(transport string, addr netip.Addr) []string {
	if addr.Is4() {
		return []string{transport, transport + "6"}
	}
	return []string{transport + "6"}
}

// pickSocket chooses, among sockets on local's port, the one that sent
// from local to remote: same port, local address equal or a wildcard,
// remote equal or unconnected. An exact match wins.
func pickSocket(es []SocketEntry, local, remote netip.AddrPort) (uint64, bool) {
	var best uint64
	bestScore := -1
	for _, e := range es {
		if e.Local.Port() != local.Port() || e.Inode == 0 {
			continue
		}
		la, ra := e.Local.Addr().Unmap(), e.Remote.Addr().Unmap()
		score := 0
		switch {
		case la == local.Addr():
			score += 2
		case la.IsUnspecified():
		default:
			continue
		}
		switch {
		case ra == remote.Addr() && e.Remote.Port() == remote.Port():
			score += 2
		case ra.IsUnspecified() || e.Remote.Port() == 0:
		default:
			continue
		}
		if score > bestScore {
			best, bestScore = e.Inode, score
		}
	}
	return best, bestScore >= 0
}

// netnsPIDs returns one PID per network namespace other than this
// process's and the capture's, keyed by the namespace's inode.
func (a *attributor) netnsPIDs() map[uint64]int {
	skip := map[uint64]bool{}
	if ino, err := nsInode(filepath.Join(a.proc, "self", "ns", "net")); err == nil {
		skip[ino] = true
	}
	if a.netnsPath != "" {
		if ino, err := nsInode(a.netnsPath); err == nil {
			skip[ino] = true
		}
	}
	out := map[uint64]int{}
	for _, pid := range a.pids() {
		ino := a.netnsOf(pid)
		if ino == 0 || skip[ino] {
			continue
		}
		if _, ok := out[ino]; !ok {
			out[ino] = pid
		}
	}
	return out
}

func nsInode(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// pids lists the processes, newest (highest PID) first: a socket just
// opened most likely belongs to a recent process.
func (a *attributor) pids() []int {
	ents, err := os.ReadDir(a.proc)
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	if len(a.pidNetns) > 2*len(out)+64 {
		live := map[int]bool{}
		for _, p := range out {
			live[p] = true
		}
		for p := range a.pidNetns {
			if !live[p] {
				delete(a.pidNetns, p)
			}
		}
	}
	return out
}

// netnsOf returns (reading once) the inode of pid's network namespace,
// 0 if unknown. The cache is pruned in pids.
func (a *attributor) netnsOf(pid int) uint64 {
	if ino, ok := a.pidNetns[pid]; ok {
		return ino
	}
	ino, _ := nsInode(filepath.Join(a.proc, strconv.Itoa(pid), "ns", "net"))
	a.pidNetns[pid] = ino
	return ino
}

// captureNetns is the inode of the namespace captured in.
func (a *attributor) captureNetns() uint64 {
	p := a.netnsPath
	if p == "" {
		p = filepath.Join(a.proc, "self", "ns", "net")
	}
	ino, _ := nsInode(p)
	return ino
}

// findPID finds the process holding socket inode: from the cache, else by
// reading the processes' descriptor tables (those in the socket's network
// namespace first when it is known), caching every socket seen.
func (a *attributor) findPID(inode, netns uint64, alive func() bool) (int, error) {
	closed := fmt.Errorf("socket inode %d is held by no process (it closed before it could be attributed)", inode)
	if pid, ok := a.byInode[inode]; ok {
		if a.holds(pid, inode) {
			return pid, nil
		}
		delete(a.byInode, inode)
	}
	if len(a.byInode) > 1<<18 {
		clear(a.byInode)
	}
	// The processes seen last first: the usual sender, found in a few
	// hundred microseconds while its socket still exists.
	for _, pid := range a.recentPIDs {
		if a.scanFDs(pid, inode) {
			return pid, nil
		}
	}
	pids := a.pids()
	if netns == 0 {
		netns = a.captureNetns()
	}
	if netns != 0 {
		var in, out []int
		for _, pid := range pids {
			if a.netnsOf(pid) == netns {
				in = append(in, pid)
			} else {
				out = append(out, pid)
			}
		}
		pids = append(in, out...)
	}
	// A full scan takes tens of milliseconds: give up as soon as the
	// socket is gone, so the look-ups queued behind this one are not late
	// too.
	for i, pid := range pids {
		if i%32 == 0 && !alive() {
			return 0, closed
		}
		if a.scanFDs(pid, inode) {
			return pid, nil
		}
	}
	return 0, closed
}

// scanFDs reads pid's descriptor table, caching its sockets, and reports
// whether it holds inode.
func (a *attributor) scanFDs(pid int, inode uint64) bool {
	dir := filepath.Join(a.proc, strconv.Itoa(pid), "fd")
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	found := false
	for _, n := range names {
		ino, ok := socketInode(filepath.Join(dir, n))
		if !ok {
			continue
		}
		a.byInode[ino] = pid
		if ino == inode {
			found = true
		}
	}
	return found
}

func (a *attributor) holds(pid int, inode uint64) bool {
	dir := filepath.Join(a.proc, strconv.Itoa(pid), "fd")
	names, err := readDirNames(dir)
	if err != nil {
		return false
	}
	for _, n := range names {
		if ino, ok := socketInode(filepath.Join(dir, n)); ok && ino == inode {
			return true
		}
	}
	return false
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// socketInode reads a /proc/PID/fd/N link "socket:[INODE]".
func socketInode(link string) (uint64, bool) {
	t, err := os.Readlink(link)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(t, "socket:[")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
	return n, err == nil
}

// process reads (once) the facts of pid.
func (a *attributor) process(pid int) (*Process, error) {
	if p, ok := a.procs[pid]; ok {
		return p, nil
	}
	p, err := readProcess(a.proc, pid)
	if err != nil {
		return nil, err
	}
	if len(a.procs) > 1<<14 {
		clear(a.procs)
	}
	a.procs[pid] = p
	return p, nil
}

// readProcess reads a process's command, command line, binary, network
// namespace and cgroup placement from proc.
func readProcess(proc string, pid int) (*Process, error) {
	dir := filepath.Join(proc, strconv.Itoa(pid))
	comm, err := os.ReadFile(filepath.Join(dir, "comm"))
	if err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	p := &Process{PID: pid, Comm: strings.TrimSpace(string(comm))}
	if cl, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		p.Cmdline = strings.Split(strings.TrimRight(string(cl), "\x00"), "\x00")
	}
	p.Exe, _ = os.Readlink(filepath.Join(dir, "exe"))
	if cg, err := os.ReadFile(filepath.Join(dir, "cgroup")); err == nil {
		p.Placement = ParseCgroup(string(cg))
	}
	p.Netns, _ = nsInode(filepath.Join(dir, "ns", "net"))
	return p, nil
}

// remember puts pid first among the processes searched next time: a
// process that sent one query usually sends more.
func (a *attributor) remember(pid int) {
	rs := []int{pid}
	for _, p := range a.recentPIDs {
		if p != pid && len(rs) < 16 {
			rs = append(rs, p)
		}
	}
	a.recentPIDs = rs
}

// warm reads every process's network namespace before the capture
// starts, so the first look-up does not pay for it while its socket
// closes.
func (a *attributor) warm() {
	for _, pid := range a.pids() {
		a.netnsOf(pid)
	}
}
