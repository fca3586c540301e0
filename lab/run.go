package lab

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nsscope/nsscope/model"
)

// Runner starts lab runs by re-executing a binary as the namespace init.
// The zero Runner re-executes the running binary (/proc/self/exe) with the
// single argument InitArg; that binary must call [InitMain] when it sees
// it (the nsscope command does, under "lab"; tests do in TestMain).
type Runner struct {
	// Exe is the binary to re-execute; "" means /proc/self/exe.
	Exe string
	// Args are the arguments that make it the init; nil means {InitArg}.
	Args []string
	// Started, if set, is called with the init's PID once it runs: its
	// namespaces are /proc/PID/ns/* (sniff watches a lab's network this
	// way; trace tests use one as a stand-in host).
	Started func(pid int)
}

// Run runs spec and returns what it observed. Errors caused by the request
// (see [InputError]) are distinguished from failures of the lab itself.
// Cancelling ctx ends the run at once; nothing it created survives it.
func (rn Runner) Run(ctx context.Context, spec Spec) (*Result, error) {
	if err := validate(&spec); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		spec.Rootless = true
	}
	if spec.Rootless {
		if err := userNamespacesAvailable(); err != nil {
			return nil, err
		}
	}
	tmp := spec.TempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	sweepStale(tmp)
	work, err := os.MkdirTemp(tmp, "nsscope-lab-"+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, inputErrorf("temporary directory %s is not usable (%v); set TMPDIR or --tmp to a writable directory", tmp, unwrapPathError(err))
	}
	// The init mounts a tmpfs over work in its own mount namespace, so
	// the directory itself stays empty here.
	defer os.Remove(work)

	var req bytes.Buffer
	if err := gob.NewEncoder(&req).Encode(initRequest{Spec: spec, Work: work}); err != nil {
		return nil, fmt.Errorf("encode the lab's request: %w", err)
	}
	exe, args := rn.Exe, rn.Args
	if exe == "" {
		exe = "/proc/self/exe"
	}
	if args == nil {
		args = []string{InitArg}
	}
	var stdout, stderr bytes.Buffer
	attr := &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS,
		// The init, PID 1 of its PID namespace, dies with this process;
		// its death takes every process of the namespace with it.
		Pdeathsig: syscall.SIGKILL,
	}
	if spec.Rootless {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	cmd := &execCmd{exe: exe, args: args, stdin: req.Bytes(), stdout: &stdout, stderr: &stderr, attr: attr, onStart: rn.Started}
	runErr := cmd.run(ctx)
	if ctx.Err() != nil {
		return nil, &Interrupted{Cause: context.Cause(ctx)}
	}
	if runErr != nil && !cmd.started {
		if errors.Is(runErr, unix.EPERM) || errors.Is(runErr, unix.EACCES) || (errors.Is(runErr, unix.EINVAL) && spec.Rootless) {
			return nil, inputErrorf("cannot create the lab's namespaces (%v): run as root, or allow user namespaces (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone)", runErr)
		}
		return nil, fmt.Errorf("start lab init: %w", runErr)
	}
	var rep initReply
	if err := gob.NewDecoder(&stdout).Decode(&rep); err != nil || runErr != nil {
		// No reply, or the init did not exit cleanly after giving one (a
		// crash, or the race detector in tests): its stderr says why.
		msg := strings.TrimSpace(stderr.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 && !strings.Contains(msg, "DATA RACE") {
			msg = msg[:i]
		}
		return nil, fmt.Errorf("lab init failed (%v): %s", runErr, msg)
	}
	if rep.Error != "" {
		if rep.Input {
			return nil, &InputError{Err: errors.New(rep.Error)}
		}
		return nil, errors.New(rep.Error)
	}
	if rep.Result == nil {
		return nil, errors.New("lab init returned no result")
	}
	return rep.Result, nil
}

// Interrupted is Run's error when its context was cancelled (Ctrl-C,
// SIGTERM): the run was stopped and nothing it made is left. Cause is
// the context's cause (the signal, for a signal context).
type Interrupted struct{ Cause error }

func (e *Interrupted) Error() string {
	return fmt.Sprintf("interrupted (%v): the run was stopped, nothing is left behind", e.Cause)
}

func (e *Interrupted) Unwrap() error { return e.Cause }

// execCmd runs the init. It keeps the starting goroutine on one OS thread
// from start to exit: Pdeathsig fires when the thread that forked the
// child ends, so that thread must live as long as the child.
type execCmd struct {
	exe     string
	args    []string
	stdin   []byte
	stdout  *bytes.Buffer
	stderr  *bytes.Buffer
	attr    *syscall.SysProcAttr
	onStart func(pid int)
	started bool
}

func (c *execCmd) run(ctx context.Context) error {
	type outcome struct {
		started bool
		err     error
	}
	done := make(chan outcome, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread ends with this goroutine, after
		// the child has been reaped.
		cmd := newInitCmd(c.exe, c.args, c.stdin, c.stdout, c.stderr, c.attr)
		if err := cmd.Start(); err != nil {
			done <- outcome{false, err}
			return
		}
		if c.onStart != nil {
			c.onStart(cmd.Process.Pid)
		}
		stop := context.AfterFunc(ctx, func() { cmd.Process.Kill() }) //nolint:errcheck
		err := cmd.Wait()
		stop()
		done <- outcome{true, err}
	}()
	o := <-done
	c.started = o.started
	return o.err
}

// validate checks spec and completes it (the default hostname, paths
// made absolute) before it crosses to the init.
func validate(spec *Spec) error {
	if len(spec.Argv) == 0 {
		return inputErrorf("no program to run")
	}
	if err := checkNameservers(*spec); err != nil {
		return err
	}
	if _, err := untilPatterns(*spec); err != nil {
		return err
	}
	if err := checkProbes(*spec); err != nil {
		return err
	}
	if err := checkContainment(*spec); err != nil {
		return err
	}
	if err := checkIPv6(spec.IPv6, spec.Nameservers); err != nil {
		return err
	}
	if spec.Hostname == "" {
		spec.Hostname = DefaultHostname
	}
	return absolutePaths(spec)
}

// checkNameservers checks the servers the lab fakes and their behaviours.
func checkNameservers(spec Spec) error {
	n := len(spec.Nameservers)
	if n == 0 {
		return inputErrorf("resolv.conf lists no nameserver: the lab needs 1 to %d to stand in for", model.MaxNameservers)
	}
	if n > model.MaxNameservers {
		return inputErrorf("resolv.conf lists %d nameservers: resolvers use only the first %d, and the lab mirrors 1 to %d; remove the extra ones", n, model.MaxNameservers, model.MaxNameservers)
	}
	seen := map[netip.Addr]bool{}
	for _, a := range spec.Nameservers {
		if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() {
			return inputErrorf("nameserver %s cannot be faked", a)
		}
		if a.Zone() != "" {
			return inputErrorf("nameserver %s: zoned addresses are not supported", a)
		}
		if seen[a] {
			return inputErrorf("nameserver %s is listed twice", a)
		}
		seen[a] = true
	}
	if len(spec.Scenario.Servers) > 1 && len(spec.Scenario.Servers) != n {
		return inputErrorf("%d server behaviours for %d nameservers: give one for all, or one per nameserver", len(spec.Scenario.Servers), n)
	}
	return nil
}

// absolutePaths makes the spec's host paths (the program on the host's
// root, --add sources, shared directories, the root) absolute, checking
// each: the init runs in another working directory.
func absolutePaths(spec *Spec) error {
	if spec.Root == "" && strings.Contains(spec.Argv[0], "/") && !filepath.IsAbs(spec.Argv[0]) {
		// On the host's root a relative program path means what it means
		// in the caller's shell.
		abs, err := filepath.Abs(spec.Argv[0])
		if err != nil {
			return inputErrorf("program %s: %v", spec.Argv[0], err)
		}
		spec.Argv = append([]string{abs}, spec.Argv[1:]...)
	}
	if len(spec.Add) > 0 && spec.Root == "" {
		return inputErrorf("--add needs --root: the host's own root is never written to")
	}
	for i, a := range spec.Add {
		abs, err := filepath.Abs(a.Src)
		if err != nil {
			return inputErrorf("--add %s: %v", a.Src, err)
		}
		spec.Add[i].Src = abs
		if a.Dst == "" || !strings.HasPrefix(a.Dst, "/") {
			return inputErrorf("--add %s: the path inside the root must be absolute", a.Src)
		}
	}
	for i, d := range spec.Share {
		abs, err := filepath.Abs(d)
		if err != nil {
			return inputErrorf("--share %s: %v", d, err)
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return inputErrorf("--share %s: not a directory", d)
		}
		spec.Share[i] = abs
	}
	if spec.Root != "" {
		abs, err := filepath.Abs(spec.Root)
		if err != nil {
			return inputErrorf("root %s: %v", spec.Root, err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return inputErrorf("root %s: %v", spec.Root, unwrapPathError(err))
		}
		if !st.IsDir() && !st.Mode().IsRegular() {
			return inputErrorf("root %s is neither a directory nor a tar file", spec.Root)
		}
		spec.Root = abs
	}
	return nil
}

// userNamespacesAvailable reports (as an InputError) when this kernel will
// not let this process create a user namespace.
func userNamespacesAvailable() error {
	return checkUserNamespaces("/proc/sys/user/max_user_namespaces", "/proc/sys/kernel/unprivileged_userns_clone", os.Geteuid() == 0)
}

// checkUserNamespaces reads the kernel's user-namespace knobs: the limit
// (0 disables them; absent means a kernel without them) and Debian's
// unprivileged_userns_clone switch (absent on most kernels).
func checkUserNamespaces(maxPath, unprivPath string, root bool) error {
	b, err := os.ReadFile(maxPath)
	switch {
	case os.IsNotExist(err):
		return inputErrorf("not root, and this kernel has no user namespaces: run the lab as root")
	case err == nil && strings.TrimSpace(string(b)) == "0":
		return inputErrorf("not root, and user namespaces are disabled (user.max_user_namespaces = 0): run the lab as root")
	}
	if b, err := os.ReadFile(unprivPath); err == nil && strings.TrimSpace(string(b)) == "0" && !root {
		return inputErrorf("not root, and unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0): run the lab as root")
	}
	return nil
}

// sweepStale removes empty private directories of earlier runs whose lab
// process is gone (left when a lab was killed with SIGKILL: the init's
// tmpfs vanished with it, the empty mount point did not).
func sweepStale(tmp string) {
	ms, _ := filepath.Glob(filepath.Join(tmp, "nsscope-lab-*-*"))
	for _, m := range ms {
		pid, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(m), "nsscope-lab-"), "-")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(pid); err != nil || n == os.Getpid() {
			continue
		} else if _, err := os.Stat("/proc/" + pid); err == nil {
			continue
		}
		os.Remove(m) // only ever removes an empty directory
	}
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
