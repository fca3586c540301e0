package lab

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompCall is one system call as the filter sees it. The x/net/bpf VM
// loads words big-endian from a packet; the kernel loads seccomp_data's
// words in host order. Writing each 32-bit word big-endian at its offset
// makes the two agree for the aligned 32-bit loads the filter makes.
func seccompCall(arch, nr uint32, args ...uint32) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[seccompNr:], nr)
	binary.BigEndian.PutUint32(b[seccompArch:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[seccompArgs+8*i:], a)
	}
	return b
}

func runFilter(t *testing.T, prog []bpf.Instruction, call []byte) uint32 {
	t.Helper()
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("filter does not assemble: %v", err)
	}
	// The VM returns the filter's return value as the "bytes accepted".
	n, err := vm.Run(call)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(n)
}

func TestSeccompFilter(t *testing.T) {
	const x86 = unix.AUDIT_ARCH_X86_64
	eperm := uint32(retErrno | uint32(unix.EPERM))
	enosys := uint32(retErrno | uint32(unix.ENOSYS))
	tests := []struct {
		name  string
		allow []string
		call  []byte
		want  uint32
	}{
		{"read", nil, seccompCall(x86, unix.SYS_READ), retAllow},
		{"setns", nil, seccompCall(x86, unix.SYS_SETNS, 3, unix.CLONE_NEWNET), eperm},
		{"setns allowed", []string{"setns"}, seccompCall(x86, unix.SYS_SETNS, 3, unix.CLONE_NEWNET), retAllow},
		{"unshare net", nil, seccompCall(x86, unix.SYS_UNSHARE, unix.CLONE_NEWNET), eperm},
		{"unshare user", nil, seccompCall(x86, unix.SYS_UNSHARE, unix.CLONE_NEWUSER), eperm},
		{"unshare files", nil, seccompCall(x86, unix.SYS_UNSHARE, unix.CLONE_FILES), retAllow},
		{"unshare net allowed", []string{"unshare"}, seccompCall(x86, unix.SYS_UNSHARE, unix.CLONE_NEWNET), retAllow},
		{"clone thread", nil, seccompCall(x86, unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_THREAD|unix.CLONE_SIGHAND), retAllow},
		{"clone fork with exit signal 0x80-range", nil, seccompCall(x86, unix.SYS_CLONE, 0x80|uint32(unix.SIGCHLD)), retAllow},
		{"clone newnet", nil, seccompCall(x86, unix.SYS_CLONE, unix.CLONE_NEWNET|uint32(unix.SIGCHLD)), eperm},
		{"clone3", nil, seccompCall(x86, unix.SYS_CLONE3), enosys},
		{"mount", nil, seccompCall(x86, unix.SYS_MOUNT), eperm},
		{"fsopen", nil, seccompCall(x86, unix.SYS_FSOPEN), eperm},
		{"chroot", nil, seccompCall(x86, unix.SYS_CHROOT), eperm},
		{"bpf", nil, seccompCall(x86, unix.SYS_BPF), eperm},
		{"ptrace attach init", nil, seccompCall(x86, unix.SYS_PTRACE, unix.PTRACE_ATTACH, initPID), eperm},
		{"ptrace seize init", nil, seccompCall(x86, unix.SYS_PTRACE, unix.PTRACE_SEIZE, initPID), eperm},
		{"ptrace attach own child", nil, seccompCall(x86, unix.SYS_PTRACE, unix.PTRACE_ATTACH, 7), retAllow},
		{"ptrace traceme", nil, seccompCall(x86, unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0), retAllow},
		{"ptrace peek init", nil, seccompCall(x86, unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, initPID), retAllow},
		{"ptrace allowed", []string{"ptrace"}, seccompCall(x86, unix.SYS_PTRACE, unix.PTRACE_ATTACH, initPID), retAllow},
		{"process_vm_readv init", nil, seccompCall(x86, unix.SYS_PROCESS_VM_READV, initPID), eperm},
		{"process_vm_readv child", nil, seccompCall(x86, unix.SYS_PROCESS_VM_READV, 9), retAllow},
		{"pidfd_getfd", nil, seccompCall(x86, unix.SYS_PIDFD_GETFD), eperm},
		{"kexec", nil, seccompCall(x86, unix.SYS_KEXEC_LOAD), eperm},
		{"kexec_file", nil, seccompCall(x86, unix.SYS_KEXEC_FILE_LOAD), eperm},
		{"init_module", nil, seccompCall(x86, unix.SYS_INIT_MODULE), eperm},
		{"finit_module", nil, seccompCall(x86, unix.SYS_FINIT_MODULE), eperm},
		{"reboot", nil, seccompCall(x86, unix.SYS_REBOOT), eperm},
		{"x32 read", nil, seccompCall(x86, x32Bit|unix.SYS_READ), retKillProcess},
		{"i386", nil, seccompCall(unix.AUDIT_ARCH_I386, 1), retKillProcess},
	}
	for _, tc := range tests {
		prog, err := seccompProgram(x86, tc.allow)
		if err != nil {
			t.Fatal(err)
		}
		if got := runFilter(t, prog, tc.call); got != tc.want {
			t.Errorf("%s: filter returns %#x, want %#x", tc.name, got, tc.want)
		}
	}
	if _, err := seccompProgram(x86, []string{"everything"}); err == nil || !IsInputError(err) {
		t.Errorf("unknown group: %v, want an input error", err)
	}
}
