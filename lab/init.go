package lab

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/model"
)

// InitArg is the argument by which a re-executed binary knows it is the
// lab's namespace init (see [Runner]). It is not a user-facing flag.
const InitArg = "--nsscope-internal-lab-init"

// initRequest is what Run sends the init on its standard input, and
// initReply what the init writes on its standard output. Both cross as gob,
// not JSON: the files the spec puts in the root and the files the program
// saw must cross byte for byte, and a JSON string would replace bytes that
// are not UTF-8 (see model.Text).
type initRequest struct {
	Spec Spec
	Work string
}

// initReply is the init's answer: a result, or the error that stopped it
// (Input: the error is the input's, exit 2).
type initReply struct {
	Result *Result
	Error  string
	Input  bool
}

// Limits on what a run keeps of the program's output.
const (
	maxOutputLines = 10000
	maxLineBytes   = 64 << 10
)

// InitMain is the body of the namespace init: it reads the run's request
// from in, runs it, and writes the result to out. It returns the process
// exit status. Call it (and nothing else) when the process was started
// with [InitArg]; it expects to be in fresh namespaces.
//
// The init re-executes the same binary, with the same arguments, as the
// exec stage that becomes the program (see execMain); InitMain is its body
// too, and never returns there unless the program could not be started.
func InitMain(in io.Reader, out io.Writer) int {
	if os.Getenv(stageEnv) == "exec" {
		return execMain()
	}
	var req initRequest
	var rep initReply
	if err := gob.NewDecoder(in).Decode(&req); err != nil {
		rep.Error = fmt.Sprintf("lab init: bad request: %v", err)
	} else if res, err := runInit(req); err != nil {
		rep.Error = err.Error()
		rep.Input = IsInputError(err)
	} else {
		rep.Result = res
	}
	if err := gob.NewEncoder(out).Encode(rep); err != nil {
		return 3
	}
	return 0
}

// runInit runs one request inside the lab's fresh namespaces: it makes
// the mounts private, builds the network and the program's root, starts
// the fake nameservers, runs the program contained, and collects what
// happened.
func runInit(req initRequest) (*Result, error) {
	start := time.Now()
	spec := req.Spec
	if err := isolate(spec, req.Work); err != nil {
		return nil, err
	}
	ifindex, err := setupNamespaceNetwork(spec)
	if err != nil {
		return nil, err
	}
	rootDir, err := prepareRoot(spec, req.Work)
	if err != nil {
		return nil, err
	}
	r, err := openRootFS(rootDir)
	if err != nil {
		return nil, err
	}
	defer r.close()
	if err := configureRoot(r, spec); err != nil {
		return nil, err
	}
	pinned, err := pinFiles(r, req.Work)
	if err != nil {
		return nil, err
	}
	res, err := describeRun(r, spec)
	if err != nil {
		return nil, err
	}
	f, err := startFakes(spec, ifindex, res)
	if err != nil {
		return nil, err
	}
	defer f.stop()
	sc, err := startSidecars(spec, r, rootDir)
	if err != nil {
		return nil, err
	}
	defer sc.stop()
	resetReads(pinned)
	if err := runProgram(spec, rootDir, res); err != nil {
		return nil, err
	}
	res.Setup = model.Seconds(res.Started.Sub(start))
	res.FileEvents = lastReads(r, res.Started)
	res.Queries = f.collect(res.Started)
	return res, nil
}

// isolate keeps everything the run mounts in its own mount namespace,
// puts the run's files in a size-bounded tmpfs that vanishes with it,
// sets the host name, and makes the init itself untouchable by the
// program (not dumpable: no ptrace, no /proc/1/root, /proc/1/environ).
func isolate(spec Spec, work string) error {
	// Nothing mounted from here on may propagate to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	// strictatime: every read of a file sets its access time, which is how
	// the timeline shows when the program read its configuration files.
	opts := fmt.Sprintf("mode=0700,size=%d", spec.tmpfsSize())
	if err := unix.Mount("tmpfs", work, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_STRICTATIME, opts); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", work, err)
	}
	if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
		return fmt.Errorf("set host name: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("make the lab init not dumpable: %w", err)
	}
	return nil
}

