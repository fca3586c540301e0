package scan

import (
	"fmt"
	"strings"

	"github.com/nsscope/nsscope/model"
)

// RuntimeKind names what will run the image, which decides the
// /etc/resolv.conf and /etc/hosts the programs see: an image carries
// neither file in its final form, Docker and the kubelet inject them.
type RuntimeKind string

const (
	// Kubernetes: the kubelet writes /etc/hosts and the CRI runtime the
	// resolv.conf the kubelet asks for (dnsPolicy ClusterFirst by default).
	Kubernetes RuntimeKind = "kubernetes"
	// Docker: `docker run` on the default bridge network.
	Docker RuntimeKind = "docker"
	// None: the files of the target itself (a host's root, a chroot).
	None RuntimeKind = "none"
)

// ParseRuntimeKind parses a --runtime value.
func ParseRuntimeKind(s string) (RuntimeKind, error) {
	switch k := RuntimeKind(strings.ToLower(s)); k {
	case Kubernetes, Docker, None:
		return k, nil
	}
	return "", fmt.Errorf("unknown runtime %q (want kubernetes, docker or none)", s)
}

// Defaults of the Kubernetes assumption (kubeadm's and kind's defaults).
const (
	DefaultNamespace     = "default"
	DefaultClusterDomain = "cluster.local"
	DefaultClusterDNS    = "10.96.0.10"
	// defaultPodIP and defaultPodName fill the pod's own line of the
	// kubelet-managed /etc/hosts; they decide nothing about the names
	// checked unless a name is the pod's own.
	defaultPodIP   = "10.244.0.10"
	defaultPodName = "pod"
	// Docker's default bridge gives the first container this address, and
	// its hostname is the short container id.
	defaultContainerIP   = "172.17.0.2"
	defaultContainerName = "container"
)

// Runtime is what is assumed about the environment the target runs in.
// The zero value of every field but Kind means "the default".
type Runtime struct {
	Kind RuntimeKind
	// Kubernetes: the pod's namespace, the cluster domain and the cluster
	// DNS service address (kubelet clusterDNS); HostNetwork selects a
	// hostNetwork pod, which gets the node's files (ClusterFirst then
	// falls back to Default).
	Namespace     string
	ClusterDomain string
	ClusterDNS    string
	HostNetwork   bool
	// NodeResolvConf and NodeHosts are the node's files, used for a
	// hostNetwork pod. The caller reads them (the machine nsscope runs on,
	// unless told otherwise); nil means unknown.
	NodeResolvConf *model.File
	NodeHosts      *model.File
	// ResolvConf and Hosts replace what the runtime would inject
	// (--resolv-conf, --hosts): the program sees them verbatim.
	ResolvConf *model.File
	Hosts      *model.File
}

// files is what the runtime decides: the resolv.conf and hosts the program
// sees, its host name, and the assumptions made, in words.
type files struct {
	resolv, hosts model.File
	hostname      string
	assumptions   []string
}

