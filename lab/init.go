package lab

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsscope/nsscope/model"
)

// InitArg is the argument by which a re-executed binary knows it is the
// lab's namespace init (see [Runner]). It is not a user-facing flag.
const InitArg = "--nsscope-internal-lab-init"

// initRequest is what Run sends the init on its standard input.
type initRequest struct {
	Spec Spec   `json:"spec"`
	Work string `json:"work"`
}

// initReply is what the init writes on its standard output.
type initReply struct {
	Result *Result `json:"result,omitempty"`
	Error  string  `json:"error,omitempty"`
	Input  bool    `json:"input_error,omitempty"`
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
func InitMain(in io.Reader, out io.Writer) int {
	var req initRequest
	var rep initReply
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		rep.Error = fmt.Sprintf("lab init: bad request: %v", err)
	} else if res, err := runInit(req); err != nil {
		rep.Error = err.Error()
		rep.Input = IsInputError(err)
	} else {
		rep.Result = res
	}
	if err := json.NewEncoder(out).Encode(rep); err != nil {
		return 3
	}
	return 0
}

func runInit(req initRequest) (*Result, error) {
	start := time.Now()
	spec := req.Spec
	// Nothing mounted from here on may propagate to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("make mounts private: %w", err)
	}
	// Everything the run writes lives in this tmpfs, which vanishes with
	// the mount namespace however the lab ends.
	// strictatime: every read of a file sets its access time, which is how
	// the timeline shows when the program read its configuration files.
	if err := unix.Mount("tmpfs", req.Work, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_STRICTATIME, "mode=0700"); err != nil {
		return nil, fmt.Errorf("mount tmpfs on %s: %w", req.Work, err)
	}
	if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
		return nil, fmt.Errorf("set host name: %w", err)
	}
	if err := setIPv6(spec.IPv6); err != nil {
		return nil, err
	}
	ifindex, err := setupNetwork(fakeAddrs(spec))
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
	for _, f := range []struct {
		path string
		spec File
	}{{"/etc/resolv.conf", spec.ResolvConf}, {"/etc/hosts", spec.Hosts}, {"/etc/nsswitch.conf", spec.NSSwitch}} {
		if err := applyFile(r, f.path, f.spec); err != nil {
			return nil, fmt.Errorf("prepare %s: %w", f.path, err)
		}
	}
	for _, a := range spec.Add {
		if err := addFile(r, a); err != nil {
			return nil, err
		}
	}
	if rootDir != "/" {
		if err := basicMounts(r); err != nil {
			return nil, err
		}
	}
	pinned, err := pinFiles(r, req.Work)
	if err != nil {
		return nil, err
	}
	prog, err := findProgram(r, spec.Argv[0], envValue(spec.Env, "PATH", DefaultPath))
	if err != nil {
		return nil, err
	}
	interp, err := interpreter(r, prog)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Program:     prog,
		Interpreter: interp,
		Argv:        spec.Argv,
		Env:         spec.Env,
		Hostname:    spec.Hostname,
		IPv6:        readIPv6(),
		ResolvConf:  seeFile(r, "/etc/resolv.conf", spec.ResolvConf.Origin),
		Hosts:       seeFile(r, "/etc/hosts", spec.Hosts.Origin),
		NSSwitch:    seeFile(r, "/etc/nsswitch.conf", spec.NSSwitch.Origin),
		MDNSAllow:   seeFile(r, "/etc/mdns.allow", ""),
		NSSModules:  nssModules(r),
	}

	rec := &recorder{}
	var servers []*fakeServer
	var refused []netip.Addr
	// A trace relays to real nameservers instead (trace.go).
	tr, err := startTrace(spec, rec, res)
	if err != nil {
		return nil, err
	}
	defer tr.stop()
	for i, a := range fakeAddrs(spec) {
		b := spec.Scenario.For(i)
		res.Servers = append(res.Servers, Server{Addr: a, Behavior: b.String()})
		if b.Kind == model.Refuse {
			refused = append(refused, a)
		}
		s, err := startServer(a, b, rec)
		if err != nil {
			return nil, err
		}
		defer s.stop()
		servers = append(servers, s)
	}
	var sn *sniffer
	if len(refused) > 0 {
		if sn, err = startSniffer(ifindex, refused, rec); err != nil {
			return nil, err
		}
		defer sn.stop()
	}

	var until *regexp.Regexp
	if spec.Until != "" {
		if until, err = regexp.Compile(spec.Until); err != nil {
			return nil, inputErrorf("--until: %v", err)
		}
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:   prog,
		Args:   spec.Argv,
		Env:    spec.Env,
		Dir:    "/",
		Stdout: outW,
		Stderr: errW,
		SysProcAttr: &syscall.SysProcAttr{
			Pdeathsig: syscall.SIGKILL,
			Setpgid:   true,
		},
	}
	if rootDir != "/" {
		cmd.SysProcAttr.Chroot = rootDir
	}
	out := &output{until: until, matched: make(chan time.Time, 1)}
	res.Setup = time.Since(start)
	resetReads(pinned)
	t0 := time.Now()
	res.Started = t0
	if err := cmd.Start(); err != nil {
		outW.Close()
		errW.Close()
		return nil, inputErrorf("start %s: %v", prog, err)
	}
	outW.Close()
	errW.Close()
	var readers sync.WaitGroup
	readers.Add(2)
	go out.read(&readers, outR, "stdout", t0)
	go out.read(&readers, errR, "stderr", t0)
	exited := make(chan time.Time, 1)
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		exited <- time.Now()
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var end time.Time
	select {
	case end = <-exited:
		res.Ended = "exit"
	case end = <-out.matched:
		res.Ended = "until"
	case end = <-timer.C:
		res.Ended = "timeout"
	}
	if res.Ended != "exit" {
		// Kill the whole process group; anything that escaped it dies
		// with this PID namespace when the init exits.
		unix.Kill(-cmd.Process.Pid, unix.SIGKILL) //nolint:errcheck
		<-exited
	}
	res.Total = end.Sub(t0)
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
		return nil, fmt.Errorf("wait for %s: %w", prog, waitErr)
	}
	res.Output = out.lines()
	res.FileEvents = lastReads(r, t0)
	for _, s := range servers {
		s.drain(200 * time.Millisecond)
	}
	tr.drain(200 * time.Millisecond)
	if sn != nil {
		sn.stop() // reads what is queued first
	}
	res.Queries = rec.queries(t0)
	return res, nil
}

