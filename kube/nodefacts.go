package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/nsscope/nsscope/internal/jsonstyle"
	"github.com/nsscope/nsscope/model"
)

// NodeFactsVersion is the version of the node facts JSON shape. Version 2
// writes each file as every other output does (model.File: data,
// read_error, target); version 1 had content and error.
const NodeFactsVersion = 2

// Node file paths `nsscope node` reads (inside --root).
const (
	PathResolvedUpstream = "/run/systemd/resolve/resolv.conf"
	PathKubeletConfig    = "/var/lib/kubelet/config.yaml"
	PathManifests        = "/etc/kubernetes/manifests"
	// PathDisableIPv6 is read by the caller from a proc file system of the
	// node's network namespace (not from the root).
	PathDisableIPv6 = "sys/net/ipv6/conf/all/disable_ipv6"
)

// ConfigDNS is what the kubelet config file says about DNS.
type ConfigDNS struct {
	ResolvConf    *string  `json:"resolvConf,omitempty"`
	ClusterDNS    []string `json:"clusterDNS,omitempty"`
	ClusterDomain string   `json:"clusterDomain,omitempty"`
}

// NodeFacts are the node-level facts `nsscope node` reports and `nsscope
// cluster --node-facts` consumes.
type NodeFacts struct {
	SchemaVersion int    `json:"schema_version"`
	Node          string `json:"node"`
	// Files are /etc/resolv.conf, /etc/hosts, /etc/nsswitch.conf,
	// systemd-resolved's upstream file and the kubelet config, by path.
	Files map[string]model.File `json:"files"`
	// Kubelet is parsed from the kubelet config file, when present.
	Kubelet *ConfigDNS `json:"kubelet,omitempty"`
	// StaticPods are the manifests under /etc/kubernetes/manifests.
	StaticPods []model.File `json:"static_pods"`
	Interfaces []IfAddr     `json:"interfaces"`
	// DisableIPv6 is net.ipv6.conf.all.disable_ipv6 ("0", "1"), "absent"
	// when the kernel has no IPv6, or empty when unknown.
	DisableIPv6 string `json:"disable_ipv6,omitempty"`
	// Notes are problems met while collecting.
	Notes []string `json:"notes,omitempty"`
}

// ParseNodeFacts reads what `nsscope node` printed.
func ParseNodeFacts(data []byte) (*NodeFacts, error) {
	var nf NodeFacts
	if err := json.Unmarshal(data, &nf); err != nil {
		return nil, fmt.Errorf("not nsscope node facts: %w", jsonstyle.Describe(err))
	}
	if nf.SchemaVersion != NodeFactsVersion {
		return nil, fmt.Errorf("node facts schema_version %d, want %d: collect them again with this release's 'nsscope node'", nf.SchemaVersion, NodeFactsVersion)
	}
	if nf.Node == "" {
		return nil, errors.New("node facts without a node name")
	}
	return &nf, nil
}

// nodeFile turns a fact into a model.File cited as "<node>:<path>".
func (nf *NodeFacts) nodeFile(p string) model.File {
	f, ok := nf.Files[p]
	if !ok {
		f = model.File{Missing: true}
	}
	f.Path, f.Origin = p, nf.Node+":"+p
	return f
}

// ResolvedStub is systemd-resolved's stub listener, the only nameserver
// of /etc/resolv.conf on a host where systemd-resolved manages it.
const ResolvedStub = "127.0.0.53"

