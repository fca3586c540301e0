package kubeio

import (
	"fmt"
	"net/netip"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
)

// NodeSpec is what the caller says about the node a pod runs on (the node
// flags of pod, apiserver and cluster), each field zero when not said.
type NodeSpec struct {
	// Facts are one node's facts (as `nsscope node` prints them).
	Facts *kube.NodeFacts
	// Host, when Facts is nil, reads this host's facts: nsscope runs on
	// the node. Nil means the node is elsewhere: what no other field
	// gives is unknown, and reported as such.
	Host *Host
	// ClusterDNS is --cluster-dns when ClusterDNSSet (empty: none).
	ClusterDNS    []netip.Addr
	ClusterDNSSet bool
	// ClusterDomain is --cluster-domain when not nil ("": none).
	ClusterDomain *string
	// ResolvConf is the node file kubelet --resolv-conf names;
	// ResolvConfDisabled is --resolv-conf="".
	ResolvConf         *model.File
	ResolvConfDisabled bool
	Hosts              *model.File
	NodeIPs            []netip.Addr
	KubeletVersion     model.Version
	ExpandedDNSConfig  *bool
	// Addrs are the node's interfaces; IPv6 its IPv6 state.
	Addrs []kube.IfAddr
	IPv6  kube.IPv6State
	// Missing names the flags that would give an unknown node
	// ("--node-facts or --node-resolv-conf and --node-hosts").
	Missing string
}

// Node builds the node and says, in words, where each fact came from.
func (s NodeSpec) Node() (kube.Node, []string, error) {
	missing := s.Missing
	if missing == "" {
		missing = "give --node-facts, or --node-resolv-conf and --node-hosts"
	}
	n := kube.UnknownNode(kube.DefaultNodeName, missing)
	var assumed []string
	facts := s.Facts
	switch {
	case facts != nil:
		n = facts.Apply(n)
		assumed = FactsAssumptions(facts, "node "+facts.Node+" (its facts)")
	case s.Host != nil:
		nf, err := s.Host.Facts()
		if err != nil {
			return n, nil, err
		}
		facts = nf
		n = nf.Apply(n)
		assumed = append(FactsAssumptions(nf, "this host"), nf.Notes...)
	}
	assumed = append(assumed, s.kubelet(&n, facts)...)
	if s.Hosts != nil {
		n.Hosts, n.HostsUnknown = *s.Hosts, ""
	}
	if s.NodeIPs != nil {
		n.IPs, n.Kubelet.NodeIPs = nil, s.NodeIPs
		for _, a := range s.NodeIPs {
			n.IPs = append(n.IPs, a.String())
		}
	}
	if s.Addrs != nil {
		n.Addrs = s.Addrs
	}
	switch {
	case s.IPv6 != "":
		n.IPv6 = s.IPv6
	case s.Addrs != nil && !kube.HasIPv6Loopback(s.Addrs):
		n.IPv6 = kube.IPv6Off
	}
	if n.Kubelet.ResolvConfUnknown != "" {
		assumed = append(assumed, "node resolver file: unknown ("+missing+"): cluster DNS pods get no node search domains; pods that use the node's nameservers cannot be derived")
	}
	if n.HostsUnknown != "" {
		assumed = append(assumed, "node /etc/hosts: unknown ("+missing+"): hostNetwork pods cannot be derived")
	}
	return n, assumed, nil
}

// kubelet applies the kubelet flags to n, whose facts (nil: none) may
// have set its cluster DNS.
func (s NodeSpec) kubelet(n *kube.Node, facts *kube.NodeFacts) []string {
	var assumed []string
	switch {
	case s.ClusterDNSSet:
		n.Kubelet.ClusterDNS = s.ClusterDNS
	case facts == nil || facts.Kubelet == nil || len(facts.Kubelet.ClusterDNS) == 0:
		assumed = append(assumed, fmt.Sprintf("kubelet --cluster-dns %s (kubeadm's default; pass --cluster-dns)", kube.DefaultClusterDNS))
	}
	if s.ClusterDomain != nil {
		n.Kubelet.ClusterDomain = *s.ClusterDomain
	}
	switch {
	case s.ResolvConfDisabled:
		n.Kubelet.ResolvConfDisabled, n.Kubelet.ResolvConfUnknown = true, ""
	case s.ResolvConf != nil:
		n.Kubelet.ResolvConfDisabled, n.Kubelet.ResolvConfUnknown = false, ""
		n.Kubelet.ResolvConf = *s.ResolvConf
	}
	if !s.KubeletVersion.IsZero() {
		n.Kubelet.Version = s.KubeletVersion
	}
	if s.ExpandedDNSConfig != nil {
		n.Kubelet.ExpandedDNSConfig = s.ExpandedDNSConfig
	}
	return assumed
}