// output collects the program's output lines with their time offsets and
// watches them for the Until pattern.
type output struct {
	until   *regexp.Regexp
	matched chan time.Time
	mu      sync.Mutex
	ls      []Line
	once    sync.Once
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
			o.ls = append(o.ls, Line{Offset: at.Sub(t0), Stream: stream, Text: text})
		}
		o.mu.Unlock()
		if o.until != nil && o.until.MatchString(text) {
			o.once.Do(func() { o.matched <- at })
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
// returns it. The host root gets an overlay over /etc (so files can be
// replaced or removed privately); a directory root gets an overlay of its
// own; a tarball is unpacked into the run's tmpfs. Nothing given is ever
// written to.
func prepareRoot(spec Spec, work string) (string, error) {
	ovlOpts := func(lower, upper, wd string) string {
		o := "lowerdir=" + escapeOverlay(lower) + ",upperdir=" + escapeOverlay(upper) + ",workdir=" + escapeOverlay(wd)
		if spec.Rootless {
			o += ",userxattr"
		}
		return o
	}
	mkdirs := func(ds ...string) error {
		for _, d := range ds {
			if err := os.Mkdir(d, 0o755); err != nil {
				return err
			}
		}
		return nil
	}
	if spec.Root == "" {
		upper, wd := filepath.Join(work, "etc-upper"), filepath.Join(work, "etc-work")
		if err := mkdirs(upper, wd); err != nil {
			return "", err
		}
		if err := unix.Mount("overlay", "/etc", "overlay", 0, ovlOpts("/etc", upper, wd)); err != nil {
			return "", fmt.Errorf("overlay over /etc: %w", err)
		}
		return "/", nil
	}
	st, err := os.Stat(spec.Root)
	if err != nil {
		return "", inputErrorf("root %s: %v", spec.Root, err)
	}
	root := filepath.Join(work, "root")
	if st.IsDir() {
		upper, wd := filepath.Join(work, "upper"), filepath.Join(work, "ovl-work")
		if err := mkdirs(upper, wd, root); err != nil {
			return "", err
		}
		if err := unix.Mount("overlay", root, "overlay", 0, ovlOpts(spec.Root, upper, wd)); err != nil {
			return "", fmt.Errorf("overlay over root %s: %w", spec.Root, err)
		}
		return root, nil
	}
	f, err := os.Open(spec.Root)
	if err != nil {
		return "", inputErrorf("root %s: %v", spec.Root, err)
	}
	defer f.Close()
	if err := mkdirs(root); err != nil {
		return "", err
	}
	r, err := openRootFS(root)
	if err != nil {
		return "", err
	}
	defer r.close()
	if err := extractTar(r, f); err != nil {
		return "", inputErrorf("root %s: %v", spec.Root, err)
	}
	return root, nil
}

// escapeOverlay escapes the characters overlayfs options treat specially.
func escapeOverlay(p string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`, `:`, `\:`).Replace(p)
}

// applyFile makes the root's file at p what f says.
func applyFile(r *rootFS, p string, f File) error {
	switch {
	case f.Keep:
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

// basicMounts gives a chroot what ordinary programs expect: the host's
// /dev/null, /dev/zero, /dev/random and /dev/urandom bound in, and /proc
// of the lab's own PID namespace. Both live in the private mount
// namespace only.
func basicMounts(r *rootFS) error {
	for _, dev := range []string{"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"} {
		f, err := r.create(dev, 0o666)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", dev, err)
		}
		target := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
		err = unix.Mount(dev, target, "", unix.MS_BIND, "")
		f.Close()
		if err != nil {
			return fmt.Errorf("bind %s: %w", dev, err)
		}
	}
	fd, err := r.dir("/proc")
	if err != nil {
		return fmt.Errorf("prepare /proc: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Mount("proc", fmt.Sprintf("/proc/self/fd/%d", fd), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
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

// seeFile reads back what the program will see at p.
func seeFile(r *rootFS, p, origin string) SeenFile {
	sf := SeenFile{Path: p, Origin: origin}
	data, err := r.readFile(p, 1<<20)
	switch {
	case errors.Is(err, os.ErrNotExist):
		sf.Missing = true
	case err != nil:
		sf.ReadErr = errString(err)
	default:
		sf.Data = string(data)
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