// ResolvConfChoice says which file the node's kubelet reads as its
// --resolv-conf, and why: the kubelet config's resolvConf when it has one
// ("" disables the node file); else, on a node without a kubelet config
// whose /etc/resolv.conf only points at systemd-resolved's stub and whose
// upstream file exists, the upstream file (kubeadm writes resolvConf:
// /run/systemd/resolve/resolv.conf into the kubelet config when
// systemd-resolved is active, because the stub would loop inside pods);
// else the kubelet's default, /etc/resolv.conf.
func (nf *NodeFacts) ResolvConfChoice() (path string, disabled bool, why string) {
	if k := nf.Kubelet; k != nil && k.ResolvConf != nil {
		if *k.ResolvConf == "" {
			return "", true, "the kubelet config " + PathKubeletConfig + " sets resolvConf: \"\" (no node file)"
		}
		return *k.ResolvConf, false, "the kubelet config " + PathKubeletConfig + " sets resolvConf: " + *k.ResolvConf
	}
	if nf.Kubelet == nil && onlyResolvedStub(string(nf.Files[model.PathResolvConf].Data)) {
		if up, ok := nf.Files[PathResolvedUpstream]; ok && !up.Missing && up.ReadErr == "" {
			return PathResolvedUpstream, false, model.PathResolvConf + " only lists systemd-resolved's stub " + ResolvedStub + " and there is no kubelet config: kubeadm configures the kubelet with systemd-resolved's upstream file " + PathResolvedUpstream
		}
	}
	if nf.Kubelet != nil {
		return model.PathResolvConf, false, "the kubelet config sets no resolvConf: the kubelet's default " + model.PathResolvConf
	}
	return model.PathResolvConf, false, "no kubelet config: the kubelet's default --resolv-conf " + model.PathResolvConf
}

// onlyResolvedStub reports whether a resolv.conf's nameservers are all
// systemd-resolved's stub (and there is at least one).
func onlyResolvedStub(content string) bool {
	n := 0
	for _, l := range strings.Split(content, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		if f[1] != ResolvedStub {
			return false
		}
		n++
	}
	return n > 0
}

// Apply applies the facts to base (whose kubelet flags are kept where the
// facts say nothing): the kubelet's resolv.conf (see ResolvConfChoice),
// cluster DNS and domain from the kubelet config, the node's /etc/hosts,
// interfaces and IPv6 state. What the facts give is known, whatever base
// said.
func (nf *NodeFacts) Apply(base Node) Node {
	n := base
	n.Name = nf.Node
	rc, disabled, _ := nf.ResolvConfChoice()
	n.Kubelet.ResolvConfDisabled = disabled
	if k := nf.Kubelet; k != nil {
		if len(k.ClusterDNS) > 0 {
			n.Kubelet.ClusterDNS = nil
			for _, s := range k.ClusterDNS {
				if a, err := netip.ParseAddr(s); err == nil {
					n.Kubelet.ClusterDNS = append(n.Kubelet.ClusterDNS, a)
				}
			}
		}
		if k.ClusterDomain != "" {
			n.Kubelet.ClusterDomain = k.ClusterDomain
		}
	}
	if !disabled {
		n.Kubelet.ResolvConf = nf.nodeFile(rc)
	}
	n.Kubelet.ResolvConfUnknown = ""
	n.Hosts, n.HostsUnknown = nf.nodeFile(model.PathHosts), ""
	if len(nf.Interfaces) > 0 {
		n.Addrs = nf.Interfaces
		n.IPs = nil
		n.Kubelet.NodeIPs = nil
		for _, a := range nf.Interfaces {
			if !a.Addr().IsLoopback() && !a.Addr().IsLinkLocalUnicast() {
				n.IPs = append(n.IPs, a.Addr().String())
				n.Kubelet.NodeIPs = append(n.Kubelet.NodeIPs, a.Addr())
			}
		}
	}
	n.IPv6 = nf.ipv6State()
	return n
}

// ipv6State reads the IPv6 state from disable_ipv6, else from whether ::1
// is configured.
func (nf *NodeFacts) ipv6State() IPv6State {
	switch {
	case nf.DisableIPv6 == "absent":
		return IPv6Absent
	case nf.DisableIPv6 == "1":
		return IPv6Off
	case len(nf.Interfaces) > 0 && !HasIPv6Loopback(nf.Interfaces):
		return IPv6Off
	}
	return IPv6On
}

// StaticPodWorkloads decodes the node's static pod manifests.
func (nf *NodeFacts) StaticPodWorkloads() *Decoded {
	all := &Decoded{}
	for _, f := range nf.StaticPods {
		if len(f.Data) == 0 {
			continue
		}
		d := Decode(nf.Node+":"+f.Path, f.Data)
		for _, w := range d.Workloads {
			// The kubelet names a static pod's mirror "<name>-<node>".
			w.Pod.Name = w.Pod.Name + "-" + nf.Node
			w.Pod.Spec.NodeName = nf.Node
		}
		all.Workloads = append(all.Workloads, d.Workloads...)
		all.Errors = append(all.Errors, d.Errors...)
		all.Skipped = append(all.Skipped, d.Skipped...)
	}
	return all
}
