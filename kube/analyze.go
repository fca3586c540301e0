package kube

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

// Node is a node's DNS-relevant facts.
type Node struct {
	Name    string
	Kubelet Kubelet
	// Hosts is the node's /etc/hosts (what hostNetwork pods get);
	// HostsUnknown, when set, says it is not known and which input would
	// give it.
	Hosts        model.File
	HostsUnknown string
	// IPs are the node's addresses, the pod IPs of hostNetwork pods.
	IPs   []string
	Addrs []IfAddr
	IPv6  IPv6State
}

// UnknownNode is a node nsscope knows nothing about but the cluster
// defaults: kubelet --cluster-dns DefaultClusterDNS and --cluster-domain
// DefaultClusterDomain, its resolver file and /etc/hosts unknown (why says
// which input would give them), no addresses, IPv6 on.
func UnknownNode(name, why string) Node {
	return Node{
		Name: name,
		Kubelet: Kubelet{
			ClusterDNS:        []netip.Addr{netip.MustParseAddr(DefaultClusterDNS)},
			ClusterDomain:     DefaultClusterDomain,
			ResolvConf:        model.File{Path: model.PathResolvConf, Origin: "the node's " + model.PathResolvConf + " (unknown)"},
			ResolvConfUnknown: why,
		},
		Hosts:        model.File{Path: model.PathHosts, Origin: "the node's " + model.PathHosts + " (unknown)"},
		HostsUnknown: why,
		IPv6:         IPv6On,
	}
}

// PodDNS derives the pod's DNS configuration on this node.
func (n Node) PodDNS(pod *corev1.Pod) (*PodDNS, error) { return n.Kubelet.PodDNSConfig(pod) }

// PodHosts derives the /etc/hosts of container c of pod on this node.
func (n Node) PodHosts(pod *corev1.Pod, c *corev1.Container, podIPs []string) *PodHosts {
	return hostsFor(pod, c, podIPs, n.Kubelet.ClusterDomain, n.Hosts, n.HostsUnknown)
}

// Options steer an Analyzer.
type Options struct {
	// Names are the names to check; nil means localhost plus the
	// Service-style names in each container's env.
	Names []string
	// Deadline is the caller's deadline for each lookup.
	Deadline time.Duration
	Predict  model.PredictFunc
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
	// Rule is the finding's rule (report.Rule*).
	Rule string `json:"rule"`
	// Condition, when set, is what the verdict rests on because the
	// program is not known ("image alpine:3.13 not inspected"); the
	// program is then one of [Hypotheses] and the severity at most a
	// warning.
	Condition string `json:"condition,omitempty"`
}

// Container is everything derived for one container.
type Container struct {
	Subject  string    `json:"subject"` // namespace/pod/container
	Workload *Workload `json:"workload"`
	Name     string    `json:"container"`
	Image    string    `json:"image"`
	Init     bool      `json:"init,omitempty"`
	DNS      *PodDNS   `json:"dns,omitempty"`
	DNSErr   string    `json:"dns_error,omitempty"`
	// DNSUnknown marks DNSErr as a missing input, not the kubelet's
	// refusal.
	DNSUnknown bool      `json:"dns_unknown,omitempty"`
	Hosts      *PodHosts `json:"hosts,omitempty"`
	PodIPs     []string  `json:"pod_ips"`
	Assumed    []string  `json:"assumptions,omitempty"`
	Checks     []Check   `json:"checks,omitempty"`
	Startup    *Startup  `json:"apiserver_startup,omitempty"`
	StartErr   string    `json:"apiserver_error,omitempty"`
	// InputErr is a fault in the manifest itself (a kube-apiserver flag
	// that kube-apiserver would refuse): bad input, not a prediction.
	InputErr  string `json:"input_error,omitempty"`
	ImageInfo string `json:"image_facts,omitempty"`
	// node is the node the container was analysed on (for remedies).
	node *Node
}

// MaxMemo caps the predictions an Analyzer remembers.
const MaxMemo = 4096

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
	if len(a.memo) >= MaxMemo {
		// A long stream of pods repeats few environments but each pod's
		// own /etc/hosts line makes a new key: start over rather than
		// grow with the input.
		clear(a.memo)
	}
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

// Check analyses workload w on node: its containers, their findings with
// the documented remedies of a failing kube-apiserver start-up attached,
// and those remedies by container subject.
func (a *Analyzer) Check(w *Workload, node Node) ([]*Container, []report.Finding, map[string][]StartupFix) {
	cs := a.Workload(w, node)
	fixes := map[string][]StartupFix{}
	a.addStartupFixes(fixes, w, node, cs)
	fs := Findings(cs)
	AttachFixes(fs, fixes)
	return cs, fs, fixes
}

