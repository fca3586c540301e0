package lab

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The lab contains the program it runs. Whatever its root, the program
//
//   - runs chrooted into a root of its own, with /proc of the lab's PID
//     namespace (no host process is visible), a /dev of null, zero,
//     random and urandom only, and /sys of the lab's network namespace;
//   - has no capabilities (bounding, permitted, effective, inheritable
//     and ambient sets empty) unless Spec.Caps grants some;
//   - has no_new_privs set (no set-user-ID or file capabilities gain
//     anything) and a seccomp filter refusing the calls of
//     seccompGroups unless Spec.Allow lifts a group.
//
// With the host's root, the root is the host's file tree bound read-only
// (no set-user-ID, no devices), with private, writable /etc and /tmp
// (overlays: the host's files show through, writes stay in the lab),
// and empty /run and /var/tmp (no host daemon's socket is reachable).

// capNames are the capability names, indexed by number
// (linux/capability.h), without the CAP_ prefix.
var capNames = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

// ParseCap reads a capability name as --cap takes it: NET_RAW,
// net_raw or CAP_NET_RAW.
func ParseCap(s string) (int, error) {
	name := strings.TrimPrefix(strings.ToUpper(s), "CAP_")
	for i, n := range capNames {
		if n == name {
			return i, nil
		}
	}
	return 0, inputErrorf("--cap %q: not a capability name (e.g. NET_RAW, NET_BIND_SERVICE)", s)
}

// checkContainment refuses capability and group names the lab does not
// know, before any namespace is made.
func checkContainment(spec Spec) error {
	for _, c := range spec.Caps {
		if _, err := ParseCap(c); err != nil {
			return err
		}
	}
	if arch, ok := nativeArch(); ok {
		_, err := seccompProgram(arch, spec.Allow)
		return err
	}
	return nil
}

// stageEnv, set in the environment of a re-executed binary, makes
// InitMain the exec stage instead of the init.
const stageEnv = "NSSCOPE_LAB_STAGE"

// execRequest is what the init sends the exec stage (on fd 3).
type execRequest struct {
	Root  string   `json:"root"`
	Path  string   `json:"path"`
	Argv  []string `json:"argv"`
	Env   []string `json:"env"`
	Caps  []string `json:"caps"`
	Allow []string `json:"allow"`
}

// The exec stage's descriptors: the request, and a close-on-exec pipe
// on which it reports a failure before the program started (its closing
// without a word means the program is running).
const (
	execRequestFD = 3
	execErrorFD   = 4
)

// execMain is the exec stage: a copy of the init, forked with its
// privileges, that enters the program's root, gives up every privilege
// the program is not granted, and becomes the program. It returns only
// on failure.
func execMain() int {
	runtime.LockOSThread() // credentials, no_new_privs and seccomp are per thread
	report := os.NewFile(execErrorFD, "exec-error")
	unix.CloseOnExec(execErrorFD)
	if err := execContained(os.NewFile(execRequestFD, "exec-request")); err != nil {
		fmt.Fprint(report, err.Error())
	}
	return 127
}

func execContained(in *os.File) error {
	var req execRequest
	err := json.NewDecoder(io.LimitReader(in, 64<<20)).Decode(&req)
	in.Close()
	if err != nil {
		return fmt.Errorf("lab exec: bad request: %w", err)
	}
	if err := unix.Chroot(req.Root); err != nil {
		return fmt.Errorf("chroot %s: %w", req.Root, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	if err := dropCapabilities(req.Caps); err != nil {
		return err
	}
	if err := loadSeccomp(req.Allow); err != nil {
		return err
	}
	if err := unix.Exec(req.Path, req.Argv, req.Env); err != nil {
		return fmt.Errorf("start %s: %w", req.Path, err)
	}
	return nil
}

// dropCapabilities empties the bounding set but for keep, clears the
// inheritable and ambient sets, and leaves the permitted and effective
// sets for execve to recompute: a program run as root gets exactly its
// bounding set (capabilities(7), "Capabilities and execution of programs
// by root"), so keep is all it has.
func dropCapabilities(keep []string) error {
	kept := map[int]bool{}
	for _, c := range keep {
		n, err := ParseCap(c)
		if err != nil {
			return err
		}
		kept[n] = true
	}
	for c := 0; ; c++ {
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err != nil {
			break // past the kernel's last capability
		}
		if kept[c] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	for i := range data {
		data[i].Inheritable = 0
		for c := range kept {
			if c/32 == i {
				data[i].Inheritable |= 1 << (c % 32)
			}
		}
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("set inheritable capabilities: %w", err)
	}
	return nil
}

// startContained starts the exec stage, which becomes the program
// described by req, with stdout and stderr as its output. It returns
// once the program is running (its execve succeeded) or with the reason
// it could not start.
func startContained(req execRequest, stdout, stderr *os.File) (*exec.Cmd, error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       os.Args,
		Env:        []string{stageEnv + "=exec"},
		Stdout:     stdout,
		Stderr:     stderr,
		ExtraFiles: []*os.File{reqR, repW}, // execRequestFD, execErrorFD
		SysProcAttr: &syscall.SysProcAttr{
			Pdeathsig: syscall.SIGKILL,
			Setpgid:   true,
		},
	}
	err = cmd.Start()
	reqR.Close()
	repW.Close()
	if err != nil {
		reqW.Close()
		repR.Close()
		return nil, fmt.Errorf("start the lab's exec stage: %w", err)
	}
	go func() {
		json.NewEncoder(reqW).Encode(req) //nolint:errcheck // a failed stage reports on repR
		reqW.Close()
	}()
	msg, _ := io.ReadAll(io.LimitReader(repR, 64<<10))
	repR.Close()
	if len(msg) > 0 {
		cmd.Wait() //nolint:errcheck // the stage's failure is msg
		return nil, inputErrorf("%s", msg)
	}
	return cmd, nil
}
