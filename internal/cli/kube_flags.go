package cli

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
)

// maxNodeFileBytes caps node files read from flags.
const maxNodeFileBytes = 16 << 20

// kubeNodeFlags describe the node and kubelet a pod runs on; pod,
// apiserver and cluster share them.
type kubeNodeFlags struct {
	clusterDNS     string
	clusterDomain  string
	nodeResolvConf string
	nodeHosts      string
	nodeIPs        string
	kubeletVersion string
	expanded       string
	ipAddr         string
	ipv6           string
	nodeFacts      string
	// typicalAddrs keeps the typical node's interfaces instead of this
	// host's when --ip-addr is not given (cluster: the node is elsewhere).
	typicalAddrs bool
}

// kubeNodeGroup is the help title of the node flags.
const kubeNodeGroup = "Node and kubelet (default: nsscope's typical node, see docs/kube.md)"

func (k *kubeNodeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&k.clusterDNS, "cluster-dns", kube.TypicalClusterDNS, "kubelet --cluster-dns, `IP[,IP]` (\"\" = none: ClusterFirst falls back to Default)")
	fs.StringVar(&k.clusterDomain, "cluster-domain", kube.DefaultClusterDomain, "kubelet --cluster-domain `DOMAIN`")
	fs.StringVar(&k.nodeResolvConf, "node-resolv-conf", "", "the node `FILE` kubelet --resolv-conf names (- for stdin); --node-resolv-conf=\"\" means kubelet --resolv-conf=\"\" (default: one nameserver, one search domain)")
	fs.StringVar(&k.nodeHosts, "node-hosts", "", "the node's /etc/hosts `FILE` (hostNetwork pods get it)")
	fs.StringVar(&k.nodeIPs, "node-ip", kube.TypicalNodeIP, "the node's `IP[,IP]`")
	fs.StringVar(&k.kubeletVersion, "kubelet-version", "", "kubelet `VERSION`: picks the search limits, 6 paths/256 chars before 1.26 (ExpandedDNSConfig alpha 1.22, on by default 1.26, GA 1.28), 32/2048 after (default: current)")
	fs.StringVar(&k.expanded, "expanded-dns-config", "", "`true|false`: the feature gate, overriding the version's default")
	fs.StringVar(&k.ipAddr, "ip-addr", "", "the node's interfaces, a `FILE` as printed by 'ip -j addr' (default: this host's)")
	fs.StringVar(&k.ipv6, "ipv6", "", "`on|off|absent`: off is disable_ipv6=1 (no ::1); absent: kernel booted with ipv6.disable=1")
	fs.StringVar(&k.nodeFacts, "node-facts", "", "one node's facts, a `FILE` as printed by 'nsscope node' (resolv.conf, hosts, interfaces); flags above still override")
}

// node builds the node from the flags. set tells which flags were given.
func (k *kubeNodeFlags) node(a *app, set map[string]bool) (kube.Node, []string, error) {
	n := kube.TypicalNode()
	var assumed []string
	if k.nodeFacts != "" {
		if st, err := os.Stat(k.nodeFacts); err == nil && st.IsDir() {
			return n, nil, usageErrorf("--node-facts %s: a directory; --node-facts takes one node's file (cluster reads a directory with --node-facts-dir)", k.nodeFacts)
		}
		data, err := a.readArg("--node-facts", k.nodeFacts, maxNodeFileBytes)
		if err != nil {
			return n, nil, err
		}
		nf, err := kube.ParseNodeFacts(data)
		if err != nil {
			return n, nil, inputError(fmt.Errorf("--node-facts %s: %w", k.nodeFacts, err))
		}
		n = nf.Apply(n)
	} else {
		if !set["node-resolv-conf"] {
			assumed = append(assumed, "node resolv.conf: nsscope's typical node (one nameserver 10.0.0.2, search node.internal); pass --node-resolv-conf")
		}
		if !set["node-hosts"] {
			assumed = append(assumed, "node /etc/hosts: nsscope's typical node (localhost on 127.0.0.1 and ::1); pass --node-hosts")
		}
	}
	if set["cluster-dns"] || k.nodeFacts == "" {
		n.Kubelet.ClusterDNS = nil
		for _, s := range splitList(k.clusterDNS) {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return n, nil, usageErrorf("--cluster-dns %q: not an IP address", s)
			}
			n.Kubelet.ClusterDNS = append(n.Kubelet.ClusterDNS, a)
		}
	}
	n.Kubelet.ClusterDomain = strings.TrimSuffix(k.clusterDomain, ".")
	if set["node-resolv-conf"] {
		if k.nodeResolvConf == "" {
			n.Kubelet.ResolvConfDisabled = true
		} else {
			f, err := a.readNodeFile("--node-resolv-conf", k.nodeResolvConf)
			if err != nil {
				return n, nil, err
			}
			n.Kubelet.ResolvConf = f
		}
	}
	if set["node-hosts"] {
		f, err := a.readNodeFile("--node-hosts", k.nodeHosts)
		if err != nil {
			return n, nil, err
		}
		n.Hosts = f
	}
	if set["node-ip"] || k.nodeFacts == "" {
		n.IPs, n.Kubelet.NodeIPs = nil, nil
		for _, s := range splitList(k.nodeIPs) {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return n, nil, usageErrorf("--node-ip %q: not an IP address", s)
			}
			n.IPs = append(n.IPs, a.String())
			n.Kubelet.NodeIPs = append(n.Kubelet.NodeIPs, a)
		}
	}
	if k.kubeletVersion != "" {
		v, err := model.ParseVersion(strings.TrimPrefix(k.kubeletVersion, "v"))
		if err != nil {
			return n, nil, usageErrorf("--kubelet-version %s: %v", k.kubeletVersion, err)
		}
		n.Kubelet.Version = v
	}
	switch strings.ToLower(k.expanded) {
	case "":
	case "true", "on", "1":
		t := true
		n.Kubelet.ExpandedDNSConfig = &t
	case "false", "off", "0":
		f := false
		n.Kubelet.ExpandedDNSConfig = &f
	default:
		return n, nil, usageErrorf("--expanded-dns-config %q: want true or false", k.expanded)
	}
	switch {
	case k.ipAddr != "":
		data, err := a.readArg("--ip-addr", k.ipAddr, maxNodeFileBytes)
		if err != nil {
			return n, nil, err
		}
		as, err := kube.ParseIPJSON(data)
		if err != nil {
			return n, nil, inputError(fmt.Errorf("--ip-addr %s: %w", k.ipAddr, err))
		}
		n.Addrs = as
	case k.nodeFacts == "" && !k.typicalAddrs:
		as, err := hostAddrs()
		if err != nil {
			return n, nil, inputError(fmt.Errorf("reading this host's interface addresses: %w", err))
		}
		n.Addrs = as
		assumed = append(assumed, "interface addresses: this host's ("+kube.FormatAddrs(as)+"); pass --ip-addr or --ipv6")
	}
	if k.ipv6 != "" {
		st, err := kube.ParseIPv6State(k.ipv6)
		if err != nil {
			return n, nil, usageErrorf("--ipv6 %s: %v", k.ipv6, err)
		}
		n.IPv6 = st
	} else if !kube.HasIPv6Loopback(n.Addrs) {
		n.IPv6 = kube.IPv6Off
	}
	return n, assumed, nil
}