// APIServers analyses only the kube-apiserver containers of ws on node
// (those whose start-up was predicted, or could not be): the containers,
// their findings with the remedies of a failing start-up attached, and
// those remedies by container subject. The apiserver verb reports these.
func (a *Analyzer) APIServers(ws []*Workload, node Node) ([]*Container, []report.Finding, map[string][]StartupFix) {
	var cs []*Container
	fixes := map[string][]StartupFix{}
	for _, w := range ws {
		var mine []*Container
		for _, c := range a.Workload(w, node) {
			if c.Startup != nil || c.StartErr != "" {
				mine = append(mine, c)
			}
		}
		a.addStartupFixes(fixes, w, node, mine)
		cs = append(cs, mine...)
	}
	fs := Findings(cs)
	AttachFixes(fs, fixes)
	return cs, fs, fixes
}

// addStartupFixes adds to fixes the remedies of w's kube-apiserver
// start-up when one of its containers cs is predicted to fail: a start-up
// that succeeds has nothing to remedy.
func (a *Analyzer) addStartupFixes(fixes map[string][]StartupFix, w *Workload, node Node, cs []*Container) {
	for _, c := range cs {
		if c.Startup != nil && c.Startup.Fails {
			maps.Copy(fixes, a.APIServerFixes(w, node))
			return
		}
	}
}

// InputErrors are the faults in the manifests of cs (see Container.InputErr).
func InputErrors(cs []*Container) []string {
	var out []string
	for _, c := range cs {
		if c.InputErr != "" {
			out = append(out, c.InputErr)
		}
	}
	return out
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
	dns, dnsErr := node.PodDNS(pod)
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
			var unknown *UnknownError
			r.DNSUnknown = errors.As(dnsErr, &unknown)
		}
		r.Hosts = node.PodHosts(pod, c, ips)
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
	if r.DNS == nil || (r.Hosts != nil && r.Hosts.Unknown) {
		return
	}
	var img Image
	if a.opts.Image != nil {
		img = a.opts.Image(pod, c)
	}
	r.ImageInfo = img.Source
	r.Assumed = append(r.Assumed, img.Assumed...)

	programs, condition := img.Programs, ""
	if len(programs) == 0 && img.Unknown != "" {
		programs, condition = Hypotheses(), img.Unknown
	}
	isAPI := IsAPIServer(c)
	if isAPI {
		if prog, ok := a.apiserver(r, pod, c, node, img); ok {
			// The container runs kube-apiserver: that is the program.
			programs, condition = []model.Program{prog}, ""
			r.ImageInfo = "runs " + prog.Describe()
		}
	}
	env := r.Env(pod, c, img, node)
	for _, n := range a.names(c, isAPI && r.Startup != nil) {
		for _, prog := range programs {
			r.Checks = append(r.Checks, a.check(env, prog, n, condition))
		}
	}
}

// names are the names checked in container c: the --name list, else
// localhost (unless the apiserver start-up already is the localhost
// check: its loopback dial) and the Service-style names of its env.
func (a *Analyzer) names(c *corev1.Container, startupChecked bool) []Name {
	var names []Name
	if a.opts.Names != nil {
		for _, n := range a.opts.Names {
			names = append(names, Name{Name: n, Source: "--name"})
		}
		return names
	}
	if !startupChecked {
		names = append(names, Name{Name: "localhost", Source: "always checked"})
	}
	return append(names, NamesFromEnv(c)...)
}

// Request is the lookup checked for a name: a TCP dial, as programs
// reach names, with the caller's deadline.
func (a *Analyzer) Request(name string) model.Request {
	return model.Request{Name: name, Network: "tcp", Dial: true, Deadline: model.Seconds(a.opts.Deadline)}
}

