package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/nsscope/nsscope/model"
)

// Spec is one lab run.
type Spec struct {
	// Nameservers are the fake servers' addresses, in resolv.conf order
	// (1 to model.MaxNameservers). Addresses outside 127.0.0.0/8 and ::1 are added
	// to lo inside the network namespace, where nothing else can see them.
	Nameservers []netip.Addr `json:"nameservers"`
	// Scenario is how each server behaves (see model.Scenario.For).
	Scenario model.Scenario `json:"scenario"`
	// ResolvConf, Hosts and NSSwitch are what the program finds at
	// /etc/resolv.conf, /etc/hosts and /etc/nsswitch.conf: nil leaves the
	// root's own file; a File with Missing removes it, and any other File
	// puts its Data there (in the lab's private view only). The field names
	// the path, so File.Path is not read; File.Origin is kept for citing the
	// file in the result. ResolvConf should list exactly Nameservers.
	ResolvConf *model.File `json:"resolv_conf,omitempty"`
	Hosts      *model.File `json:"hosts,omitempty"`
	NSSwitch   *model.File `json:"nsswitch_conf,omitempty"`
	// Root is the program's root: "" for the host's root (with private
	// copies of the /etc files), a directory or a tar (or tar.gz) file.
	// It is never modified.
	Root string `json:"root,omitempty"`
	// Share are host directories the program sees live at the same path
	// and may write (bound into its root): with the host's root, what the
	// program sees of the host is otherwise read-only, and /etc and /tmp
	// are private copies whose later host changes it does not see. A
	// shared directory is the caller's choice to open: its sockets and
	// files are the program's to use.
	Share []string `json:"share,omitempty"`
	// Add puts host files into the program's root (only with Root).
	Add []Add `json:"add,omitempty"`
	// Argv is the program and its arguments; Argv[0] is looked up in the
	// root's PATH (from Env) when it has no slash.
	Argv []string `json:"argv"`
	// Env is the program's whole environment.
	Env []string `json:"env"`
	// Hostname is the host name inside the lab (its own UTS namespace).
	Hostname string `json:"hostname"`
	// IPv6 sets the namespace's disable_ipv6 (all, default and lo)
	// before the program starts; IPv6Default leaves the kernel's.
	IPv6 IPv6 `json:"ipv6,omitempty"`
	// Caps are the capabilities the program keeps (names as ParseCap
	// reads them); none by default. See the containment notes in
	// contain.go.
	Caps []string `json:"caps,omitempty"`
	// Allow lifts groups of the system calls the lab refuses (the names
	// of SeccompGroups: "setns", "unshare", "mount", "bpf", "ptrace",
	// "kexec", "modules", "reboot"), for a test that needs one.
	Allow []string `json:"allow,omitempty"`
	// Until, if set, is a regular expression: the run ends (and its total
	// time is taken) when a line of the program's output matches it.
	Until string `json:"until,omitempty"`
	// UntilOK and UntilFail end the run like Until, and say what the
	// matched line means: the lookup succeeded, or failed (see Reading).
	UntilOK   string `json:"until_ok,omitempty"`
	UntilFail string `json:"until_fail,omitempty"`
	// Ready, if set, is polled from inside the lab while the program runs:
	// when it answers, Result.Ready records it and, after its grace, the
	// run ends (Ended "ready").
	Ready *Probe `json:"ready,omitempty"`
	// Sidecars are started before the program and killed after it (see
	// Sidecar).
	Sidecars []Sidecar `json:"sidecars,omitempty"`
	// Timeout bounds the program's run; zero means DefaultTimeout.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Rootless runs the lab in a user namespace (automatic when not root).
	Rootless bool `json:"rootless,omitempty"`
	// TmpfsSize bounds the run's tmpfs, which holds an unpacked --root,
	// the overlays' private layers and the lab's copies of the watched
	// files; zero means DefaultTmpfsSize.
	TmpfsSize int64 `json:"tmpfs_size,omitempty"`
	// TempDir is where the run's private directory is made ("" = os.TempDir).
	TempDir string `json:"temp_dir,omitempty"`
	// Trace, if set, replaces the fake servers by relays to real ones
	// (see trace.go).
	Trace *Trace `json:"trace,omitempty"`
}

// Add is one host file made visible inside the program's root.
type Add struct {
	// Src is the file on the host; Dst its path inside the root.
	Src string `json:"src"`
	Dst string `json:"dst"`
}

