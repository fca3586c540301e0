package lab

import (
	"fmt"
	"runtime"
	"slices"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The lab's seccomp filter refuses the system calls by which a program
// could leave the lab or act on the machine (seccomp(2); the filter is a
// classic BPF program over struct seccomp_data). Each refused call is in
// a named group that Spec.Allow can lift for a test that needs it.

// seccomp_data layout (linux/seccomp.h): nr at 0, arch at 4, args at 16,
// 8 bytes each; the lab reads only each argument's low 32 bits, which
// hold every flag and PID the rules look at.
const (
	seccompNr   = 0
	seccompArch = 4
	seccompArgs = 16
)

// Filter return values (linux/seccomp.h).
const (
	retAllow       = 0x7fff0000
	retErrno       = 0x00050000
	retKillProcess = 0x80000000
)

// x32 system calls on x86_64 have this bit set in nr; the lab refuses the
// ABI as a whole (no program that resolves names needs it).
const x32Bit = 0x40000000

// Namespace flags of clone(2) and unshare(2). CLONE_NEWTIME (0x80) shares
// its bit with clone's exit signal, so clone is checked without it.
const (
	cloneNamespaces   = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET
	unshareNamespaces = cloneNamespaces | unix.CLONE_NEWTIME
)

// initPID is the lab's namespace init as the program's PID namespace
// numbers it: the one process in the program's view that is not the
// program's own.
const initPID = 1

// A seccompRule refuses one system call, always or when one argument's
// low 32 bits match.
type seccompRule struct {
	nr    uint32
	errno unix.Errno
	// arg >= 0 makes the rule conditional: with mask != 0 it refuses when
	// args[arg] & mask != 0; with mask == 0 when args[arg] is one of vals.
	arg  int
	mask uint32
	vals []uint32
	// and, when set, must also hold (args[and.arg] is one of and.vals).
	and *seccompRule
}

func always(nr uintptr) seccompRule { return seccompRule{nr: uint32(nr), errno: unix.EPERM, arg: -1} }

// SeccompGroups are the names Spec.Allow accepts, each lifting one group
// of refused calls.
var seccompGroups = map[string][]seccompRule{
	// Joining another namespace, the host's network namespace included.
	"setns": {always(unix.SYS_SETNS)},
	// New namespaces (a network namespace of one's own with a veth, a
	// user namespace to gain capabilities in). clone3 passes its flags in
	// memory a filter cannot read: it answers ENOSYS, so C libraries fall
	// back to clone, whose flags are checked.
	"unshare": {
		{nr: unix.SYS_UNSHARE, errno: unix.EPERM, arg: 0, mask: unshareNamespaces},
		{nr: unix.SYS_CLONE, errno: unix.EPERM, arg: 0, mask: cloneNamespaces},
		{nr: unix.SYS_CLONE3, errno: unix.ENOSYS, arg: -1},
	},
	// Changing what the file system looks like, and opening files by
	// handle (which walks around mounts).
	"mount": {
		always(unix.SYS_MOUNT), always(unix.SYS_UMOUNT2), always(unix.SYS_PIVOT_ROOT), always(unix.SYS_CHROOT),
		always(unix.SYS_FSOPEN), always(unix.SYS_FSCONFIG), always(unix.SYS_FSMOUNT), always(unix.SYS_FSPICK),
		always(unix.SYS_MOVE_MOUNT), always(unix.SYS_OPEN_TREE), always(unix.SYS_OPEN_TREE_ATTR),
		always(unix.SYS_MOUNT_SETATTR), always(unix.SYS_OPEN_BY_HANDLE_AT),
	},
	"bpf": {always(unix.SYS_BPF)},
	// Reaching into a process outside the program's own: the lab's init,
	// PID 1 of the namespace (it holds the lab's privileges and the
	// host's root), and any process's file descriptors.
	"ptrace": {
		{nr: unix.SYS_PTRACE, errno: unix.EPERM, arg: 1, vals: []uint32{initPID},
			and: &seccompRule{arg: 0, vals: []uint32{unix.PTRACE_ATTACH, unix.PTRACE_SEIZE}}},
		{nr: unix.SYS_PROCESS_VM_READV, errno: unix.EPERM, arg: 0, vals: []uint32{initPID}},
		{nr: unix.SYS_PROCESS_VM_WRITEV, errno: unix.EPERM, arg: 0, vals: []uint32{initPID}},
		always(unix.SYS_PIDFD_GETFD),
	},
	"kexec":   {always(unix.SYS_KEXEC_LOAD), always(unix.SYS_KEXEC_FILE_LOAD)},
	"modules": {always(unix.SYS_INIT_MODULE), always(unix.SYS_FINIT_MODULE), always(unix.SYS_DELETE_MODULE)},
	"reboot":  {always(unix.SYS_REBOOT)},
}

// SeccompGroups lists the names of the refused groups, sorted: the values
// Spec.Allow (--allow) takes.
func SeccompGroups() []string {
	var gs []string
	for g := range seccompGroups {
		gs = append(gs, g)
	}
	slices.Sort(gs)
	return gs
}

// nativeArch is the AUDIT_ARCH value of the running binary's system calls.
func nativeArch() (uint32, bool) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, true
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, true
	}
	return 0, false
}