// check predicts one name for one program: the query count when every
// server answers NXDOMAIN (Cost) and the lookup with every server silent
// within the deadline (Worst), then grades it. condition is set when the
// program is a hypothesis.
func (a *Analyzer) check(env model.Env, prog model.Program, n Name, condition string) Check {
	ch := Check{Name: n.Name, NameSource: n.Source, Program: prog, Condition: condition}
	req := a.Request(n.Name)
	unbounded := req
	unbounded.Deadline = 0
	cost, err := a.predict(env, prog, unbounded, model.Scenario{Servers: []model.Behavior{{Kind: model.NXDomain}}})
	if err == nil {
		ch.Worst, err = a.predict(env, prog, req, SilentScenario())
	}
	if err != nil {
		ch.Err = err.Error()
		ch.Severity, ch.Rule = report.Warning, report.RuleUnknown
		ch.Message = "the resolver model cannot predict this program: " + err.Error()
		return ch
	}
	ch.Cost = summary(cost, false)
	full := ""
	if ch.Worst.DeadlineExceeded {
		if p, err := a.predict(env, prog, unbounded, SilentScenario()); err == nil {
			full = fmt.Sprintf(" (DNS alone would take %s)", fmtDur(p.Total.Duration()))
		}
	}
	ch.Severity, ch.Rule = grade(cost.AnsweredFrom == model.FromHosts, ch.Worst, a.opts.Deadline)
	ch.Message = verdictMessage(ch.Rule, ch.Severity, n.Name, cost, ch.Worst, a.opts.Deadline, full)
	if condition != "" {
		ch.Message = fmt.Sprintf("%s: if it runs %s, %s; inspect the image (--image-scan, --image-source) or say what it runs (--go, --libc)", condition, prog.Describe(), ch.Message)
		if ch.Severity == report.Critical {
			ch.Severity = report.Warning
		}
		ch.Rule = report.RuleUnknown
	}
	if ch.Severity == report.Info {
		ch.Worst = summary(ch.Worst, true)
	}
	return ch
}

// grade is the verdict on one lookup: a name /etc/hosts answers that goes
// to DNS first is critical when the silent case fails and a warning when
// it is only slow; any lookup whose DNS phase takes half the deadline or
// more is at least a warning; the rest is safe.
func grade(inHosts bool, worst *model.Prediction, deadline time.Duration) (report.Severity, string) {
	slowDNS := worst.DeadlineExceeded || (deadline > 0 && (2*worst.DNS).Duration() >= deadline)
	switch {
	case inHosts && worst.Queries > 0 && worst.Error != "":
		return report.Critical, report.RuleDNSFirstFails
	case inHosts && worst.Queries > 0:
		return report.Warning, report.RuleDNSFirst
	case inHosts:
		return report.Info, report.RuleHostsFirst
	case slowDNS:
		return report.Warning, report.RuleDNSOnly
	}
	return report.Info, report.RuleDNSOnly
}

// verdictMessage says in words what grade decided.
func verdictMessage(rule string, sev report.Severity, name string, cost, worst *model.Prediction, deadline time.Duration, full string) string {
	switch rule {
	case report.RuleDNSFirstFails:
		return fmt.Sprintf("%s is in /etc/hosts but DNS is asked first (order %s): with silent nameservers the dial fails after %s%s: %s", name, worst.Order, fmtDur(worst.Total.Duration()), full, worst.Error)
	case report.RuleDNSFirst:
		return fmt.Sprintf("%s is in /etc/hosts but DNS is asked first (order %s): %d queries, %s with silent nameservers before /etc/hosts answers", name, worst.Order, worst.Queries, fmtDur(worst.Total.Duration()))
	case report.RuleHostsFirst:
		return fmt.Sprintf("%s is answered from /etc/hosts without DNS", name)
	}
	res := fmt.Sprintf("gets an answer after %s%s", fmtDur(worst.Total.Duration()), full)
	if worst.Error != "" {
		res = fmt.Sprintf("fails after %s%s: %s", fmtDur(worst.Total.Duration()), full, worst.Error)
	}
	msg := fmt.Sprintf("one lookup of %s costs %d queries when the name is missing (%d candidates); with silent nameservers it sends %d queries and %s", name, cost.Queries, len(cost.Candidates), worst.Queries, res)
	if sev > report.Info {
		msg += fmt.Sprintf("; its DNS phase takes %s, half or more of the %s deadline", fmtDur(worst.DNS.Duration()), fmtDur(deadline))
	}
	return msg
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

func (a *Analyzer) apiserver(r *Container, pod *corev1.Pod, c *corev1.Container, node Node, img Image) (model.Program, bool) {
	flags, err := ParseAPIServerFlags(c)
	if err != nil {
		r.StartErr = err.Error()
		r.InputErr = fmt.Sprintf("%s: container %s: %v", r.Workload.Source, c.Name, err)
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
			r.Assumed = append(r.Assumed, "kube-apiserver version unknown: predicted as "+prog.Describe())
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
