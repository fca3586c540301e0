package kube

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

// Defaults of nsscope's typical node (used when no node file is given).
const (
	TypicalNodeResolvConf = "# nsscope's typical node: one upstream nameserver, the node's own search domain\nnameserver 10.0.0.2\nsearch node.internal\n"
	TypicalNodeHosts      = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"
	TypicalClusterDNS     = "10.96.0.10"
	TypicalNodeIP         = "10.0.0.10"
	// AssumedPodIP stands for the pod IP of a pod that has none yet (a
	// manifest): the kubelet only writes /etc/hosts once the IP is known.
	AssumedPodIP = "10.244.0.10"
	// DefaultDeadline is the caller deadline assumed for lookups: client-go's
	// dial timeout, the most common one in a cluster.
	DefaultDeadline = 30 * time.Second
)

// Node is a node's DNS-relevant facts.
type Node struct {
	Name    string
	Kubelet Kubelet
	// Hosts is the node's /etc/hosts (what hostNetwork pods get).
	Hosts model.File
	// IPs are the node's addresses, the pod IPs of hostNetwork pods.
	IPs   []string
	Addrs []IfAddr
	IPv6  IPv6State
}

// TypicalNode returns nsscope's documented typical node: kubelet with
// --cluster-dns 10.96.0.10 and --cluster-domain cluster.local, a node
// resolv.conf with one nameserver and one search domain, a node /etc/hosts
// with localhost, IPv6 on.
func TypicalNode() Node {
	return Node{
		Name: "node",
		Kubelet: Kubelet{
			ClusterDNS:    []netip.Addr{netip.MustParseAddr(TypicalClusterDNS)},
			ClusterDomain: DefaultClusterDomain,
			ResolvConf:    model.File{Path: "/etc/resolv.conf", Origin: "typical-node:/etc/resolv.conf", Data: []byte(TypicalNodeResolvConf)},
			NodeIPs:       []netip.Addr{netip.MustParseAddr(TypicalNodeIP)},
		},
		Hosts: model.File{Path: "/etc/hosts", Origin: "typical-node:/etc/hosts", Data: []byte(TypicalNodeHosts)},
		IPs:   []string{TypicalNodeIP},
		Addrs: []IfAddr{
			{Interface: "lo", Prefix: netip.MustParsePrefix("127.0.0.1/8")},
			{Interface: "lo", Prefix: netip.MustParsePrefix("::1/128")},
			{Interface: "eth0", Prefix: netip.MustParsePrefix(TypicalNodeIP + "/24")},
		},
		IPv6: IPv6On,
	}
}

// Image is what is known about a container's image.
type Image struct {
	// NSSwitch and Hosts are the image's files; a zero Path means unknown.
	NSSwitch model.File
	Hosts    model.File
	// Programs are the programs to predict for (side by side).
	Programs []model.Program
	// Source says where these facts came from; Assumed lists guesses.
	Source  string
	Assumed []string
}

// ImageFunc returns what is known of container c's image.
type ImageFunc func(pod *corev1.Pod, c *corev1.Container) Image

// Options steer an Analyzer.
type Options struct {
	// Names are the names to check; nil means localhost plus the
	// Service-style names in each container's env.
	Names []string
	// Deadline is the caller's deadline for each lookup.
	Deadline time.Duration
	Predict  PredictFunc
	Image    ImageFunc
	// APIServerVersion overrides the version read from the image tag.
	APIServerVersion model.Version
	// APIServerProgram overrides the program derived from the version.
	APIServerProgram *model.Program
}

// Check is the verdict for one name and one program in one container.
type Check struct {
	Name       string          `json:"name"`
	NameSource string          `json:"name_source"`
	Program    model.Program   `json:"program"`
	Severity   report.Severity `json:"severity"`
	Message    string          `json:"message"`
	// Cost is the prediction when every server answers NXDOMAIN at once
	// (each candidate asked); Worst when every server is silent.
	Cost  *model.Prediction `json:"cost,omitempty"`
	Worst *model.Prediction `json:"worst,omitempty"`
	Err   string            `json:"error,omitempty"`
}

// Container is everything derived for one container.
type Container struct {
	Subject   string    `json:"subject"` // namespace/pod/container
	Workload  *Workload `json:"workload"`
	Name      string    `json:"container"`
	Image     string    `json:"image"`
	Init      bool      `json:"init,omitempty"`
	DNS       *PodDNS   `json:"dns,omitempty"`
	DNSErr    string    `json:"dns_error,omitempty"`
	Hosts     *PodHosts `json:"hosts,omitempty"`
	PodIPs    []string  `json:"pod_ips"`
	Assumed   []string  `json:"assumptions,omitempty"`
	Checks    []Check   `json:"checks,omitempty"`
	Startup   *Startup  `json:"apiserver_startup,omitempty"`
	StartErr  string    `json:"apiserver_error,omitempty"`
	ImageInfo string    `json:"image_facts,omitempty"`
	// node is the node the container was analysed on (for remedies).
	node *Node
}

