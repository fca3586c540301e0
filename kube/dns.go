package kube

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/nsscope/nsscope/model"
)

// Kubelet limits and defaults (libc-k8s-resolver.md §B).
const (
	// MaxNameservers is the kubelet's cap on a pod's nameservers.
	MaxNameservers = 3
	// Search limits before ExpandedDNSConfig (KEP-2595) and with it.
	LegacySearchPaths   = 6
	LegacySearchChars   = 256
	ExpandedSearchPaths = 32
	ExpandedSearchChars = 2048
	// MaxSearchEntry is the longest single search entry the kubelet keeps
	// (DNS1123SubdomainMaxLength); longer ones are dropped.
	MaxSearchEntry = 253
	// MaxResolvConfBytes is how much of the node file the kubelet reads.
	MaxResolvConfBytes = 10 << 20
)

// Kubelet is the kubelet configuration that shapes a pod's DNS.
type Kubelet struct {
	// Version of the kubelet; zero means a current one.
	Version model.Version
	// ExpandedDNSConfig overrides the feature gate; nil means the
	// version's default.
	ExpandedDNSConfig *bool
	// ClusterDNS is --cluster-dns (kubelet config clusterDNS).
	ClusterDNS []netip.Addr
	// ClusterDomain is --cluster-domain.
	ClusterDomain string
	// ResolvConfDisabled means --resolv-conf="" (DNS pointed at the node
	// itself); otherwise ResolvConf is the file it names.
	ResolvConfDisabled bool
	ResolvConf         model.File
	// ResolvConfUnknown, when set, says that the content of ResolvConf is
	// not known and which input would give it ("no --node-facts for node
	// n1"). The node's search domains are then left out of cluster DNS,
	// and a pod that takes the node's nameservers cannot be derived.
	ResolvConfUnknown string
	// NodeIPs pick 127.0.0.1 or ::1 when ResolvConfDisabled.
	NodeIPs []netip.Addr
}

// SearchLimits returns the kubelet's search-path limits and why.
func (k Kubelet) SearchLimits() (paths, chars int, reason string) {
	v := k.Version
	if k.ExpandedDNSConfig != nil {
		if *k.ExpandedDNSConfig {
			return ExpandedSearchPaths, ExpandedSearchChars, "feature gate ExpandedDNSConfig=true given"
		}
		return LegacySearchPaths, LegacySearchChars, "feature gate ExpandedDNSConfig=false given"
	}
	switch {
	case v.IsZero():
		return ExpandedSearchPaths, ExpandedSearchChars, "kubelet version not given: a current kubelet (ExpandedDNSConfig GA since 1.28)"
	case v.Less(model.V(1, 22, 0)):
		return LegacySearchPaths, LegacySearchChars, fmt.Sprintf("kubelet %s predates ExpandedDNSConfig (alpha in 1.22)", v)
	case v.Less(model.V(1, 26, 0)):
		return LegacySearchPaths, LegacySearchChars, fmt.Sprintf("kubelet %s: ExpandedDNSConfig is alpha and off by default (1.22-1.25)", v)
	case v.Less(model.V(1, 28, 0)):
		return ExpandedSearchPaths, ExpandedSearchChars, fmt.Sprintf("kubelet %s: ExpandedDNSConfig is beta and on by default (1.26-1.27)", v)
	}
	return ExpandedSearchPaths, ExpandedSearchChars, fmt.Sprintf("kubelet %s: ExpandedDNSConfig is GA (1.28+)", v)
}

