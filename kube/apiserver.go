package kube

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsscope/nsscope/model"
)

// Facts about kube-apiserver's loopback client (libc-k8s-resolver.md §A).
const (
	// LoopbackDialTimeout is client-go's dial timeout; it covers the name
	// lookup and the TCP connect.
	LoopbackDialTimeout = 30 * time.Second
	// RepairWait is how long newer apiservers (1.25+) wait for the first
	// successful IP allocation repair before giving up.
	RepairWait = time.Minute
	// DefaultSecurePort is --secure-port's default.
	DefaultSecurePort = 6443
)

// APIServerFlags are the kube-apiserver flags that decide the loopback host.
type APIServerFlags struct {
	BindAddress      string `json:"bind_address"`
	BindAddressSet   bool   `json:"bind_address_set"`
	AdvertiseAddress string `json:"advertise_address,omitempty"`
	SecurePort       int    `json:"secure_port"`
}

// StaticAPIServer is the workload of a kube-apiserver described by its
// flags alone: a hostNetwork static pod in kube-system with dnsPolicy
// ClusterFirst, as kubeadm writes it, running image (e.g.
// "kube-apiserver:v1.20.15") with --bind-address and --secure-port.
func StaticAPIServer(bind string, port int, image string) *Workload {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-apiserver", Namespace: "kube-system"},
		Spec: corev1.PodSpec{HostNetwork: true, DNSPolicy: corev1.DNSClusterFirst, Containers: []corev1.Container{{
			Name: "kube-apiserver", Image: image,
			Command: []string{"kube-apiserver", "--bind-address=" + bind, "--secure-port=" + strconv.Itoa(port)},
		}}},
	}
	return &Workload{Source: Source{File: "flags", Item: -1}, Kind: "Pod", Name: pod.Name, Namespace: pod.Namespace, Pod: pod,
		Notes: []string{"no manifest: a hostNetwork static pod with dnsPolicy ClusterFirst, as kubeadm writes it"}}
}

// IsAPIServer reports whether a container runs kube-apiserver: its command
// (or first argument) is the kube-apiserver binary, or its image is a
// kube-apiserver image.
func IsAPIServer(c *corev1.Container) bool {
	for _, s := range argv(c) {
		if path.Base(s) == "kube-apiserver" {
			return true
		}
		if !strings.HasPrefix(s, "-") {
			break
		}
	}
	if len(c.Command) > 0 && path.Base(c.Command[0]) == "kube-apiserver" {
		return true
	}
	name := c.Image
	if i := strings.IndexAny(name, "@"); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	return path.Base(name) == "kube-apiserver" || strings.HasPrefix(path.Base(name), "kube-apiserver-")
}

// argv is the container's command and args; a shell command line
// ("sh -c 'exec kube-apiserver --bind-address=...'") is split into words
// the way the shell would for these plain flags.
func argv(c *corev1.Container) []string {
	var out []string
	all := append(append([]string(nil), c.Command...), c.Args...)
	shell := len(all) > 2 && (path.Base(all[0]) == "sh" || path.Base(all[0]) == "bash") && all[1] == "-c"
	for i, a := range all {
		if shell && i >= 2 {
			for _, w := range strings.Fields(a) {
				if w != "exec" {
					out = append(out, strings.Trim(w, `"'`))
				}
			}
			continue
		}
		if shell && i < 2 {
			continue
		}
		out = append(out, a)
	}
	return out
}