// setupNamespaceNetwork sets IPv6 as asked, brings lo up with the
// nameserver addresses, and opens every port to the unprivileged program
// (the namespace is the lab's own: a program that binds port 80 needs no
// capability for it). It returns lo's interface index.
func setupNamespaceNetwork(spec Spec) (int, error) {
	if err := setIPv6(spec.IPv6); err != nil {
		return 0, err
	}
	ifindex, err := setupNetwork(fakeAddrs(spec))
	if err != nil {
		return 0, err
	}
	const ports = "/proc/sys/net/ipv4/ip_unprivileged_port_start"
	if err := os.WriteFile(ports, []byte("0\n"), 0o644); err != nil && !os.IsNotExist(err) {
		return 0, fmt.Errorf("set %s: %w", ports, err)
	}
	return ifindex, nil
}

// configureRoot makes /etc/resolv.conf, /etc/hosts and /etc/nsswitch.conf
// what the spec says and adds the spec's host files.
func configureRoot(r *rootFS, spec Spec) error {
	for _, f := range []struct {
		path string
		spec *model.File
	}{{"/etc/resolv.conf", spec.ResolvConf}, {"/etc/hosts", spec.Hosts}, {"/etc/nsswitch.conf", spec.NSSwitch}} {
		if err := applyFile(r, f.path, f.spec); err != nil {
			return fmt.Errorf("prepare %s: %w", f.path, err)
		}
	}
	for _, a := range spec.Add {
		if err := addFile(r, a); err != nil {
			return err
		}
	}
	return nil
}

// describeRun finds the program in the root and records what it will see.
func describeRun(r *rootFS, spec Spec) (*Result, error) {
	prog, err := findProgram(r, spec.Argv[0], envValue(spec.Env, "PATH", DefaultPath))
	if err != nil {
		return nil, err
	}
	interp, err := interpreter(r, prog)
	if err != nil {
		return nil, err
	}
	return &Result{
		Program:     prog,
		Interpreter: interp,
		Argv:        spec.Argv,
		Env:         spec.Env,
		Hostname:    spec.Hostname,
		IPv6:        readIPv6(),
		ResolvConf:  seeFile(r, "/etc/resolv.conf", spec.ResolvConf),
		Hosts:       seeFile(r, "/etc/hosts", spec.Hosts),
		NSSwitch:    seeFile(r, "/etc/nsswitch.conf", spec.NSSwitch),
		MDNSAllow:   seeFile(r, "/etc/mdns.allow", nil),
		NSSModules:  nssModules(r),
	}, nil
}

// runProgram runs the program contained in rootDir until it exits, its
// output matches spec.Until, or the timeout, and records its output, exit
// status, start and total time in res.
func runProgram(spec Spec, rootDir string, res *Result) error {
	until, err := untilPatterns(spec)
	if err != nil {
		return err
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	cmd, err := startContained(execRequest{
		Root: rootDir, Path: res.Program, Argv: spec.Argv, Env: spec.Env, Caps: spec.Caps, Allow: spec.Allow,
	}, outW, errW)
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return err
	}
	t0 := time.Now()
	res.Started = t0
	out := &output{until: until, matched: make(chan time.Time, 1)}
	var readers sync.WaitGroup
	readers.Add(2)
	go out.read(&readers, outR, "stdout", t0)
	go out.read(&readers, errR, "stderr", t0)
	stop, ready := make(chan struct{}), make(chan time.Time, 1)
	var watch sync.WaitGroup
	if spec.Ready != nil {
		watch.Add(1)
		go func() { defer watch.Done(); watchReady(*spec.Ready, t0, res, ready, stop) }()
	}
	end, ended, waitErr := waitProgram(cmd, out.matched, ready, timeout)
	close(stop)
	watch.Wait()
	res.Ended = ended
	res.Total = model.Seconds(end.Sub(t0))
	// The output pipes close when the program exits, unless a child of it
	// still holds them: give the readers a moment, no more.
	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(200 * time.Millisecond):
	}
	res.ExitCode = cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Signal = unix.SignalName(ws.Signal())
	}
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		return fmt.Errorf("wait for %s: %w", res.Program, waitErr)
	}
	res.Output = out.lines()
	if ended == "until" {
		res.Matched = out.match
	}
	return nil
}