// Analyzer derives pod DNS and runs the model, remembering predictions it
// has already made (clusters repeat the same environment many times).
type Analyzer struct {
	opts Options
	memo map[string]*memoEntry
}

type memoEntry struct {
	p   *model.Prediction
	err error
}

// NewAnalyzer returns an Analyzer.
func NewAnalyzer(o Options) *Analyzer {
	if o.Deadline == 0 {
		o.Deadline = DefaultDeadline
	}
	return &Analyzer{opts: o, memo: map[string]*memoEntry{}}
}

func (a *Analyzer) predict(env model.Env, prog model.Program, req model.Request, sc model.Scenario) (*model.Prediction, error) {
	if a.opts.Predict == nil {
		return nil, fmt.Errorf("no resolver model")
	}
	k := memoKey(env, prog, req, sc)
	if e, ok := a.memo[k]; ok {
		return e.p, e.err
	}
	p, perr := a.opts.Predict(env, prog, req, sc)
	a.memo[k] = &memoEntry{p, perr}
	return p, perr
}

// memoKey identifies a prediction's inputs: file contents are hashed, the
// rest written out.
func memoKey(env model.Env, prog model.Program, req model.Request, sc model.Scenario) string {
	h := sha256.New()
	for _, f := range []model.File{env.ResolvConf, env.NSSwitch, env.Hosts, env.MDNSAllow} {
		fmt.Fprintf(h, "%s|%s|%v|%s|%v|%d:", f.Path, f.Origin, f.Missing, f.ReadErr, f.PermissionDenied, len(f.Data))
		h.Write(f.Data)
	}
	keys := make([]string, 0, len(env.Vars))
	for k := range env.Vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%q=%q;", k, env.Vars[k])
	}
	fmt.Fprintf(h, "|%s|%v|%+v|%+v|%d|%+v", env.Hostname, env.HostnameErr, prog, req, req.Deadline, sc)
	return string(h.Sum(nil))
}

// PodIPs returns the pod's IPs: its status, the node's for hostNetwork
// pods, or the assumed one (and a note saying so).
func PodIPs(pod *corev1.Pod, node Node) ([]string, string) {
	if pod.Spec.HostNetwork {
		return node.IPs, "hostNetwork: the pod's IPs are the node's"
	}
	var ips []string
	for _, ip := range pod.Status.PodIPs {
		if ip.IP != "" {
			ips = append(ips, ip.IP)
		}
	}
	if len(ips) == 0 && pod.Status.PodIP != "" {
		ips = []string{pod.Status.PodIP}
	}
	if len(ips) > 0 {
		return ips, ""
	}
	return []string{AssumedPodIP}, "pod IP not known (no status): assumed " + AssumedPodIP
}

// Workload derives every container of w (init containers first) on node.
func (a *Analyzer) Workload(w *Workload, node Node) []*Container {
	pod := w.Pod
	dns, dnsErr := node.Kubelet.PodDNSConfig(pod)
	ips, ipNote := PodIPs(pod, node)
	var out []*Container
	all := make([]struct {
		c    *corev1.Container
		init bool
	}, 0, len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
	for i := range pod.Spec.InitContainers {
		all = append(all, struct {
			c    *corev1.Container
			init bool
		}{&pod.Spec.InitContainers[i], true})
	}
	for i := range pod.Spec.Containers {
		all = append(all, struct {
			c    *corev1.Container
			init bool
		}{&pod.Spec.Containers[i], false})
	}
	for _, cc := range all {
		c := cc.c
		r := &Container{Subject: w.Namespace + "/" + pod.Name + "/" + c.Name, Workload: w, Name: c.Name, Image: c.Image, Init: cc.init, DNS: dns, PodIPs: ips, node: &node}
		if ipNote != "" {
			r.Assumed = append(r.Assumed, ipNote)
		}
		r.Assumed = append(r.Assumed, w.Notes...)
		if dnsErr != nil {
			r.DNSErr = dnsErr.Error()
		}
		r.Hosts = HostsFor(pod, c, ips, node.Kubelet.ClusterDomain, node.Hosts)
		a.checks(r, pod, c, node)
		out = append(out, r)
	}
	return out
}

// Env builds the model's environment for container c from the derived
// files and the image's.
func (r *Container) Env(pod *corev1.Pod, c *corev1.Container, img Image, node Node) model.Env {
	env := model.Env{Vars: map[string]string{}}
	if r.DNS != nil {
		env.ResolvConf = model.File{Path: "/etc/resolv.conf", Origin: r.Subject + ":/etc/resolv.conf (kubelet)", Data: r.DNS.ResolvConf()}
	} else {
		env.ResolvConf = model.File{Path: "/etc/resolv.conf", Missing: true}
	}
	if r.Hosts != nil && r.Hosts.Managed {
		env.Hosts = model.File{Path: "/etc/hosts", Origin: r.Subject + ":/etc/hosts (kubelet)", Data: r.Hosts.Content()}
	} else if img.Hosts.Path != "" {
		env.Hosts = img.Hosts
	} else {
		env.Hosts = model.File{Path: "/etc/hosts", Missing: true}
	}
	env.NSSwitch = img.NSSwitch
	if env.NSSwitch.Path == "" {
		env.NSSwitch = model.File{Path: "/etc/nsswitch.conf", Missing: true}
	}
	env.MDNSAllow = model.File{Path: "/etc/mdns.allow", Missing: true}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env.Vars[e.Name] = e.Value
		}
	}
	if pod.Spec.HostNetwork {
		env.Hostname = node.Name
	} else if r.Hosts != nil {
		env.Hostname = r.Hosts.Hostname
	}
	return env
}