// ParseAPIServerFlags reads --bind-address, --advertise-address and
// --secure-port from the container's command and args, in both the
// --flag=value and --flag value forms; the last occurrence wins, as with
// pflag.
func ParseAPIServerFlags(c *corev1.Container) (APIServerFlags, error) {
	f := APIServerFlags{BindAddress: "0.0.0.0", SecurePort: DefaultSecurePort}
	argv := argv(c)
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "--") && !strings.HasPrefix(a, "-") {
			continue
		}
		name := strings.TrimLeft(a, "-")
		val, has := "", false
		if j := strings.IndexByte(name, '='); j >= 0 {
			name, val, has = name[:j], name[j+1:], true
		}
		switch name {
		case "bind-address", "advertise-address", "secure-port":
		default:
			continue
		}
		if !has {
			if i+1 >= len(argv) {
				return f, fmt.Errorf("--%s has no value", name)
			}
			i++
			val = argv[i]
		}
		switch name {
		case "bind-address":
			if val != "" && net.ParseIP(val) == nil {
				return f, fmt.Errorf("--bind-address=%q is not an IP address", val)
			}
			f.BindAddress, f.BindAddressSet = val, true
			if val == "" {
				f.BindAddress = "0.0.0.0"
			}
		case "advertise-address":
			f.AdvertiseAddress = val
		case "secure-port":
			p, err := strconv.Atoi(val)
			if err != nil || p < 0 || p > 65535 {
				return f, fmt.Errorf("--secure-port=%q is not a port", val)
			}
			f.SecurePort = p
		}
	}
	return f, nil
}

var imageTagVersion = regexp.MustCompile(`:v?(\d+\.\d+(\.\d+)?)[^/:]*$`)

// VersionFromImage reads a Kubernetes version from an image tag such as
// registry.k8s.io/kube-apiserver:v1.20.15.
func VersionFromImage(image string) (model.Version, bool) {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	m := imageTagVersion.FindStringSubmatch(image)
	if m == nil {
		return model.Version{}, false
	}
	v, err := model.ParseVersion(m[1])
	if err != nil {
		return model.Version{}, false
	}
	return v, true
}

// goForKube is the Go release each Kubernetes minor was built with. ≤1.20
// → Go ≤1.15 and 1.21 → Go 1.16 are documented (kubernetes PRs #103677,
// #104215, #100106); the rest follow the release notes' build toolchain and
// only matter through the behaviour the model keys on Go versions.
var goForKube = map[int]model.Version{
	10: model.V(1, 9, -1), 11: model.V(1, 10, -1), 12: model.V(1, 10, -1), 13: model.V(1, 11, -1),
	14: model.V(1, 12, -1), 15: model.V(1, 12, -1), 16: model.V(1, 13, -1), 17: model.V(1, 13, -1),
	18: model.V(1, 13, -1), 19: model.V(1, 15, -1), 20: model.V(1, 15, -1), 21: model.V(1, 16, -1),
	22: model.V(1, 16, -1), 23: model.V(1, 17, -1), 24: model.V(1, 18, -1), 25: model.V(1, 19, -1),
	26: model.V(1, 19, -1), 27: model.V(1, 20, -1), 28: model.V(1, 20, -1), 29: model.V(1, 21, -1),
	30: model.V(1, 22, -1), 31: model.V(1, 22, -1), 32: model.V(1, 23, -1), 33: model.V(1, 24, -1),
	34: model.V(1, 24, -1), 35: model.V(1, 25, -1), 36: model.V(1, 25, -1), 37: model.V(1, 26, -1),
}

// GoForKubernetes returns the Go release a Kubernetes release's server
// binaries were built with, and false when the release is outside the table.
func GoForKubernetes(v model.Version) (model.Version, bool) {
	if v.Major != 1 {
		return model.Version{}, false
	}
	g, ok := goForKube[v.Minor]
	return g, ok
}

// Loopback is the host and port kube-apiserver's own client dials.
type Loopback struct {
	// Listener is what the listener reports (Listener.Addr()).
	Listener string `json:"listener"`
	// Host is what the client dials: an IP literal, or "localhost".
	Host string `json:"host"`
	Port int    `json:"port"`
	// Lookup reports that Host is a name the dial must resolve.
	Lookup bool         `json:"lookup"`
	Steps  []model.Step `json:"steps"`
}

// URL is the loopback client's base URL.
func (l Loopback) URL() string {
	return "https://" + net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
}