// waitProgram waits for the program to exit, a line to match (matched)
// or the timeout, and then for the program to be gone: it kills the
// program's process group unless it exited by itself (anything that left
// the group dies with the PID namespace when the init exits). It returns
// when the run ended and how ("exit", "until", EndedReady, "timeout").
func waitProgram(cmd *exec.Cmd, matched, ready <-chan time.Time, timeout time.Duration) (time.Time, string, error) {
	exited := make(chan time.Time, 1)
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		exited <- time.Now()
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var end time.Time
	var ended string
	select {
	case end = <-exited:
		ended = "exit"
	case end = <-matched:
		ended = "until"
	case end = <-ready:
		ended = EndedReady
	case end = <-timer.C:
		ended = "timeout"
	}
	if ended != "exit" {
		killGroup(cmd.Process.Pid)
		<-exited
	}
	return end, ended, waitErr
}

// output collects the program's output lines with their time offsets and
// watches them for the patterns that end the run.
type output struct {
	until   []untilPattern
	matched chan time.Time
	mu      sync.Mutex
	ls      []Line
	once    sync.Once
	match   *Matched // the line that matched first (set once, before matched is sent)
}

func (o *output) read(wg *sync.WaitGroup, r *os.File, stream string, t0 time.Time) {
	defer wg.Done()
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLineBytes)
	for sc.Scan() {
		at := time.Now()
		text := sc.Text()
		o.mu.Lock()
		if len(o.ls) < maxOutputLines {
			o.ls = append(o.ls, Line{Offset: model.Seconds(at.Sub(t0)), Stream: stream, Text: text})
		}
		o.mu.Unlock()
		for _, p := range o.until {
			if p.re.MatchString(text) {
				o.once.Do(func() {
					o.match = &Matched{Pattern: p.name, Stream: stream, Text: text}
					o.matched <- at
				})
				break
			}
		}
	}
	io.Copy(io.Discard, r) //nolint:errcheck // drain an over-long line's rest
}

func (o *output) lines() []Line {
	o.mu.Lock()
	defer o.mu.Unlock()
	ls := append([]Line(nil), o.ls...)
	return ls
}

// prepareRoot makes the directory the program will be chrooted into and
// returns it: the host's root seen read-only with private /etc and /tmp
// (see hostView), an overlay over a directory root, or a tarball unpacked
// into the run's tmpfs; then the lab's own /dev, /proc and /sys inside
// it. Nothing given is ever written to.
func prepareRoot(spec Spec, work string) (string, error) {
	root := filepath.Join(work, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return "", err
	}
	var kind target.Kind
	comp := ""
	if spec.Root != "" {
		k, c, err := target.ClassifyPath(spec.Root, target.Limits{MaxEntries: maxTarEntries})
		if err != nil {
			return "", inputErrorf("root %s: %v", spec.Root, unwrapPathError(err))
		}
		kind, comp = k, c
	}
	var err error
	switch kind {
	case "":
		err = hostView(root, work, spec.Rootless)
	case target.KindDir:
		err = overlay(root, spec.Root, filepath.Join(work, "upper"), filepath.Join(work, "ovl-work"), spec.Rootless)
		if err != nil {
			err = fmt.Errorf("overlay over root %s: %w", spec.Root, err)
		}
	case target.KindRootfsTar:
		err = unpackRoot(root, spec.Root, spec.tmpfsSize())
		if err == nil && comp != "none" {
			err = refuseImageArchive(root, spec.Root, comp)
		}
	default:
		err = unpackImage(root, spec.Root, kind, filepath.Join(work, "image"), spec.tmpfsSize())
	}
	if err != nil {
		return "", err
	}
	r, err := openRootFS(root)
	if err != nil {
		return "", err
	}
	defer r.close()
	if err := systemMounts(r); err != nil {
		return "", err
	}
	if err := shareDirs(r, spec.Share); err != nil {
		return "", err
	}
	return root, nil
}