func (a *Analyzer) checks(r *Container, pod *corev1.Pod, c *corev1.Container, node Node) {
	if r.DNS == nil {
		return
	}
	var img Image
	if a.opts.Image != nil {
		img = a.opts.Image(pod, c)
	}
	r.ImageInfo = img.Source
	r.Assumed = append(r.Assumed, img.Assumed...)

	programs := img.Programs
	isAPI := IsAPIServer(c)
	if isAPI {
		if prog, ok := a.apiserver(r, pod, c, node, img); ok {
			// The container runs kube-apiserver: that is the program.
			programs = []model.Program{prog}
			r.ImageInfo = "runs " + progLabel(prog)
		}
	}
	env := r.Env(pod, c, img, node)
	var names []Name
	if a.opts.Names != nil {
		for _, n := range a.opts.Names {
			names = append(names, Name{Name: n, Source: "--name"})
		}
	} else {
		if !isAPI || r.Startup == nil {
			// For kube-apiserver the start-up prediction is the localhost
			// check (its loopback dial).
			names = append(names, Name{Name: "localhost", Source: "always checked"})
		}
		names = append(names, NamesFromEnv(c)...)
	}
	for _, n := range names {
		for _, prog := range programs {
			r.Checks = append(r.Checks, a.check(env, prog, n))
		}
	}
}

// Request is the lookup checked for a name: a TCP dial, as programs
// reach names, with the caller's deadline.
func (a *Analyzer) Request(name string) model.Request {
	return model.Request{Name: name, Network: "tcp", Dial: true, Deadline: a.opts.Deadline}
}

func (a *Analyzer) check(env model.Env, prog model.Program, n Name) Check {
	ch := Check{Name: n.Name, NameSource: n.Source, Program: prog}
	req := a.Request(n.Name)
	unbounded := req
	unbounded.Deadline = 0
	fail := func(err error) Check {
		ch.Err = err.Error()
		ch.Severity = report.Warning
		ch.Message = "the resolver model cannot predict this program: " + err.Error()
		return ch
	}
	cost, err := a.predict(env, prog, unbounded, model.Scenario{Servers: []model.Behavior{{Kind: model.NXDomain}}})
	if err != nil {
		return fail(err)
	}
	worst, err := a.predict(env, prog, req, SilentScenario())
	if err != nil {
		return fail(err)
	}
	ch.Cost, ch.Worst = summary(cost, false), worst
	full := ""
	if worst.DeadlineExceeded {
		if p, err := a.predict(env, prog, unbounded, SilentScenario()); err == nil {
			full = fmt.Sprintf(" (DNS alone would take %s)", fmtDur(p.Total))
		}
	}
	inHosts := cost.AnsweredFrom == model.FromHosts
	switch {
	case inHosts && worst.Queries > 0 && worst.Error != "":
		ch.Severity = report.Critical
		ch.Message = fmt.Sprintf("%s is in /etc/hosts but DNS is asked first (order %s): with silent nameservers the dial fails after %s%s: %s", n.Name, worst.Order, fmtDur(worst.Total), full, worst.Error)
	case inHosts && worst.Queries > 0:
		ch.Severity = report.Warning
		ch.Message = fmt.Sprintf("%s is in /etc/hosts but DNS is asked first (order %s): %d queries, %s with silent nameservers before /etc/hosts answers", n.Name, worst.Order, worst.Queries, fmtDur(worst.Total))
	case inHosts:
		ch.Severity = report.Info
		ch.Message = fmt.Sprintf("%s is answered from /etc/hosts without DNS", n.Name)
	default:
		ch.Severity = report.Info
		res := fmt.Sprintf("gets an answer after %s%s", fmtDur(worst.Total), full)
		if worst.Error != "" {
			res = fmt.Sprintf("fails after %s%s: %s", fmtDur(worst.Total), full, worst.Error)
		}
		ch.Message = fmt.Sprintf("one lookup of %s costs %d queries when the name is missing (%d candidates); with silent nameservers it %s", n.Name, cost.Queries, len(cost.Candidates), res)
	}
	if ch.Severity == report.Info {
		ch.Worst = summary(worst, true)
	}
	return ch
}