// seccompProgram builds the filter for arch with the groups in allow
// lifted. Calls of another architecture (32-bit, x32) kill the program:
// their numbers mean other calls, which this filter does not describe.
func seccompProgram(arch uint32, allow []string) ([]bpf.Instruction, error) {
	for _, a := range allow {
		if _, ok := seccompGroups[a]; !ok {
			return nil, inputErrorf("--allow %q: want one of %v", a, SeccompGroups())
		}
	}
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: seccompArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: arch, SkipTrue: 1},
		bpf.RetConstant{Val: retKillProcess},
		bpf.LoadAbsolute{Off: seccompNr, Size: 4},
	}
	if arch == unix.AUDIT_ARCH_X86_64 {
		prog = append(prog,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32Bit, SkipFalse: 1},
			bpf.RetConstant{Val: retKillProcess})
	}
	for _, g := range SeccompGroups() {
		if slices.Contains(allow, g) {
			continue
		}
		for _, r := range seccompGroups[g] {
			body := r.body()
			if len(body) > 255 {
				return nil, fmt.Errorf("seccomp rule for call %d too long", r.nr)
			}
			// A is nr here: every body ends in a return, so a rule that
			// does not match falls through to the next with A unchanged.
			prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: r.nr, SkipFalse: uint8(len(body))})
			prog = append(prog, body...)
		}
	}
	return append(prog, bpf.RetConstant{Val: retAllow}), nil
}

// body is what runs once nr matched: it returns refuse or allow.
func (r seccompRule) body() []bpf.Instruction {
	refuse := bpf.RetConstant{Val: retErrno | uint32(r.errno)}
	allow := bpf.RetConstant{Val: retAllow}
	if r.arg < 0 {
		return []bpf.Instruction{refuse}
	}
	// The tests, each jumping to "allow" when it fails, then refuse.
	var tests [][]bpf.Instruction
	for c := &r; c != nil; c = c.and {
		tests = append(tests, c.test())
	}
	var out []bpf.Instruction
	for i, t := range tests {
		// Instructions after this test: the later tests, refuse, allow.
		rest := 1
		for _, u := range tests[i+1:] {
			rest += len(u)
		}
		// The test's last jump goes to "allow" when the condition fails.
		last := t[len(t)-1].(bpf.JumpIf)
		last.SkipFalse = uint8(rest)
		out = append(out, t[:len(t)-1]...)
		out = append(out, last)
	}
	return append(out, refuse, allow)
}

// test loads the argument and ends in a jump that falls through when the
// condition holds; its SkipFalse (to "allow") is filled in by body.
func (r seccompRule) test() []bpf.Instruction {
	load := bpf.LoadAbsolute{Off: uint32(seccompArgs + 8*r.arg), Size: 4}
	if r.mask != 0 {
		return []bpf.Instruction{load, bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: r.mask}}
	}
	// One of vals: jump forward to the end of the test on a match,
	// fall to "allow" after the last.
	out := []bpf.Instruction{load}
	for i, v := range r.vals {
		last := i == len(r.vals)-1
		if last {
			out = append(out, bpf.JumpIf{Cond: bpf.JumpEqual, Val: v})
		} else {
			out = append(out, bpf.JumpIf{Cond: bpf.JumpEqual, Val: v, SkipTrue: uint8(len(r.vals) - 1 - i)})
		}
	}
	return out
}

// loadSeccomp sets no_new_privs and installs the filter on the calling
// thread, which must then execve (the filter and the flag are inherited
// across it and by every child).
func loadSeccomp(allow []string) error {
	arch, ok := nativeArch()
	if !ok {
		return fmt.Errorf("no seccomp filter for %s: the lab contains programs on amd64 and arm64 only", runtime.GOARCH)
	}
	prog, err := seccompProgram(arch, allow)
	if err != nil {
		return err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return fmt.Errorf("assemble seccomp filter: %w", err)
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&fprog)), 0, 0); err != nil {
		return fmt.Errorf("install seccomp filter: %w", err)
	}
	runtime.KeepAlive(filter)
	return nil
}
