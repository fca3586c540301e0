package cli

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"

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

func (k *kubeNodeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.clusterDNS, "cluster-dns", kube.TypicalClusterDNS, "")
	fs.StringVar(&k.clusterDomain, "cluster-domain", kube.DefaultClusterDomain, "")
	fs.StringVar(&k.nodeResolvConf, "node-resolv-conf", "", "")
	fs.StringVar(&k.nodeHosts, "node-hosts", "", "")
	fs.StringVar(&k.nodeIPs, "node-ip", kube.TypicalNodeIP, "")
	fs.StringVar(&k.kubeletVersion, "kubelet-version", "", "")
	fs.StringVar(&k.expanded, "expanded-dns-config", "", "")
	fs.StringVar(&k.ipAddr, "ip-addr", "", "")
	fs.StringVar(&k.ipv6, "ipv6", "", "")
	fs.StringVar(&k.nodeFacts, "node-facts", "", "")
}

const kubeNodeUsage = `Node and kubelet (default: nsscope's typical node, see docs/kube.md):
  --cluster-dns IP[,IP]   kubelet --cluster-dns ("" = none: ClusterFirst falls back to Default)
                          (default 10.96.0.10)
  --cluster-domain D      kubelet --cluster-domain (default cluster.local)
  --node-resolv-conf FILE the node file kubelet --resolv-conf names; --node-resolv-conf=""
                          means kubelet --resolv-conf="" (default: one nameserver, one search domain)
  --node-hosts FILE       the node's /etc/hosts (hostNetwork pods get it)
  --node-ip IP[,IP]       the node's IPs (default 10.0.0.10)
  --kubelet-version V     picks the search limits: 6 paths/256 chars before 1.26 (ExpandedDNSConfig
                          alpha 1.22, on by default 1.26, GA 1.28), 32/2048 after (default: current)
  --expanded-dns-config true|false   the feature gate, overriding the version's default
  --ip-addr FILE          the node's interfaces as printed by 'ip -j addr' (default: this host's)
  --ipv6 on|off|absent    off: disable_ipv6=1 (no ::1); absent: kernel booted with ipv6.disable=1
  --node-facts FILE       a node's facts as printed by 'nsscope node' (resolv.conf, hosts,
                          interfaces); flags above still override
`

// node builds the node from the flags. set tells which flags were given.
func (k *kubeNodeFlags) node(set map[string]bool) (kube.Node, []string, error) {
	n := kube.TypicalNode()
	var assumed []string
	if k.nodeFacts != "" {
		data, err := readLimited(k.nodeFacts, maxNodeFileBytes)
		if err != nil {
			return n, nil, inputError(fmt.Errorf("--node-facts: %w", err))
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
			f, err := readNodeFile(k.nodeResolvConf)
			if err != nil {
				return n, nil, inputError(fmt.Errorf("--node-resolv-conf: %w", err))
			}
			n.Kubelet.ResolvConf = f
		}
	}
	if set["node-hosts"] {
		f, err := readNodeFile(k.nodeHosts)
		if err != nil {
			return n, nil, inputError(fmt.Errorf("--node-hosts: %w", err))
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
			return n, nil, usageErrorf("--kubelet-version: %v", err)
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
		data, err := readLimited(k.ipAddr, maxNodeFileBytes)
		if err != nil {
			return n, nil, inputError(fmt.Errorf("--ip-addr: %w", err))
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
			return n, nil, usageErrorf("--ipv6: %v", err)
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
func readNodeFile(path string) (model.File, error) {
	data, err := readLimited(path, maxNodeFileBytes)
	if err != nil {
		return model.File{}, err
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

// kubeImageFlags describe what is known about the containers' images.
type kubeImageFlags struct {
	goVer, cgo, libc string
	nsswitch         string
	kubeVersion      string
}

func (k *kubeImageFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.goVer, "go", "", "")
	fs.StringVar(&k.cgo, "cgo", "", "")
	fs.StringVar(&k.libc, "libc", "", "")
	fs.StringVar(&k.nsswitch, "nsswitch", "", "")
	fs.StringVar(&k.kubeVersion, "kube-version", "", "")
}

const kubeImageUsage = `Programs in the containers (default: typical programs side by side):
  --go VERSION            a Go program built with this Go (1.10 to 1.27)
  --cgo on|off            cgo resolver compiled in (default off)
  --libc KIND-VERSION     glibc-2.31 or musl-1.2.3 (alone: a C program; with --go --cgo on:
                          the library the cgo resolver calls)
  --nsswitch FILE|missing the images' /etc/nsswitch.conf (default: missing, the worst case;
                          official kube-apiserver images 1.13+ are taken to have "files dns")
  --kube-version V        kube-apiserver's version (default: from its image tag)
`

// images returns the ImageFunc and the apiserver overrides.
func (k *kubeImageFlags) images() (kube.ImageFunc, model.Version, *model.Program, error) {
	var progs []model.Program
	prog, err := (&buildFlags{goVersion: k.goVer, cgo: k.cgo, libc: k.libc}).program()
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
			return nil, kv, nil, usageErrorf("--kube-version: %v", err)
		}
	}
	var apiProg *model.Program
	if k.goVer != "" {
		apiProg = &progs[0]
	}
	var nss model.File
	nssGiven := k.nsswitch != ""
	switch k.nsswitch {
	case "", "missing":
		nss = model.File{Path: "/etc/nsswitch.conf", Origin: "image:/etc/nsswitch.conf (absent)", Missing: true}
	default:
		data, err := readLimited(k.nsswitch, maxNodeFileBytes)
		if err != nil {
			return nil, kv, nil, inputError(fmt.Errorf("--nsswitch: %w", err))
		}
		nss = model.File{Path: "/etc/nsswitch.conf", Origin: k.nsswitch, Data: data}
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
func flagsSet(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}