// DefaultTimeout bounds a run when Spec.Timeout is zero.
const DefaultTimeout = 10 * time.Minute

// DefaultTmpfsSize bounds the run's tmpfs when Spec.TmpfsSize is zero.
const DefaultTmpfsSize = 1 << 30

// ParseSize reads a byte count as --tmpfs-size takes it: a number with an
// optional suffix k, M, G (powers of 1000) or Ki, Mi, Gi (powers of 1024).
func ParseSize(s string) (int64, error) {
	num := strings.TrimRight(s, "kKMGiB")
	unit := s[len(num):]
	mult, ok := map[string]int64{"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n <= 0 || n > (1<<50)/mult {
		return 0, inputErrorf("want a positive size such as 512Mi or 4Gi, got %q", s)
	}
	return n * mult, nil
}

func (s Spec) tmpfsSize() int64 {
	if s.TmpfsSize > 0 {
		return s.TmpfsSize
	}
	return DefaultTmpfsSize
}

// DefaultHostname is the lab's host name unless told otherwise.
const DefaultHostname = "nsscope-lab"

// DefaultPath is the program's PATH when Env has none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Line is one line of the program's output.
type Line struct {
	Offset model.Seconds `json:"offset_seconds"`
	Stream string        `json:"stream"` // stdout or stderr
	Text   string        `json:"text"`
}

// Server describes one fake nameserver of a run.
type Server struct {
	Addr     netip.Addr `json:"addr"`
	Behavior string     `json:"behavior"`
}

// Result is what a run observed.
type Result struct {
	Servers []Server `json:"servers"`
	// Queries are the DNS messages the servers received, in time order.
	Queries []Query `json:"queries"`
	// Output is the program's output, line by line.
	Output []Line `json:"output"`
	// FileEvents say when the program last read /etc/resolv.conf,
	// /etc/nsswitch.conf and /etc/hosts (those it read), in time order.
	FileEvents []FileEvent `json:"file_events"`
	// Program is the resolved path of Argv[0] inside the root and
	// Interpreter its ELF interpreter ("" for static binaries).
	Program     string   `json:"program"`
	Interpreter string   `json:"interpreter,omitempty"`
	Argv        []string `json:"argv"`
	Env         []string `json:"env"`
	Hostname    string   `json:"hostname"`
	// IPv6 is lo's IPv6 state as the program found it (on or off).
	IPv6 IPv6 `json:"ipv6"`
	// ResolvConf, Hosts and NSSwitch are the files the program saw.
	ResolvConf model.File `json:"resolv_conf"`
	Hosts      model.File `json:"hosts"`
	NSSwitch   model.File `json:"nsswitch_conf"`
	MDNSAllow  model.File `json:"mdns_allow"`
	// NSSModules are the glibc NSS service modules the root has
	// (libnss_NAME.so.2 in its library directories: "files", "dns",
	// "mdns4_minimal", ...), sorted; glibc 2.36 also has files and dns
	// built in. A source in nsswitch.conf without its module is skipped.
	NSSModules []string `json:"nss_modules"`
	// Ended says how the run ended: "exit", "until" (output matched
	// Spec.Until; the program was then killed), "ready" (Spec.Ready
	// answered; killed after its grace) or "timeout".
	Ended string `json:"ended"`
	// Ready is when Spec.Ready first answered (nil: it never did).
	Ready *Readiness `json:"ready,omitempty"`
	// Matched is the line that ended the run (Ended "until").
	Matched *Matched `json:"matched,omitempty"`
	// ExitCode is the program's exit status (-1 when killed by a signal,
	// Signal then names it).
	ExitCode int    `json:"exit_code"`
	Signal   string `json:"signal,omitempty"`
	// Started is the wall-clock time the program was started: the origin
	// of every offset in the result.
	Started time.Time `json:"started"`
	// Total is the time from the program's start to its exit (or to the
	// matching line with Until).
	Total model.Seconds `json:"total_seconds"`
	// Setup is the lab's own time before the program started (namespace
	// set-up, root preparation, servers), as measured by the init.
	Setup model.Seconds `json:"setup_seconds"`
}

// InputError is a problem with what the lab was asked to do (a missing
// program, a bad root, a resolv.conf the lab cannot mirror, no way to
// create namespaces); the command line reports it with exit status 2.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErrorf(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}

// IsInputError reports whether err is (or wraps) an InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}