// hostAddrs reads this host's interface addresses, in interface order.
func hostAddrs() ([]kube.IfAddr, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []kube.IfAddr
	for _, ifc := range ifs {
		as, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range as {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ones, _ := ipn.Mask.Size()
			out = append(out, kube.IfAddr{Interface: ifc.Name, Prefix: netip.PrefixFrom(ip.Unmap(), ones)})
		}
	}
	return out, nil
}

// readNodeFile reads a node file named by a flag; a missing file is an
// error (a typo is likelier than a node without the file; the library
// models the kubelet's failure for the latter).
func (a *app) readNodeFile(flag, path string) (model.File, error) {
	data, err := a.readArg(flag, path, maxNodeFileBytes)
	if err != nil {
		return model.File{}, err
	}
	if path == "-" {
		path = "standard input"
	}
	return model.File{Path: path, Data: data}, nil
}

// readLimited reads a file, refusing one larger than limit.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// kubeImageFlags describe what is known about the containers' images:
// the program flags (one group with explain's) and the image's files.
type kubeImageFlags struct {
	build       buildFlags
	nsswitch    string
	kubeVersion string
}

// kubeImageGroup is the help title of the image-content flags.
const kubeImageGroup = "Images' contents (when not inspected)"

func (k *kubeImageFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&k.nsswitch, "nsswitch", "", "the images' /etc/nsswitch.conf `FILE`, or \"missing\" (default: missing, the worst case; official kube-apiserver images 1.13+ are taken to have \"files dns\")")
	fs.StringVar(&k.kubeVersion, "kube-version", "", "kube-apiserver's `VERSION` (default: from its image tag)")
}

// images returns the ImageFunc and the apiserver overrides.
func (k *kubeImageFlags) images(a *app) (kube.ImageFunc, model.Version, *model.Program, error) {
	var progs []model.Program
	prog, err := k.build.program()
	switch {
	case err == nil:
		progs = []model.Program{prog}
	case err != errNoDescription:
		return nil, model.Version{}, nil, err
	}
	source := "programs from --go/--libc"
	if len(progs) == 0 {
		var l model.Libc
		progs = model.Typical(l)
		source = "typical programs (no --go/--libc)"
	}
	var kv model.Version
	if k.kubeVersion != "" {
		kv, err = model.ParseVersion(strings.TrimPrefix(k.kubeVersion, "v"))
		if err != nil {
			return nil, kv, nil, usageErrorf("--kube-version %s: %v", k.kubeVersion, err)
		}
	}
	var apiProg *model.Program
	if k.build.goVersion != "" {
		apiProg = &progs[0]
	}
	var nss model.File
	nssGiven := k.nsswitch != ""
	switch k.nsswitch {
	case "", "missing":
		nss = model.File{Path: "/etc/nsswitch.conf", Origin: "image:/etc/nsswitch.conf (absent)", Missing: true}
	default:
		f, err := a.confFile("--nsswitch", k.nsswitch, "/etc/nsswitch.conf", true)
		if err != nil {
			return nil, kv, nil, err
		}
		nss = *f
	}
	fn := func(pod *corev1.Pod, c *corev1.Container) kube.Image {
		img := kube.Image{NSSwitch: nss, Programs: progs, Source: source}
		if kube.IsAPIServer(c) && !nssGiven {
			v := kv
			if v.IsZero() {
				v, _ = kube.VersionFromImage(c.Image)
			}
			f, why := kube.APIServerImageNSSwitch(c.Image, v)
			img.NSSwitch = f
			img.Assumed = append(img.Assumed, why)
		} else if !nssGiven {
			img.Assumed = append(img.Assumed, "image /etc/nsswitch.conf: assumed absent (image not inspected), the worst case; pass --nsswitch")
		}
		return img
	}
	return fn, kv, apiProg, nil
}

// flagsSet returns the names of the flags given on the command line.
func flagsSet(cmd *cobra.Command) map[string]bool {
	set := map[string]bool{}
	cmd.Flags().Visit(func(f *pflag.Flag) { set[f.Name] = true })
	return set
}
