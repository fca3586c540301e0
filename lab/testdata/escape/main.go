// Command escape tries, from inside nsscope's lab, every way out the lab
// is meant to close, and prints one JSON line per try: {"try", "escaped",
// "detail"}. The lab's containment test runs it (built static) with the
// host's root and with --root.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

type outcome struct {
	Try     string `json:"try"`
	Escaped bool   `json:"escaped"`
	Detail  string `json:"detail"`
}

func report(try string, escaped bool, format string, args ...any) {
	json.NewEncoder(os.Stdout).Encode(outcome{try, escaped, fmt.Sprintf(format, args...)}) //nolint:errcheck
}

func main() {
	marker := flag.String("marker", "", "a string in the environment of a host process")
	hostFile := flag.String("write", "", "a host file to try to write (a private copy may take the write)")
	roFile := flag.String("ro", "", "a file that must not be writable (the host's read-only tree)")
	childVeth := flag.Bool("child-veth", false, "internal: add a veth pair and report")
	flag.Parse()
	if !inLab() && !*childVeth {
		fmt.Fprintln(os.Stderr, "escape: refusing to run outside nsscope's lab (its tries act on the machine when they succeed)")
		os.Exit(2)
	}
	if *childVeth {
		_, d := veth()
		fmt.Println(d)
		return
	}
	// Each try runs on a thread of its own that is thrown away: a
	// successful setns or unshare must not colour the next try.
	for _, t := range []struct {
		name string
		fn   func() (bool, string)
	}{
		{"host-environ", func() (bool, string) { return hostEnviron(*marker) }},
		{"setns-foreign-netns", setnsForeign},
		{"setns-refused", setnsSelf},
		{"init-root", initRoot},
		{"unshare-netns", func() (bool, string) { return unshare(unix.CLONE_NEWNET) }},
		{"unshare-userns-netns-veth", unshareVeth},
		{"veth", veth},
		{"raw-socket", rawSocket},
		{"route-out", routeOut},
		{"mount", mount},
		{"bpf", bpfCall},
		{"ptrace-init", ptraceInit},
		{"kexec", kexec},
		{"module", module},
		{"reboot", reboot},
		{"write-host-file", func() (bool, string) { return writeHost(*hostFile, *roFile) }},
		{"host-sockets", hostSockets},
		{"privileges", privileges},
	} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			lockThread()
			escaped, detail := t.fn()
			report(t.name, escaped, "%s", detail)
		}()
		<-done
	}
}

// inLab reports whether this looks like the inside of nsscope's lab: the
// lab's host name and a network namespace with lo alone.
func inLab() bool {
	h, _ := os.Hostname()
	ifs, err := net.Interfaces()
	return err == nil && h == "nsscope-lab" && len(ifs) == 1 && ifs[0].Name == "lo"
}

// lockThread keeps the try's goroutine on its thread and never unlocks:
// the thread dies with the goroutine.
func lockThread() { runtimeLockOSThread() }

func pids() []string {
	ents, _ := os.ReadDir("/proc")
	var ps []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			ps = append(ps, e.Name())
		}
	}
	return ps
}

func hostEnviron(marker string) (bool, string) {
	ps := pids()
	for _, p := range ps {
		b, err := os.ReadFile("/proc/" + p + "/environ")
		if err == nil && marker != "" && strings.Contains(string(b), marker) {
			return true, "read the marker in /proc/" + p + "/environ"
		}
	}
	return false, fmt.Sprintf("%d processes visible (%s)", len(ps), strings.Join(ps, " "))
}

func nsIno(p string) (uint64, error) {
	var st unix.Stat_t
	err := unix.Stat(p, &st)
	return st.Ino, err
}

func setnsForeign() (bool, string) {
	self, err := nsIno("/proc/self/ns/net")
	if err != nil {
		return false, "no /proc/self/ns/net: " + err.Error()
	}
	var seen []string
	for _, p := range pids() {
		ino, err := nsIno("/proc/" + p + "/ns/net")
		if err != nil || ino == self {
			continue
		}
		seen = append(seen, p)
		fd, err := unix.Open("/proc/"+p+"/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err == nil {
			return true, "joined the network namespace of /proc/" + p
		}
	}
	return false, fmt.Sprintf("no other network namespace reachable (others seen: %v)", seen)
}

func setnsSelf() (bool, string) {
	fd, err := unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, err.Error()
	}
	defer unix.Close(fd)
	err = unix.Setns(fd, unix.CLONE_NEWNET)
	return err == nil, fmt.Sprintf("setns: %v", err)
}

func initRoot() (bool, string) {
	ents, err := os.ReadDir("/proc/1/root/")
	if err == nil {
		return true, fmt.Sprintf("listed the init's root: %d entries", len(ents))
	}
	_, err2 := os.ReadFile("/proc/1/environ")
	return err2 == nil, fmt.Sprintf("/proc/1/root: %v; /proc/1/environ: %v", err, err2)
}

func unshare(flags int) (bool, string) {
	err := unix.Unshare(flags)
	return err == nil, fmt.Sprintf("unshare: %v", err)
}

