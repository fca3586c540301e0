package kube

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/nsscope/nsscope/model"
)

// Headers the kubelet writes at the top of a pod's /etc/hosts.
const (
	ManagedHostsHeader            = "# Kubernetes-managed hosts file."
	ManagedHostsHeaderHostNetwork = "# Kubernetes-managed hosts file (host network)."
)

// PodHosts is the /etc/hosts a container sees, line by line with reasons.
type PodHosts struct {
	// Managed is false when the kubelet leaves /etc/hosts alone (the
	// container mounts its own file there, or the pod has no IP yet); the
	// image's own file is then what the program reads.
	Managed bool   `json:"managed"`
	Reason  string `json:"reason"`
	Lines   []Line `json:"lines"`
	// Hostname is the pod's host name (spec.hostname or the pod name,
	// at most 63 characters); Domain the subdomain's FQDN part.
	Hostname string `json:"hostname"`
	Domain   string `json:"domain,omitempty"`
}

// Content renders the file.
func (h *PodHosts) Content() []byte {
	var b strings.Builder
	for _, l := range h.Lines {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// HostnameAndDomain returns the pod's host name and domain as the kubelet
// forms them: spec.hostname or else the pod name, cut to 63 characters with
// trailing '-' and '.' trimmed; the domain is
// <subdomain>.<namespace>.svc.<clusterDomain> when spec.subdomain is set.
func HostnameAndDomain(pod *corev1.Pod, clusterDomain string) (string, string) {
	h := pod.Name
	if pod.Spec.Hostname != "" {
		h = pod.Spec.Hostname
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	d := ""
	if pod.Spec.Subdomain != "" {
		d = fmt.Sprintf("%s.%s.svc.%s", pod.Spec.Subdomain, pod.Namespace, clusterDomain)
	}
	return h, d
}

// HostsFor derives the /etc/hosts of container c of pod (libc-k8s-resolver.md
// §B.3). podIPs are the pod's addresses (the node's for hostNetwork pods);
// node is the node's /etc/hosts, used for hostNetwork pods.
func HostsFor(pod *corev1.Pod, c *corev1.Container, podIPs []string, clusterDomain string, node model.File) *PodHosts {
	host, domain := HostnameAndDomain(pod, clusterDomain)
	h := &PodHosts{Hostname: host, Domain: domain}
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/etc/hosts" {
			h.Reason = fmt.Sprintf("container mounts volume %q at /etc/hosts: the kubelet does not manage the file", m.Name)
			return h
		}
	}
	if len(podIPs) == 0 {
		h.Reason = "the pod has no IP: the kubelet mounts no /etc/hosts, the image's own file is used"
		return h
	}
	h.Managed = true
	add := func(text, reason string) { h.Lines = append(h.Lines, Line{text, reason}) }
	if pod.Spec.HostNetwork {
		h.Reason = "hostNetwork pod: the kubelet copies the node's /etc/hosts under its own header"
		add(ManagedHostsHeaderHostNetwork, "kubelet header for a hostNetwork pod")
		if node.Missing {
			h.Managed = false
			h.Lines = nil
			h.Reason = fmt.Sprintf("hostNetwork pod but the node's %s cannot be read: the kubelet fails to start the container", node.Name())
			return h
		}
		text := strings.TrimSuffix(string(node.Data), "\n")
		if text != "" {
			for i, l := range strings.Split(text, "\n") {
				add(l, fmt.Sprintf("node %s:%d", node.Name(), i+1))
			}
		}
		if !hostsHasName(node.Data, "localhost") {
			h.Reason += "; the node's file has no localhost entry, so neither has the pod"
		}
	} else {
		h.Reason = "the kubelet writes a managed file for a pod with its own network"
		add(ManagedHostsHeader, "kubelet header")
		add("127.0.0.1\tlocalhost", "kubelet: IPv4 loopback")
		add("::1\tlocalhost ip6-localhost ip6-loopback", "kubelet: IPv6 loopback, written whether or not IPv6 works (kubernetes#124686)")
		add("fe00::0\tip6-localnet", "kubelet: fixed entry (fe00::, not Docker's ff00::)")
		add("fe00::0\tip6-mcastprefix", "kubelet: fixed entry")
		add("fe00::1\tip6-allnodes", "kubelet: fixed entry")
		add("fe00::2\tip6-allrouters", "kubelet: fixed entry")
		for _, ip := range podIPs {
			if domain != "" {
				add(fmt.Sprintf("%s\t%s.%s\t%s", ip, host, domain, host), "pod IP with hostname and spec.subdomain")
			} else {
				add(fmt.Sprintf("%s\t%s", ip, host), "pod IP with hostname")
			}
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		// The kubelet writes "\n" before the aliases; after a node file
		// without a final newline that only ends its last line.
		if !pod.Spec.HostNetwork || len(node.Data) == 0 || strings.HasSuffix(string(node.Data), "\n") {
			add("", "kubelet: blank line before hostAliases")
		}
		add("# Entries added by HostAliases.", "kubelet: hostAliases header")
		for i, a := range pod.Spec.HostAliases {
			add(fmt.Sprintf("%s\t%s", a.IP, strings.Join(a.Hostnames, "\t")), fmt.Sprintf("spec.hostAliases[%d]", i))
		}
	}
	return h
}

// hostsHasName reports whether a hosts file lists name (case-insensitively,
// ignoring comments).
func hostsHasName(data []byte, name string) bool {
	for _, l := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		f := strings.Fields(l)
		for _, n := range f[min(1, len(f)):] {
			if strings.EqualFold(n, name) {
				return true
			}
		}
	}
	return false
}
