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
	Managed bool `json:"managed"`
	// Unknown marks a file nsscope cannot derive (the node's file of a
	// hostNetwork pod is not known); Reason names the missing input.
	Unknown bool   `json:"unknown,omitempty"`
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

// hostsFor derives the /etc/hosts of container c of pod (libc-k8s-resolver.md
// §B.3). podIPs are the pod's addresses (the node's for hostNetwork pods);
// node is the node's /etc/hosts, used for hostNetwork pods (nodeUnknown
// says why it is not known, if it is not).
func hostsFor(pod *corev1.Pod, c *corev1.Container, podIPs []string, clusterDomain string, node model.File, nodeUnknown string) *PodHosts {
	host, domain := HostnameAndDomain(pod, clusterDomain)
	h := &PodHosts{Hostname: host, Domain: domain}
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/etc/hosts" {
			h.Reason = fmt.Sprintf("container mounts volume %q at /etc/hosts: the kubelet does not manage the file", m.Name)
			return h
		}
	}
	// A hostNetwork pod always has the node's IPs, known here or not.
	if len(podIPs) == 0 && !pod.Spec.HostNetwork {
		h.Reason = "the pod has no IP: the kubelet mounts no /etc/hosts, the image's own file is used"
		return h
	}
	h.Managed = true
	if pod.Spec.HostNetwork {
		switch {
		case nodeUnknown != "":
			h.Managed = false
			h.Unknown = true
			h.Reason = "hostNetwork pod: the kubelet copies the node's /etc/hosts, which is not known (" + nodeUnknown + ")"
			return h
		case node.Missing:
			h.Managed = false
			h.Reason = fmt.Sprintf("hostNetwork pod but the node's %s cannot be read: the kubelet fails to start the container", node.Name())
			return h
		}
		h.hostNetworkLines(node)
	} else {
		h.Reason = "the kubelet writes a managed file for a pod with its own network"
		h.managedLines(podIPs)
	}
	h.aliasLines(pod, node)
	return h
}

func (h *PodHosts) add(text, reason string) { h.Lines = append(h.Lines, Line{text, reason}) }

// hostNetworkLines copies the node's file under the kubelet's header.
func (h *PodHosts) hostNetworkLines(node model.File) {
	h.Reason = "hostNetwork pod: the kubelet copies the node's /etc/hosts under its own header"
	h.add(ManagedHostsHeaderHostNetwork, "kubelet header for a hostNetwork pod")
	if text := strings.TrimSuffix(string(node.Data), "\n"); text != "" {
		for i, l := range strings.Split(text, "\n") {
			h.add(l, fmt.Sprintf("node %s:%d", node.Name(), i+1))
		}
	}
	if !hostsHasName(node.Data, "localhost") {
		h.Reason += "; the node's file has no localhost entry, so neither has the pod"
	}
}

// managedLines are the kubelet's own file for a pod with its own network
// (note its fe00:: lines, unlike Docker's ff0x:: ones).
func (h *PodHosts) managedLines(podIPs []string) {
	h.add(ManagedHostsHeader, "kubelet header")
	h.add("127.0.0.1\tlocalhost", "kubelet: IPv4 loopback")
	h.add("::1\tlocalhost ip6-localhost ip6-loopback", "kubelet: IPv6 loopback, written whether or not IPv6 works (kubernetes#124686)")
	h.add("fe00::0\tip6-localnet", "kubelet: fixed entry (fe00::, not Docker's ff00::)")
	h.add("fe00::0\tip6-mcastprefix", "kubelet: fixed entry")
	h.add("fe00::1\tip6-allnodes", "kubelet: fixed entry")
	h.add("fe00::2\tip6-allrouters", "kubelet: fixed entry")
	for _, ip := range podIPs {
		if h.Domain != "" {
			h.add(fmt.Sprintf("%s\t%s.%s\t%s", ip, h.Hostname, h.Domain, h.Hostname), "pod IP with hostname and spec.subdomain")
		} else {
			h.add(fmt.Sprintf("%s\t%s", ip, h.Hostname), "pod IP with hostname")
		}
	}
}

// aliasLines appends spec.hostAliases under the kubelet's header.
func (h *PodHosts) aliasLines(pod *corev1.Pod, node model.File) {
	if len(pod.Spec.HostAliases) == 0 {
		return
	}
	// The kubelet writes "\n" before the aliases; after a node file
	// without a final newline that only ends its last line.
	if !pod.Spec.HostNetwork || len(node.Data) == 0 || strings.HasSuffix(string(node.Data), "\n") {
		h.add("", "kubelet: blank line before hostAliases")
	}
	h.add("# Entries added by HostAliases.", "kubelet: hostAliases header")
	for i, a := range pod.Spec.HostAliases {
		h.add(fmt.Sprintf("%s\t%s", a.IP, strings.Join(a.Hostnames, "\t")), fmt.Sprintf("spec.hostAliases[%d]", i))
	}
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