// overlay mounts lower at dir with a private upper layer, so the program
// can change what it sees and lower stays untouched.
func overlay(dir, lower, upper, wd string, rootless bool) error {
	for _, d := range []string{upper, wd} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	o := "lowerdir=" + escapeOverlay(lower) + ",upperdir=" + escapeOverlay(upper) + ",workdir=" + escapeOverlay(wd)
	if rootless {
		o += ",userxattr"
	}
	return unix.Mount("overlay", dir, "overlay", 0, o)
}

// unpackRoot unpacks the root archive at src into dir (in the run's
// tmpfs, whose size bounds what it may expand to).
func unpackRoot(dir, src string, limit int64) error {
	f, err := os.Open(src)
	if err != nil {
		return inputErrorf("root %s: %v", src, err)
	}
	defer f.Close()
	r, err := openRootFS(dir)
	if err != nil {
		return err
	}
	defer r.close()
	if err := extractTar(r, f, limit); err != nil {
		return inputErrorf("root %s: %v", src, err)
	}
	return nil
}

// escapeOverlay escapes the characters overlayfs options treat specially.
func escapeOverlay(p string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`, `:`, `\:`).Replace(p)
}

// applyFile makes the root's file at p what f says (nil: as the root has it).
func applyFile(r *rootFS, p string, f *model.File) error {
	switch {
	case f == nil:
		return nil
	case f.Missing:
		return r.remove(p)
	default:
		return r.writeFile(p, f.Data, 0o644)
	}
}

// addFile bind-mounts the host file a.Src over a new empty file at a.Dst
// inside the root (the mount exists only in the lab's mount namespace).
func addFile(r *rootFS, a Add) error {
	src, err := os.Open(a.Src)
	if err != nil {
		return inputErrorf("--add %s: %v", a.Src, unwrapPathError(err))
	}
	defer src.Close()
	if st, err := src.Stat(); err != nil || !st.Mode().IsRegular() {
		return inputErrorf("--add %s: not a regular file", a.Src)
	}
	dst, err := r.create(a.Dst, 0o755)
	if err != nil {
		return fmt.Errorf("--add %s: %w", a.Dst, err)
	}
	defer dst.Close()
	target := fmt.Sprintf("/proc/self/fd/%d", dst.Fd())
	source := fmt.Sprintf("/proc/self/fd/%d", src.Fd())
	if err := unix.Mount(source, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("--add %s: bind mount: %w", a.Src, err)
	}
	return nil
}

// libDirs are where glibc looks for NSS modules (its trusted directories
// on the architectures nsscope knows).
var libDirs = []string{"/lib", "/lib64", "/usr/lib", "/usr/lib64",
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu"}

// nssModules lists the NSS service modules present in the root.
func nssModules(r *rootFS) []string {
	seen := map[string]bool{}
	for _, d := range libDirs {
		fd, err := r.open(d, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			continue
		}
		f := os.NewFile(uintptr(fd), d)
		ents, _ := f.ReadDir(-1)
		f.Close()
		for _, e := range ents {
			name, ok := strings.CutPrefix(e.Name(), "libnss_")
			if mod, ok2 := strings.CutSuffix(name, ".so.2"); ok && ok2 && mod != "" {
				seen[mod] = true
			}
		}
	}
	mods := []string{} // known, even when empty
	for m := range seen {
		mods = append(mods, m)
	}
	sort.Strings(mods)
	return mods
}

// seeFile reads back what the program will see at p; put is what the spec
// put there (nil: the root's own file), whose Origin it keeps.
func seeFile(r *rootFS, p string, put *model.File) model.File {
	sf := model.File{Path: p}
	if put != nil {
		sf.Origin = put.Origin
	}
	data, err := r.readFile(p, 1<<20)
	switch {
	case errors.Is(err, os.ErrNotExist):
		sf.Missing = true
	case err != nil:
		sf.ReadErr = errString(err)
	default:
		sf.Data = data
	}
	return sf
}

// envValue returns the value of key in env (KEY=VALUE list), or def.
func envValue(env []string, key, def string) string {
	v := def
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// killGroup kills the process group led by pid.
func killGroup(pid int) {
	unix.Kill(-pid, unix.SIGKILL) //nolint:errcheck // gone already is fine
}