// LoopbackHost emulates k8s.io/apiserver's loopback host choice for an
// apiserver of version v (zero: a current one) bound per flags on a node
// with addrs and IPv6 state st (§A.1-A.2):
//
//   - before 1.7, a bind address of 0.0.0.0 becomes "localhost";
//   - 1.7-1.8 take the first loopback address of any family, else
//     "localhost";
//   - from 1.9 the host comes from the listener's address, where a "tcp"
//     listener on 0.0.0.0 reports [::], and :: is handled like 0.0.0.0;
//   - from 1.12 the loopback must be of the listener's family, so [::] on a
//     node without ::1 becomes "localhost".
//
// Any other bind address is used as given.
func LoopbackHost(v model.Version, f APIServerFlags, addrs []IfAddr, st IPv6State) Loopback {
	lb := Loopback{Port: f.SecurePort}
	step := func(key, value, reason string) {
		lb.Steps = append(lb.Steps, model.Step{Key: key, Value: value, Reason: reason})
	}
	bindWhy := "--bind-address default"
	if f.BindAddressSet {
		bindWhy = "--bind-address in the manifest"
	}
	step("bind-address", f.BindAddress, bindWhy)
	if f.AdvertiseAddress != "" {
		step("advertise-address", f.AdvertiseAddress, "--advertise-address is what other members are told; it plays no part in the loopback host")
	}
	if v.IsZero() {
		step("version", "current", "apiserver version unknown: a current one (1.18+ logic, unchanged since)")
	} else {
		step("version", v.String(), "apiserver version")
	}
	addrs = WithIPv6(addrs, st)
	step("interfaces", FormatAddrs(addrs), fmt.Sprintf("interface addresses with IPv6 %s", st))

	host, why := listenerHost(v, f.BindAddress, st)
	shown := host
	if host == "::" {
		shown = "[::]"
	}
	step("listener", shown, why)
	lb.Listener = net.JoinHostPort(host, strconv.Itoa(f.SecurePort))
	lb.Host, why = dialHost(v, host, addrs)
	step("host", lb.Host, why)
	lb.Lookup = net.ParseIP(lb.Host) == nil
	return lb
}

// apiserverAtLeast reports whether v (zero: a current apiserver) is 1.minor
// or later.
func apiserverAtLeast(v model.Version, minor int) bool { return v.IsZero() || v.AtLeast(1, minor, 0) }

// listenerHost is the address the loopback host is derived from, and why:
// the bind address before 1.9; from 1.9 the address the "tcp" listener
// reports, which for an unspecified bind address is [::] (dual-stack)
// unless the kernel has no IPv6 sockets.
func listenerHost(v model.Version, bind string, st IPv6State) (string, string) {
	ip := net.ParseIP(bind)
	switch {
	case !apiserverAtLeast(v, 9):
		return bind, "before 1.9 the host comes from --bind-address, not the listener"
	case ip == nil || !ip.IsUnspecified():
		return bind, "listening on the bind address itself"
	case st == IPv6Absent:
		return "0.0.0.0", "no IPv6 sockets (ipv6.disable=1): Go's tcp listener on the unspecified address is IPv4 only"
	}
	return "::", "Go's tcp listener on " + bind + " is dual-stack and reports [::], even with disable_ipv6=1 (kubernetes#95706)"
}

// dialHost is the host the loopback client dials for the listener host,
// and why. Only an unspecified address is replaced, by a rule of the
// apiserver's era (§A.2): before 1.7 0.0.0.0 becomes "localhost"; 1.7-1.8
// take the first loopback address of any family for 0.0.0.0 (:: is not
// special yet); 1.9-1.11 do so for 0.0.0.0 and ::; from 1.12 the loopback
// must be of the listener's family, else "localhost".
func dialHost(v model.Version, host string, addrs []IfAddr) (string, string) {
	given := "a concrete bind address is dialled as given"
	switch {
	case !v.IsZero() && v.Less(model.V(1, 7, 0)):
		if host == "0.0.0.0" {
			return "localhost", "before 1.7 the apiserver replaces 0.0.0.0 with \"localhost\""
		}
		return host, given
	case !apiserverAtLeast(v, 9):
		if host == "0.0.0.0" {
			return firstLoopback(addrs, nil), "1.7-1.8: 0.0.0.0 becomes the first loopback address of any family, else \"localhost\" (kubernetes#46772)"
		}
		return host, "a bind address other than 0.0.0.0 is dialled as given (before 1.9 :: is not special)"
	case host != "0.0.0.0" && host != "::":
		return host, given
	case !apiserverAtLeast(v, 12):
		return firstLoopback(addrs, nil), "1.9-1.11: 0.0.0.0 and :: become the first loopback address of any family, else \"localhost\""
	}
	v6 := host == "::"
	fam := "IPv4"
	if v6 {
		fam = "IPv6"
	}
	if lb := firstLoopback(addrs, &v6); lb != "localhost" {
		return lb, fmt.Sprintf("1.12+: the first %s loopback address (the listener's family)", fam)
	}
	return "localhost", fmt.Sprintf("1.12+: the loopback must match the listener's family (%s) and no interface has an %s loopback: getLoopbackAddress falls back to \"localhost\" (kubernetes#64163)", fam, fam)
}