// unshareVeth starts a copy of itself in a new user and network
// namespace (clone with CLONE_NEWUSER|CLONE_NEWNET: a Go program has
// threads, so unshare of a user namespace is not open to it) and has it
// add a veth pair there.
func unshareVeth() (bool, string) {
	cmd := exec.Command("/proc/self/exe", "-child-veth")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return false, fmt.Sprintf("clone: %v %s", err, out)
	}
	return true, "new user and network namespace made; " + strings.TrimSpace(string(out))
}

func veth() (bool, string) {
	err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "escape0"}, PeerName: "escape1"})
	return err == nil, fmt.Sprintf("add veth: %v", err)
}

func rawSocket() (bool, string) {
	var details []string
	escaped := false
	for _, s := range []struct {
		name           string
		dom, typ, prot int
	}{{"AF_INET/SOCK_RAW", unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP}, {"AF_PACKET/SOCK_RAW", unix.AF_PACKET, unix.SOCK_RAW, 0}} {
		fd, err := unix.Socket(s.dom, s.typ|unix.SOCK_CLOEXEC, s.prot)
		if err == nil {
			unix.Close(fd)
			escaped = true
		}
		details = append(details, fmt.Sprintf("%s: %v", s.name, err))
	}
	return escaped, strings.Join(details, "; ")
}

// routeOut asks for a route to a documentation address (TEST-NET-1): a
// UDP connect sends nothing, it only looks the route up.
func routeOut() (bool, string) {
	c, err := net.Dial("udp", "192.0.2.1:53")
	if err == nil {
		c.Close()
		return true, "a route out exists"
	}
	ifs, _ := net.Interfaces()
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	return false, fmt.Sprintf("%v (interfaces: %v)", err, names)
}

func mount() (bool, string) {
	err := unix.Mount("tmpfs", "/tmp", "tmpfs", 0, "")
	if err == nil {
		unix.Unmount("/tmp", unix.MNT_DETACH) //nolint:errcheck
	}
	return err == nil, fmt.Sprintf("mount: %v", err)
}

func bpfCall() (bool, string) {
	attr := make([]byte, 128)
	_, _, e := unix.Syscall(unix.SYS_BPF, 0 /* BPF_MAP_CREATE */, uintptr(unsafePointer(&attr[0])), uintptr(len(attr)))
	return e == 0, fmt.Sprintf("bpf: %v", e)
}

func ptraceInit() (bool, string) {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_ATTACH, 1, 0, 0, 0, 0)
	if e == 0 {
		unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, 1, 0, 0, 0, 0) //nolint:errcheck
	}
	return e == 0, fmt.Sprintf("ptrace attach 1: %v", e)
}

// refusedOnly reports a call as an escape unless it was refused with
// EPERM: the arguments are invalid, so a call that was let through fails
// differently (EINVAL, EFAULT) and does nothing.
func refusedOnly(what string, e syscall.Errno) (bool, string) {
	return e != unix.EPERM, fmt.Sprintf("%s: %v", what, e)
}

func kexec() (bool, string) {
	_, _, e := unix.Syscall6(unix.SYS_KEXEC_LOAD, 0, 0, 0, 0xffffffff, 0, 0)
	return refusedOnly("kexec_load", e)
}

func module() (bool, string) {
	_, _, e := unix.Syscall(unix.SYS_INIT_MODULE, 0, 0, 0)
	return refusedOnly("init_module", e)
}

func reboot() (bool, string) {
	_, _, e := unix.Syscall6(unix.SYS_REBOOT, 0, 0, 0, 0, 0, 0) // bad magic
	return refusedOnly("reboot", e)
}

func writeHost(p, ro string) (bool, string) {
	var details []string
	escaped := false
	for _, f := range []string{p, ro} {
		if f == "" {
			continue
		}
		err := os.WriteFile(f, []byte("escaped\n"), 0o644)
		details = append(details, fmt.Sprintf("%s: %v", f, err))
		// A write to p may land in a private copy (an overlay): the test
		// checks the host's file itself.
		if err == nil && f == ro {
			escaped = true
		}
	}
	return escaped, strings.Join(details, "; ")
}

// hostSockets tries every Unix socket it can find in the usual places.
func hostSockets() (bool, string) {
	var tried []string
	for _, dir := range []string{"/run", "/var/run", "/tmp", "/var/lib"} {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error { //nolint:errcheck
			if err != nil || len(tried) > 200 {
				return filepath.SkipDir
			}
			if d.Type()&os.ModeSocket == 0 {
				return nil
			}
			tried = append(tried, p)
			return nil
		})
	}
	for _, p := range tried {
		if c, err := net.DialTimeout("unix", p, time.Second); err == nil {
			c.Close()
			return true, "connected to " + p
		}
	}
	return false, fmt.Sprintf("%d sockets found, none connectable", len(tried))
}

func privileges() (bool, string) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true, err.Error()
	}
	want := map[string]string{"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
		"CapBnd": "0000000000000000", "CapAmb": "0000000000000000", "NoNewPrivs": "1", "Seccomp": "2"}
	var got []string
	escaped := false
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		v = strings.TrimSpace(v)
		if w, known := want[k]; ok && known {
			got = append(got, k+"="+v)
			if v != w {
				escaped = true
			}
		}
	}
	return escaped, strings.Join(got, " ")
}