// summary is a copy of p without its exchange timeline (and, unless
// keepSteps, its decision trail): what a safe verdict or a query count
// needs, at a fraction of the memory a large cluster would otherwise hold.
func summary(p *model.Prediction, keepSteps bool) *model.Prediction {
	c := *p
	c.Exchanges, c.Debug = nil, nil
	if !keepSteps {
		c.Steps = nil
	}
	return &c
}

func progLabel(p model.Program) string {
	if p.Label != "" {
		return p.Label
	}
	switch p.Impl {
	case model.ImplGo:
		s := "Go " + p.Go.Version.String()
		if p.Go.Cgo {
			return s + " (cgo)"
		}
		return s + " (static)"
	}
	return p.Libc.String()
}

// APIServerImageNSSwitch says what an apiserver image's nsswitch.conf is
// when the image was not inspected: official images (registry.k8s.io,
// k8s.gcr.io) of 1.13 and later ship "hosts: files dns" (kubernetes PR
// #69238, then debian-base #70245 and distroless #99015); 1.12 and older
// were busybox without the file (#69195); any other image is unknown and
// taken to have none, the worst case (Alpine ≤ 3.15, scratch).
func APIServerImageNSSwitch(image string, v model.Version) (model.File, string) {
	official := false
	for _, p := range []string{"registry.k8s.io/", "k8s.gcr.io/", "gcr.io/google_containers/", "gcr.io/google-containers/"} {
		if strings.HasPrefix(image, p) {
			official = true
		}
	}
	switch {
	case official && !v.IsZero() && v.Less(model.V(1, 13, 0)):
		return model.File{Path: "/etc/nsswitch.conf", Origin: image + ":/etc/nsswitch.conf (absent)", Missing: true}, "official image before 1.13: busybox base without /etc/nsswitch.conf (kubernetes#69195)"
	case official:
		return model.File{Path: "/etc/nsswitch.conf", Origin: image + ":/etc/nsswitch.conf (assumed)", Data: []byte("hosts: files dns\n")},
			"official image from 1.13: /etc/nsswitch.conf with \"hosts: files dns\" (kubernetes PRs #69238, #70245, #99015) [assumed, not inspected]"
	}
	return model.File{Path: "/etc/nsswitch.conf", Origin: image + ":/etc/nsswitch.conf (assumed absent)", Missing: true}, "image not inspected and not an official one: assumed without /etc/nsswitch.conf, the worst case (Alpine ≤ 3.15, scratch); pass --nsswitch to say otherwise"
}

func (a *Analyzer) apiserver(r *Container, pod *corev1.Pod, c *corev1.Container, node Node, img Image) (model.Program, bool) {
	flags, err := ParseAPIServerFlags(c)
	if err != nil {
		r.StartErr = err.Error()
		return model.Program{}, false
	}
	v := a.opts.APIServerVersion
	if v.IsZero() {
		if iv, ok := VersionFromImage(c.Image); ok {
			v = iv
		}
	}
	lb := LoopbackHost(v, flags, node.Addrs, node.IPv6)
	var prog model.Program
	switch {
	case a.opts.APIServerProgram != nil:
		prog = *a.opts.APIServerProgram
	default:
		p, why, ok := ProgramForAPIServer(v)
		if !ok {
			if len(img.Programs) == 0 {
				r.StartErr = "kube-apiserver version unknown (no version in the image tag): pass --kube-version or --go"
				return model.Program{}, false
			}
			prog = img.Programs[0]
			r.Assumed = append(r.Assumed, "kube-apiserver version unknown: predicted as "+progLabel(prog))
		} else {
			prog = p
			r.Assumed = append(r.Assumed, why)
		}
	}
	env := r.Env(pod, c, img, node)
	st, err := PredictStartup(v, lb, env, prog, SilentScenario(), a.predict)
	if err != nil {
		r.StartErr = err.Error()
		return prog, true
	}
	if pod.Spec.HostNetwork {
		st.Reasons = append([]string{fmt.Sprintf("hostNetwork pod with dnsPolicy %s: base %q (%s)", r.DNS.Policy, r.DNS.Base, nodeFileNote(node))}, st.Reasons...)
	}
	r.Startup = st
	return prog, true
}

func nodeFileNote(node Node) string {
	if node.Kubelet.ResolvConfDisabled {
		return `--resolv-conf=""`
	}
	return "node file " + node.Kubelet.ResolvConf.Name()
}