// firstLoopback returns the first loopback address (of the wanted family
// when want is non-nil), or "localhost".
func firstLoopback(addrs []IfAddr, want6 *bool) string {
	for _, a := range addrs {
		ip := a.Addr()
		if !ip.IsLoopback() {
			continue
		}
		is6 := ip.Is6() && !ip.Is4In6()
		if want6 != nil && is6 != *want6 {
			continue
		}
		return ip.Unmap().String()
	}
	return "localhost"
}

// Startup is the predicted start-up of kube-apiserver as far as its
// loopback client is concerned.
type Startup struct {
	Loopback Loopback `json:"loopback"`
	// Result is the start-up as the real apiserver shows it: ready or
	// exits, when, how many DNS messages, the first fatal or error line.
	Result StartupResult `json:"startup"`
	// Fails reports that the apiserver exits; FailsAt is when, after start.
	Fails   bool          `json:"fails"`
	FailsAt time.Duration `json:"fails_at,omitempty"`
	// Fatal is the log line it dies with.
	Fatal string `json:"fatal,omitempty"`
	// DialTime is how long the first loopback dial takes (cut by its
	// deadline); Queries counts the DNS messages until ready or exit.
	DialTime time.Duration `json:"dial_time"`
	Queries  int           `json:"queries"`
	// Summary is one sentence: "exits 61.8 s after start: ..." or
	// "ready ...".
	Summary string `json:"summary"`
	// Reasons is the chain, first cause first.
	Reasons    []string          `json:"reasons"`
	Prediction *model.Prediction `json:"prediction,omitempty"`
}

// LoopbackRequest is the lookup the loopback client's first dial makes.
func LoopbackRequest(lb Loopback) model.Request {
	return model.Request{Name: lb.Host, Network: "tcp", Dial: true, Port: lb.Port, Deadline: model.Seconds(LoopbackDialTimeout)}
}

// SilentScenario is the incident's network: every nameserver drops every
// query.
func SilentScenario() model.Scenario {
	return model.Scenario{Servers: []model.Behavior{{Kind: model.Silent}}}
}

// PredictStartup combines the loopback host with the resolver model and
// the start-up of the apiserver's loopback users: the lookup of the
// loopback name as the resolver does it alone, shared between the users
// that dial at the same time the way the program's Go release shares
// lookups, and each user's retries and fatal errors per release (see
// SimulateStartup).
func PredictStartup(v model.Version, lb Loopback, env model.Env, prog model.Program, sc model.Scenario, predict model.PredictFunc) (*Startup, error) {
	return PredictStartupOn(DefaultMachine(), v, lb, env, prog, sc, predict)
}

