package grade

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/sysenv"
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

// Docker's default bridge gives the first container this address, and its
// hostname is the short container id.
const (
	defaultContainerIP   = "172.17.0.2"
	defaultContainerName = "container"
)

// Runtime is what is assumed about the environment the target runs in.
// The zero value of every field but Kind means "the default".
type Runtime struct {
	Kind RuntimeKind
	// Kubernetes: the pod's namespace, the cluster domain and the cluster
	// DNS service address (kubelet clusterDNS), empty for kube's
	// defaults (kube.DefaultNamespace, ...); HostNetwork selects a
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
// sees, its host name, and the assumptions made, in words: the runtime
// (kind, network) and where each file comes from, the runtime's or the
// one given in its place.
type files struct {
	resolv, hosts       model.File
	hostname            string
	runtime             string
	resolvWhy, hostsWhy string
	assumptions         []string
}

// apply returns the files the program sees given the target's own copies.
func (rt Runtime) apply(targetResolv, targetHosts model.File) (files, error) {
	var out files
	switch rt.Kind {
	case Kubernetes:
		var err error
		if out, err = rt.kubelet(); err != nil {
			return out, err
		}
	case Docker:
		out.hostname = defaultContainerName
		resolv := "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
		out.resolv = model.File{Path: "/etc/resolv.conf", Origin: "Docker-written /etc/resolv.conf (assumed)", Data: []byte(resolv)}
		out.hosts = model.File{Path: "/etc/hosts", Origin: "Docker-written /etc/hosts (assumed)", Data: []byte(dockerHosts(defaultContainerIP, defaultContainerName))}
		out.runtime = "runtime docker, default bridge network"
		out.resolvWhy = "/etc/resolv.conf is the Docker host's file without its loopback nameservers; that file is unknown here, so Docker's fallback \"nameserver 8.8.8.8; nameserver 8.8.4.4\" is assumed (what Docker writes when the host lists only local nameservers, e.g. systemd-resolved); give --resolv-conf for the real one"
		out.hostsWhy = "/etc/hosts is Docker's default: 127.0.0.1 localhost, ::1 localhost ip6-localhost ip6-loopback, the ff0x:: lines, and the container's own line " + defaultContainerIP + " " + defaultContainerName
	case None, "":
		out.resolv, out.hosts = targetResolv, targetHosts
		out.runtime = "runtime none"
		out.resolvWhy, out.hostsWhy = "/etc/resolv.conf is the target's own file", "/etc/hosts is the target's own file"
	default:
		return out, fmt.Errorf("unknown runtime %q", rt.Kind)
	}
	if rt.ResolvConf != nil {
		out.resolv = *rt.ResolvConf
		out.resolv.Path = "/etc/resolv.conf"
		out.resolvWhy = GivenAssumption(model.PathResolvConf, *rt.ResolvConf)
	}
	if rt.Hosts != nil {
		out.hosts = *rt.Hosts
		out.hosts.Path = "/etc/hosts"
		out.hostsWhy = GivenAssumption(model.PathHosts, *rt.Hosts)
	}
	out.assumptions = []string{out.runtime + ": " + out.resolvWhy, out.hostsWhy}
	return out, nil
}

// kubelet derives the files the kubelet gives the image's container with
// kube's pod model: an assumed pod (dnsPolicy ClusterFirst) in the
// namespace, on a node with the cluster DNS and domain and, for a
// hostNetwork pod, the node's files.
func (rt Runtime) kubelet() (files, error) {
	var out files
	node := kube.UnknownNode(kube.DefaultNodeName, "give --resolv-conf and --hosts: the node's files")
	if rt.ClusterDomain != "" {
		node.Kubelet.ClusterDomain = rt.ClusterDomain
	}
	if rt.ClusterDNS != "" {
		ip, err := netip.ParseAddr(rt.ClusterDNS)
		if err != nil {
			return out, fmt.Errorf("cluster DNS %q: not an IP address", rt.ClusterDNS)
		}
		node.Kubelet.ClusterDNS = []netip.Addr{ip}
	}
	if rt.NodeResolvConf != nil {
		node.Kubelet.ResolvConf, node.Kubelet.ResolvConfUnknown = *rt.NodeResolvConf, ""
	}
	if rt.NodeHosts != nil {
		node.Hosts, node.HostsUnknown = *rt.NodeHosts, ""
	}
	pod := kube.AssumedPod(rt.Namespace, rt.HostNetwork)
	if rt.HostNetwork && (rt.NodeResolvConf == nil || rt.NodeHosts == nil) {
		return out, fmt.Errorf("a hostNetwork pod uses the node's /etc/resolv.conf and /etc/hosts: give both (--resolv-conf, --hosts)")
	}
	dns, err := node.PodDNS(pod)
	if err != nil {
		return out, err
	}
	ips, _ := kube.PodIPs(pod, node)
	hosts := node.PodHosts(pod, &pod.Spec.Containers[0], ips)
	out.hostname = hosts.Hostname
	out.resolv = model.File{Path: model.PathResolvConf, Origin: "kubelet-written /etc/resolv.conf (assumed)", Data: dns.ResolvConf()}
	out.hosts = model.File{Path: model.PathHosts, Origin: "kubelet-managed /etc/hosts (assumed)", Data: hosts.Content()}
	if rt.HostNetwork {
		out.hostname = node.Name
		out.runtime = "runtime kubernetes, hostNetwork pod"
		out.resolvWhy = fmt.Sprintf("dnsPolicy ClusterFirst falls back to Default, so /etc/resolv.conf is the node's (%s)", rt.NodeResolvConf.Name())
		out.hostsWhy = fmt.Sprintf("/etc/hosts is the node's file (%s), which the kubelet copies into hostNetwork pods", rt.NodeHosts.Name())
		return out, nil
	}
	search := "the node's search domains, unknown here, are not added"
	if rt.NodeResolvConf != nil {
		search = "the node's search domains from " + rt.NodeResolvConf.Name() + " follow the cluster's"
	}
	out.runtime = "runtime kubernetes, dnsPolicy ClusterFirst, namespace " + pod.Namespace
	out.resolvWhy = fmt.Sprintf("/etc/resolv.conf is %q (the cluster nameserver, the cluster search list, ndots:5; %s)", strings.ReplaceAll(strings.TrimSpace(string(out.resolv.Data)), "\n", "; "), search)
	out.hostsWhy = fmt.Sprintf("/etc/hosts is the kubelet-managed file: 127.0.0.1 localhost, ::1 localhost ip6-localhost ip6-loopback, the fe00:: lines, and the pod's own line %s %s", strings.Join(ips, ","), hosts.Hostname)
	return out, nil
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

// Env is the environment a program of the target root sees under the
// runtime, the one way from a target to a model.Env for every verb that
// takes --runtime (scan, dockerfile, explain): the runtime decides
// /etc/resolv.conf and /etc/hosts (the target's own copy is read only
// where the runtime passes it through) and the host name when it gives
// one (a pod's name); /etc/nsswitch.conf (unless nsswitch replaces it, as
// explain --nsswitch does), /etc/mdns.allow and the host name otherwise
// are the target's. The assumptions say, in words, where each file came
// from; the program's environment variables are the caller's to add.
func (rt Runtime) Env(root sysenv.Reader, nsswitch *model.File) (model.Env, []string, error) {
	rf, err := rt.files(root)
	if err != nil {
		return model.Env{}, nil, err
	}
	env := model.Env{ResolvConf: rf.resolv, Hosts: rf.hosts, Hostname: rf.hostname, Vars: map[string]string{}}
	assumptions := rf.assumptions
	if nsswitch != nil {
		env.NSSwitch = *nsswitch
		assumptions = append(assumptions, GivenAssumption(model.PathNSSwitch, *nsswitch))
	} else {
		if env.NSSwitch, err = root.File(model.PathNSSwitch); err != nil {
			return model.Env{}, nil, err
		}
		assumptions = append(assumptions, NSSwitchAssumption(env.NSSwitch))
	}
	if env.MDNSAllow, err = root.File(model.PathMDNSAllow); err != nil {
		return model.Env{}, nil, err
	}
	if env.Hostname == "" {
		if env.Hostname, env.HostnameErr, err = sysenv.Hostname(root); err != nil {
			return model.Env{}, nil, err
		}
	}
	return env, assumptions, nil
}

// passThrough marks, in the files handed to the runtime, the target's own
// copy: the runtime returns it unchanged when it does not replace the file.
const passThrough = "\x00the target's own file"

// files decides the resolv.conf and hosts the programs see, and reads the
// target's own copy only where the runtime passes it through: a file the
// runtime replaces is never read (a damaged or hostile /etc/resolv.conf in
// an image run by the kubelet does not matter).
func (rt Runtime) files(root sysenv.Reader) (files, error) {
	resolv := model.File{Path: model.PathResolvConf, Origin: passThrough}
	hosts := model.File{Path: model.PathHosts, Origin: passThrough}
	rf, err := rt.apply(resolv, hosts)
	if err != nil {
		return rf, err
	}
	for _, f := range []*model.File{&rf.resolv, &rf.hosts} {
		if f.Origin != passThrough {
			continue
		}
		if *f, err = root.File(f.Path); err != nil {
			return rf, err
		}
	}
	return rf, nil
}

// GivenAssumption says that the file at path is the one given on the
// command line (f), or missing because the user said so.
func GivenAssumption(path string, f model.File) string {
	if f.Missing {
		return fmt.Sprintf("%s is missing, as given (%s)", path, f.Name())
	}
	return fmt.Sprintf("%s is %s, as given", path, f.Name())
}

// NSSwitchAssumption says where /etc/nsswitch.conf comes from: no runtime
// injects one, so it is always the target's own, or missing.
func NSSwitchAssumption(f model.File) string {
	if f.Missing {
		return "/etc/nsswitch.conf is missing in the target (images are not given one by the runtime)"
	}
	return "/etc/nsswitch.conf is the target's own"
}