// Entry is one value of a derived file with the reason it is there.
type Entry struct {
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// Line is one line of a derived file with its reason.
type Line struct {
	Text   string `json:"text"`
	Reason string `json:"reason"`
}

// PodDNS is the DNS configuration the kubelet hands the container runtime
// for a pod, and how it got there.
type PodDNS struct {
	// Policy is the pod's dnsPolicy after API defaulting.
	Policy corev1.DNSPolicy `json:"policy"`
	// Base is "cluster", "host" or "none": the configuration the policy
	// starts from.
	Base     string  `json:"base"`
	Servers  []Entry `json:"nameservers"`
	Searches []Entry `json:"searches"`
	Options  []Entry `json:"options"`
	// Steps are the decisions, in order.
	Steps []model.Step `json:"steps"`
	// Events are the warnings the kubelet would record (DNSConfigForming,
	// MissingClusterDNS).
	Events []string `json:"events,omitempty"`
}

// ResolvConf renders the file the container runtime writes from the
// kubelet's DNS config (containerd and CRI-O: search, nameserver, options).
func (d *PodDNS) ResolvConf() []byte {
	var b strings.Builder
	for _, l := range d.Lines() {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// Lines returns the resolv.conf lines with their reasons.
func (d *PodDNS) Lines() []Line {
	var out []Line
	if len(d.Searches) > 0 {
		vals := make([]string, len(d.Searches))
		reasons := make([]string, 0, len(d.Searches))
		for i, e := range d.Searches {
			vals[i] = e.Value
			reasons = appendUnique(reasons, e.Reason)
		}
		out = append(out, Line{Text: "search " + strings.Join(vals, " "), Reason: strings.Join(reasons, "; ")})
	}
	for _, e := range d.Servers {
		out = append(out, Line{Text: "nameserver " + e.Value, Reason: e.Reason})
	}
	if len(d.Options) > 0 {
		vals := make([]string, len(d.Options))
		reasons := make([]string, 0, len(d.Options))
		for i, e := range d.Options {
			vals[i] = e.Value
			reasons = appendUnique(reasons, e.Value+": "+e.Reason)
		}
		out = append(out, Line{Text: "options " + strings.Join(vals, " "), Reason: strings.Join(reasons, "; ")})
	}
	return out
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// NodeResolv is the node's resolver file as the kubelet parses it.
type NodeResolv struct {
	Servers  []Entry
	Searches []Entry
	Options  []Entry
}

// ParseNodeResolvConf parses the node's file the way the kubelet does: at
// most 10 MB is read; lines starting with # are comments; nameserver lines
// accumulate (first field after the keyword); only the last search line and
// the last options line count; trailing dots are dropped from search
// entries; every other keyword (domain, sortlist, ...) is ignored. A
// "nameserver" line without an address is an error that makes the kubelet
// fail the pod.
func ParseNodeResolvConf(f model.File) (*NodeResolv, error) {
	data := f.Data
	if len(data) > MaxResolvConfBytes {
		data = data[:MaxResolvConfBytes]
	}
	r := &NodeResolv{}
	var errs []string
	for i, raw := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(raw)
		if strings.HasPrefix(t, "#") {
			continue
		}
		fields := strings.Fields(t)
		if len(fields) == 0 {
			continue
		}
		cite := fmt.Sprintf("%s:%d", f.Name(), i+1)
		switch fields[0] {
		case "nameserver":
			if len(fields) < 2 {
				errs = append(errs, cite+": nameserver line without an address")
				continue
			}
			r.Servers = append(r.Servers, Entry{fields[1], "node " + cite})
		case "search":
			r.Searches = r.Searches[:0:0]
			for _, s := range fields[1:] {
				r.Searches = append(r.Searches, Entry{strings.TrimSuffix(s, "."), "node " + cite + " (the last search line wins)"})
			}
		case "options":
			r.Options = r.Options[:0:0]
			for _, o := range fields[1:] {
				r.Options = append(r.Options, Entry{o, "node " + cite + " (the last options line wins)"})
			}
		}
	}
	if len(errs) > 0 {
		return r, fmt.Errorf("kubelet cannot parse %s: %s", f.Name(), strings.Join(errs, "; "))
	}
	return r, nil
}

// UnknownError says that a derivation needs an input nsscope does not
// have; Input names it and the flag that would give it.
type UnknownError struct {
	Input string
}

func (e *UnknownError) Error() string { return "unknown: " + e.Input }

// PodDNSConfig computes the pod's DNS configuration as the kubelet does
// (libc-k8s-resolver.md §B.1-B.2): the node file first, then the base the
// dnsPolicy picks, the pod's dnsConfig merged in, the kubelet's limits
// last. The error is what makes the kubelet refuse to start the pod (an
// unreadable or unparsable node file), or an [*UnknownError] when the
// pod needs the node's file and it is not known.
func (k Kubelet) PodDNSConfig(pod *corev1.Pod) (*PodDNS, error) {
	d := &PodDNS{}
	host, err := k.nodeResolv(d)
	if err != nil {
		return nil, err
	}
	d.Policy, d.Base = podDNSBase(pod, len(k.ClusterDNS) > 0, d)
	if d.Base == BaseHost && k.ResolvConfUnknown != "" {
		return nil, &UnknownError{Input: fmt.Sprintf("the node's resolver file, which dnsPolicy %s on this pod uses (%s)", d.Policy, k.ResolvConfUnknown)}
	}
	switch d.Base {
	case BaseCluster:
		k.clusterBase(d, pod.Namespace, host)
	case BaseHost:
		k.hostBase(d, host)
	}
	mergeDNSConfig(d, pod.Spec.DNSConfig)
	if d.Base == BaseNone && len(d.Servers) == 0 {
		d.step("nameservers", "none", "dnsPolicy None without dnsConfig.nameservers: the API server rejects such a pod; the runtime would write no nameserver", nil)
	}
	limitNameservers(d)
	k.limitSearches(d)
	return d, nil
}

// Bases a dnsPolicy starts from.
const (
	BaseCluster = "cluster" // cluster DNS (--cluster-dns), the cluster search list, ndots:5
	BaseHost    = "host"    // the node's resolver file (or the node itself)
	BaseNone    = "none"    // nothing: only spec.dnsConfig applies
)

func (d *PodDNS) step(key, value, reason string, src *model.Pos) {
	d.Steps = append(d.Steps, model.Step{Key: key, Value: value, Reason: reason, Source: src})
}

// nodeResolv reads the node file the way the kubelet does before looking
// at the policy: always, whatever the policy, and a file it cannot read or
// parse stops the pod.
func (k Kubelet) nodeResolv(d *PodDNS) (NodeResolv, error) {
	switch {
	case k.ResolvConfDisabled:
		d.step("node-file", `""`, "kubelet --resolv-conf is empty: no node file is read", nil)
		return NodeResolv{}, nil
	case k.ResolvConfUnknown != "":
		d.step("node-file", "unknown", "the node's resolver file is not known ("+k.ResolvConfUnknown+"): its search domains are not added", nil)
		return NodeResolv{}, nil
	case k.ResolvConf.Missing:
		return NodeResolv{}, fmt.Errorf("kubelet cannot open --resolv-conf %s: no such file; the pod is not started", k.ResolvConf.Name())
	}
	h, err := ParseNodeResolvConf(k.ResolvConf)
	if err != nil {
		return NodeResolv{}, fmt.Errorf("%w; the pod is not started", err)
	}
	d.step("node-file", k.ResolvConf.Name(), fmt.Sprintf("kubelet --resolv-conf: %d nameserver(s), %d search entries, %d options", len(h.Servers), len(h.Searches), len(h.Options)), &model.Pos{File: k.ResolvConf.Name()})
	return *h, nil
}

// policyRow is one row of the kubelet's table from dnsPolicy to the base
// it starts from; ClusterFirst depends on hostNetwork.
type policyRow struct{ pod, hostNet, why, whyHostNet string }

func policyBase(p corev1.DNSPolicy) (policyRow, bool) {
	switch p {
	case corev1.DNSNone:
		return policyRow{BaseNone, BaseNone, "dnsPolicy None: start from an empty configuration; only spec.dnsConfig applies", ""}, true
	case corev1.DNSClusterFirstWithHostNet:
		return policyRow{BaseCluster, BaseCluster, "dnsPolicy ClusterFirstWithHostNet: cluster DNS whether or not the pod is hostNetwork", ""}, true
	case corev1.DNSClusterFirst:
		return policyRow{BaseCluster, BaseHost, "dnsPolicy ClusterFirst: cluster DNS",
			"dnsPolicy ClusterFirst on a hostNetwork pod falls back to Default: the node's resolver file"}, true
	case corev1.DNSDefault:
		return policyRow{BaseHost, BaseHost, "dnsPolicy Default: the node's resolver file", ""}, true
	}
	return policyRow{}, false
}

// podDNSBase returns the pod's policy after API defaulting and the base it
// picks, recording why.
func podDNSBase(pod *corev1.Pod, haveClusterDNS bool, d *PodDNS) (corev1.DNSPolicy, string) {
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
		d.step("dnsPolicy", string(policy), "spec.dnsPolicy unset: the API server defaults it to ClusterFirst", nil)
	} else {
		d.step("dnsPolicy", string(policy), "spec.dnsPolicy", nil)
	}
	base, why := BaseCluster, fmt.Sprintf("invalid dnsPolicy %q: the kubelet logs an error and uses ClusterFirst", policy)
	if row, ok := policyBase(policy); ok {
		base, why = row.pod, row.why
		if pod.Spec.HostNetwork && row.whyHostNet != "" {
			base, why = row.hostNet, row.whyHostNet
		}
	}
	d.step("base", base, why, nil)
	if base == BaseCluster && !haveClusterDNS {
		base = BaseHost
		d.Events = append(d.Events, fmt.Sprintf("MissingClusterDNS: kubelet does not have ClusterDNS IP configured and cannot create Pod using %q policy. Falling back to %q policy.", corev1.DNSClusterFirst, corev1.DNSDefault))
		d.step("base", base, "no --cluster-dns: the kubelet falls back to Default", nil)
	}
	return policy, base
}

// clusterBase fills d for cluster DNS: only the cluster nameservers, the
// cluster search list before the node's, ndots:5 alone.
func (k Kubelet) clusterBase(d *PodDNS, namespace string, host NodeResolv) {
	for _, ip := range k.ClusterDNS {
		d.Servers = append(d.Servers, Entry{ip.String(), "cluster DNS (kubelet --cluster-dns); the node's nameservers are dropped"})
	}
	searches := host.Searches
	if cd := k.ClusterDomain; cd != "" {
		why := fmt.Sprintf("cluster search domains for namespace %s and --cluster-domain %s", namespace, cd)
		cluster := []Entry{{namespace + ".svc." + cd, why}, {"svc." + cd, why}, {cd, why}}
		searches = omitDuplicates(append(cluster, searches...))
	}
	d.Searches = searches
	d.Options = []Entry{{"ndots:5", "the kubelet's fixed option for cluster DNS; the node's options are dropped"}}
}

// hostBase fills d from the node's file, or, with --resolv-conf="", points
// it at the node itself (one loopback per node IP, of its family).
func (k Kubelet) hostBase(d *PodDNS, host NodeResolv) {
	d.Servers = append(d.Servers, host.Servers...)
	d.Searches = append(d.Searches, host.Searches...)
	d.Options = append(d.Options, host.Options...)
	if !k.ResolvConfDisabled {
		return
	}
	for _, ip := range k.NodeIPs {
		if ip.Is6() && !ip.Is4In6() {
			d.Servers = append(d.Servers, Entry{"::1", "kubelet --resolv-conf=\"\": the node itself (IPv6 node IP " + ip.String() + ")"})
		} else {
			d.Servers = append(d.Servers, Entry{"127.0.0.1", "kubelet --resolv-conf=\"\": the node itself (node IP " + ip.String() + ")"})
		}
	}
	if len(d.Servers) == 0 {
		d.Servers = append(d.Servers, Entry{"127.0.0.1", "kubelet --resolv-conf=\"\": the node itself"})
	}
	d.Searches = []Entry{{".", "kubelet --resolv-conf=\"\": search list \".\""}}
}

// mergeDNSConfig appends the pod's spec.dnsConfig: nameservers and
// searches without duplicates, options merged by name (the pod's win).
func mergeDNSConfig(d *PodDNS, dc *corev1.PodDNSConfig) {
	if dc == nil {
		return
	}
	for i, ns := range dc.Nameservers {
		d.Servers = append(d.Servers, Entry{ns, fmt.Sprintf("spec.dnsConfig.nameservers[%d]", i)})
	}
	d.Servers = omitDuplicates(d.Servers)
	for i, s := range dc.Searches {
		d.Searches = append(d.Searches, Entry{s, fmt.Sprintf("spec.dnsConfig.searches[%d]", i)})
	}
	d.Searches = omitDuplicates(d.Searches)
	d.Options = mergeOptions(d.Options, dc.Options)
	d.step("dnsConfig", fmt.Sprintf("%d nameservers, %d searches, %d options", len(dc.Nameservers), len(dc.Searches), len(dc.Options)),
		"spec.dnsConfig: nameservers and searches appended without duplicates, options merged by name (the pod's win)", nil)
}

// limitNameservers keeps the kubelet's first MaxNameservers.
func limitNameservers(d *PodDNS) {
	if len(d.Servers) <= MaxNameservers {
		return
	}
	d.Servers = d.Servers[:MaxNameservers]
	d.Events = append(d.Events, "DNSConfigForming: Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: "+joinValues(d.Servers))
	d.step("nameservers", joinValues(d.Servers), fmt.Sprintf("more than %d nameservers: the kubelet keeps the first %d", MaxNameservers, MaxNameservers), nil)
}

// limitSearches applies the search limits in the kubelet's order: the
// path count, then overlong entries, then the line length from the end.
func (k Kubelet) limitSearches(d *PodDNS) {
	paths, chars, why := k.SearchLimits()
	d.step("search-limits", fmt.Sprintf("%d paths, %d characters", paths, chars), why, nil)
	exceeded := false
	if len(d.Searches) > paths {
		d.Searches = d.Searches[:paths]
		exceeded = true
		d.step("search", joinValues(d.Searches), fmt.Sprintf("more than %d search paths: cut to the first %d", paths, paths), nil)
	}
	kept := d.Searches[:0:0]
	for _, s := range d.Searches {
		if len(s.Value) > MaxSearchEntry {
			exceeded = true
			d.step("search", s.Value[:20]+"...", fmt.Sprintf("search entry of %d characters dropped (over %d; glibc 2.28 can abort on such entries)", len(s.Value), MaxSearchEntry), nil)
			continue
		}
		kept = append(kept, s)
	}
	d.Searches = kept
	if total := len(joinValues(d.Searches)); total > chars {
		cut := searchesOverLimit(d.Searches, total, chars)
		d.Searches = d.Searches[:len(d.Searches)-cut]
		exceeded = true
		d.step("search", joinValues(d.Searches), fmt.Sprintf("search line of %d characters is over %d: %d entries removed from the end", total, chars, cut), nil)
	}
	if exceeded {
		d.Events = append(d.Events, "DNSConfigForming: Search Line limits were exceeded, some search paths have been omitted, the applied search line is: "+joinValues(d.Searches))
	}
}

// searchesOverLimit counts the entries to drop from the end of a search
// line of total characters so that it fits in chars.
func searchesOverLimit(es []Entry, total, chars int) int {
	cut, cutLen := 0, 0
	for i := len(es) - 1; i >= 0; i-- {
		cutLen += len(es[i].Value) + 1
		cut++
		if total-cutLen <= chars {
			break
		}
	}
	return cut
}

func joinValues(es []Entry) string {
	vals := make([]string, len(es))
	for i, e := range es {
		vals[i] = e.Value
	}
	return strings.Join(vals, " ")
}

func omitDuplicates(es []Entry) []Entry {
	seen := make(map[string]bool, len(es))
	out := es[:0:0]
	for _, e := range es {
		if seen[e.Value] {
			continue
		}
		seen[e.Value] = true
		out = append(out, e)
	}
	return out
}

// mergeOptions merges the pod's dnsConfig options into base by name: a
// pod option replaces the same-named base option in place, new ones are
// appended. (The kubelet rebuilds the list from a map, so its real order
// is not deterministic; nsscope keeps this stable order.)
func mergeOptions(base []Entry, pod []corev1.PodDNSConfigOption) []Entry {
	out := append([]Entry(nil), base...)
	name := func(v string) string {
		if i := strings.IndexByte(v, ':'); i >= 0 {
			return v[:i]
		}
		return v
	}
	// The kubelet's map also collapses duplicate names within the base.
	out = dedupeOptionNames(out, name)
	for i, o := range pod {
		v := o.Name
		if o.Value != nil && *o.Value != "" {
			v += ":" + *o.Value
		}
		reason := fmt.Sprintf("spec.dnsConfig.options[%d]", i)
		replaced := false
		for j := range out {
			if name(out[j].Value) == o.Name {
				reason += " (replaces " + out[j].Value + ")"
				out[j] = Entry{v, reason}
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, Entry{v, reason})
		}
	}
	return out
}

func dedupeOptionNames(es []Entry, name func(string) string) []Entry {
	idx := map[string]int{}
	out := es[:0:0]
	for _, e := range es {
		n := name(e.Value)
		if j, ok := idx[n]; ok {
			out[j] = e
			continue
		}
		idx[n] = len(out)
		out = append(out, e)
	}
	return out
}