// PredictStartupOn is PredictStartup on a machine of the given speed.
func PredictStartupOn(m Machine, v model.Version, lb Loopback, env model.Env, prog model.Program, sc model.Scenario, predict model.PredictFunc) (*Startup, error) {
	s := &Startup{Loopback: lb}
	for _, st := range lb.Steps {
		if st.Key == "version" || st.Key == "interfaces" || st.Key == "listener" || st.Key == "host" {
			s.Reasons = append(s.Reasons, fmt.Sprintf("%s %s: %s", st.Key, st.Value, st.Reason))
		}
	}
	if !lb.Lookup {
		s.Result, _ = SimulateStartup(v, lb, model.LookupRun{OK: true}, model.ShareDetached, m)
		s.Summary = fmt.Sprintf("safe: the loopback client dials %s, an address; no name lookup happens; ready %s after start", lb.URL(), fmtDur(s.Result.Time.Duration()))
		return s, nil
	}
	p, err := predict(env, prog, LoopbackRequest(lb), sc)
	if err != nil {
		return nil, fmt.Errorf("resolver model: %w", err)
	}
	free := LoopbackRequest(lb)
	free.Deadline = 0
	whole, err := predict(env, prog, free, sc)
	if err != nil {
		return nil, fmt.Errorf("resolver model: %w", err)
	}
	s.Prediction = p
	s.DialTime = p.Total.Duration()
	for _, st := range p.Steps {
		r := fmt.Sprintf("%s %s: %s", st.Key, st.Value, st.Reason)
		if st.Source != nil && st.Source.File != "" {
			r += " (" + st.Source.String() + ")"
		}
		s.Reasons = append(s.Reasons, r)
	}
	run := model.RunOf(whole)
	era := model.ShareDetached
	if prog.Impl == model.ImplGo && !prog.Go.Version.IsZero() {
		var st model.Step
		era, st = model.ShareEraFor(prog.Go.Version)
		s.Reasons = append(s.Reasons, st.Key+" "+st.Value+": "+st.Reason)
	}
	outcome := "fails"
	if run.OK {
		outcome = "answers from " + whole.AnsweredFrom
	}
	s.Reasons = append(s.Reasons, fmt.Sprintf("one lookup of %s alone takes %s and %s (%d DNS queries); the apiserver's loopback users share it:", lb.Host, fmtDur(run.Total), outcome, whole.Queries))
	res, why := SimulateStartup(v, lb, run, era, m)
	s.Reasons = append(s.Reasons, why...)
	s.Result = res
	s.Queries = res.DNSQueries
	dns := fmt.Sprintf("%d DNS queries", res.DNSQueries)
	if res.Outcome == OutcomeExits {
		s.Fails, s.FailsAt, s.Fatal = true, res.Time.Duration(), res.Log
		s.Summary = fmt.Sprintf("exits %s after start: %s (%s)", fmtDur(res.Time.Duration()), res.Log, dns)
		return s, nil
	}
	wait := res.Time.Duration() - m.Serving - m.ReadyAfterServing
	switch {
	case res.Log != "":
		s.Summary = fmt.Sprintf("ready %s after start, late: loopback requests fail with %q until %s resolves (%s)", fmtDur(res.Time.Duration()), res.Log, lb.Host, dns)
	case wait > 0:
		s.Summary = fmt.Sprintf("ready %s after start: the loopback client waits for %s to resolve (%s)", fmtDur(res.Time.Duration()), lb.Host, dns)
	default:
		s.Summary = fmt.Sprintf("safe: %s resolves from %s after %s (%s), within the %s dial timeout; ready %s after start", lb.Host, p.AnsweredFrom, fmtDur(p.Total.Duration()), dns, fmtDur(LoopbackDialTimeout), fmtDur(res.Time.Duration()))
	}
	return s, nil
}

// fmtDur renders a duration the way reports show it: "30 s", "2.5 s",
// "120 ms".
func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0 s"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d%time.Second == 0:
		return fmt.Sprintf("%d s", int64(d/time.Second))
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}

// ProgramForAPIServer returns the program kube-apiserver of version v is:
// a static Go binary (the server binaries are built with CGO_ENABLED=0)
// built with the Go release of that Kubernetes release.
func ProgramForAPIServer(v model.Version) (model.Program, string, bool) {
	g, ok := GoForKubernetes(v)
	if !ok {
		return model.Program{}, "", false
	}
	p := model.Program{Label: fmt.Sprintf("kube-apiserver %s (Go %s, static)", v, g), Impl: model.ImplGo, Go: model.GoBuild{Version: g}}
	return p, fmt.Sprintf("kube-apiserver %s was built with Go %s, CGO_ENABLED=0", v, g), true
}