// apply returns the files the program sees given the target's own copies.
func (rt Runtime) apply(targetResolv, targetHosts model.File) (files, error) {
	var out files
	switch rt.Kind {
	case Kubernetes:
		ns := or(rt.Namespace, DefaultNamespace)
		domain := or(rt.ClusterDomain, DefaultClusterDomain)
		dnsIP := or(rt.ClusterDNS, DefaultClusterDNS)
		out.hostname = defaultPodName
		if rt.HostNetwork {
			if rt.NodeResolvConf == nil || rt.NodeHosts == nil {
				return out, fmt.Errorf("a hostNetwork pod uses the node's /etc/resolv.conf and /etc/hosts: give both (--resolv-conf, --hosts)")
			}
			out.resolv = *rt.NodeResolvConf
			out.resolv.Path = "/etc/resolv.conf"
			out.hosts = *rt.NodeHosts
			out.hosts.Path = "/etc/hosts"
			out.assumptions = append(out.assumptions,
				fmt.Sprintf("runtime kubernetes, hostNetwork pod: dnsPolicy ClusterFirst falls back to Default, so /etc/resolv.conf is the node's (%s)", out.resolv.Name()),
				fmt.Sprintf("/etc/hosts is the node's file (%s), which the kubelet copies into hostNetwork pods", out.hosts.Name()))
			break
		}
		search := []string{ns + ".svc." + domain, "svc." + domain, domain}
		resolv := fmt.Sprintf("nameserver %s\nsearch %s\noptions ndots:5\n", dnsIP, strings.Join(search, " "))
		out.resolv = model.File{Path: "/etc/resolv.conf", Origin: "kubelet-written /etc/resolv.conf (assumed)", Data: []byte(resolv)}
		out.hosts = model.File{Path: "/etc/hosts", Origin: "kubelet-managed /etc/hosts (assumed)", Data: []byte(kubeletHosts(defaultPodIP, defaultPodName))}
		out.assumptions = append(out.assumptions,
			fmt.Sprintf("runtime kubernetes, dnsPolicy ClusterFirst, namespace %s: /etc/resolv.conf is %q (one cluster nameserver, the cluster search list, ndots:5; the node's search domains, unknown here, are not added)", ns, strings.ReplaceAll(strings.TrimSpace(resolv), "\n", "; ")),
			"/etc/hosts is the kubelet-managed file: 127.0.0.1 localhost, ::1 localhost ip6-localhost ip6-loopback, the fe00:: lines, and the pod's own line "+defaultPodIP+" "+defaultPodName)
	case Docker:
		out.hostname = defaultContainerName
		resolv := "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
		out.resolv = model.File{Path: "/etc/resolv.conf", Origin: "Docker-written /etc/resolv.conf (assumed)", Data: []byte(resolv)}
		out.hosts = model.File{Path: "/etc/hosts", Origin: "Docker-written /etc/hosts (assumed)", Data: []byte(dockerHosts(defaultContainerIP, defaultContainerName))}
		out.assumptions = append(out.assumptions,
			"runtime docker, default bridge network: /etc/resolv.conf is the Docker host's file without its loopback nameservers; that file is unknown here, so Docker's fallback \"nameserver 8.8.8.8; nameserver 8.8.4.4\" is assumed (what Docker writes when the host lists only local nameservers, e.g. systemd-resolved); give --resolv-conf for the real one",
			"/etc/hosts is Docker's default: 127.0.0.1 localhost, ::1 localhost ip6-localhost ip6-loopback, the ff0x:: lines, and the container's own line "+defaultContainerIP+" "+defaultContainerName)
	case None, "":
		out.resolv, out.hosts = targetResolv, targetHosts
		out.assumptions = append(out.assumptions, "runtime none: /etc/resolv.conf and /etc/hosts are the target's own files")
	default:
		return out, fmt.Errorf("unknown runtime %q", rt.Kind)
	}
	if rt.ResolvConf != nil {
		out.resolv = *rt.ResolvConf
		out.resolv.Path = "/etc/resolv.conf"
		out.assumptions = append(out.assumptions, fmt.Sprintf("/etc/resolv.conf is %s, as given", rt.ResolvConf.Name()))
	}
	if rt.Hosts != nil {
		out.hosts = *rt.Hosts
		out.hosts.Path = "/etc/hosts"
		out.assumptions = append(out.assumptions, fmt.Sprintf("/etc/hosts is %s, as given", rt.Hosts.Name()))
	}
	return out, nil
}

// kubeletHosts is the /etc/hosts the kubelet writes for a pod that is not
// hostNetwork (note its fe00:: lines, unlike Docker's ff0x:: ones).
func kubeletHosts(ip, name string) string {
	return "# Kubernetes-managed hosts file.\n" +
		"127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\n" +
		"fe00::0\tip6-mcastprefix\n" +
		"fe00::1\tip6-allnodes\n" +
		"fe00::2\tip6-allrouters\n" +
		ip + "\t" + name + "\n"
}

// dockerHosts is the /etc/hosts Docker writes for a container.
func dockerHosts(ip, name string) string {
	return "127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\n" +
		"ff00::0\tip6-mcastprefix\n" +
		"ff02::1\tip6-allnodes\n" +
		"ff02::2\tip6-allrouters\n" +
		ip + "\t" + name + "\n"
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
