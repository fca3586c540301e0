package cli

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/kube/kubeio"
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
	// remote says the node is elsewhere (cluster): this host's files and
	// interfaces are not read.
	remote bool
}

func (k *kubeNodeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.clusterDNS, "cluster-dns", kube.DefaultClusterDNS, "")
	fs.StringVar(&k.clusterDomain, "cluster-domain", kube.DefaultClusterDomain, "")
	fs.StringVar(&k.nodeResolvConf, "node-resolv-conf", "", "")
	fs.StringVar(&k.nodeHosts, "node-hosts", "", "")
	fs.StringVar(&k.nodeIPs, "node-ip", "", "")
	fs.StringVar(&k.kubeletVersion, "kubelet-version", "", "")
	fs.StringVar(&k.expanded, "expanded-dns-config", "", "")
	fs.StringVar(&k.ipAddr, "ip-addr", "", "")
	fs.StringVar(&k.ipv6, "ipv6", "", "")
	fs.StringVar(&k.nodeFacts, "node-facts", "", "")
}

const kubeNodeUsage = `Node and kubelet (default: this host's files, interfaces and disable_ipv6; cluster: unknown):
  --cluster-dns IP[,IP]   kubelet --cluster-dns ("" = none: ClusterFirst falls back to Default)
                          (default 10.96.0.10)
  --cluster-domain D      kubelet --cluster-domain (default cluster.local)
  --node-resolv-conf FILE the node file kubelet --resolv-conf names; --node-resolv-conf=""
                          means kubelet --resolv-conf="" (default: the kubelet's choice on this host)
  --node-hosts FILE       the node's /etc/hosts (hostNetwork pods get it)
  --node-ip IP[,IP]       the node's IPs (default: this host's)
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
	spec := kubeio.NodeSpec{Missing: "give --node-facts, or --node-resolv-conf and --node-hosts"}
	if k.nodeFacts != "" {
		data, err := readLimited(k.nodeFacts, maxNodeFileBytes)
		if err != nil {
			return kube.Node{}, nil, inputError(fmt.Errorf("--node-facts: %w", err))
		}
		if spec.Facts, err = kube.ParseNodeFacts(data); err != nil {
			return kube.Node{}, nil, inputError(fmt.Errorf("--node-facts %s: %w", k.nodeFacts, err))
		}
	} else if !k.remote {
		spec.Host = &kubeio.Host{Root: "/", Proc: "/proc"}
	}
	if set["cluster-dns"] {
		spec.ClusterDNSSet = true
		for _, s := range splitList(k.clusterDNS) {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return kube.Node{}, nil, usageErrorf("--cluster-dns %q: not an IP address", s)
			}
			spec.ClusterDNS = append(spec.ClusterDNS, a)
		}
	}
	if set["cluster-domain"] {
		d := strings.TrimSuffix(k.clusterDomain, ".")
		spec.ClusterDomain = &d
	}
	if set["node-resolv-conf"] {
		if k.nodeResolvConf == "" {
			spec.ResolvConfDisabled = true
		} else {
			f, err := readNodeFile(k.nodeResolvConf)
			if err != nil {
				return kube.Node{}, nil, inputError(fmt.Errorf("--node-resolv-conf: %w", err))
			}
			spec.ResolvConf = &f
		}
	}
	if set["node-hosts"] {
		f, err := readNodeFile(k.nodeHosts)
		if err != nil {
			return kube.Node{}, nil, inputError(fmt.Errorf("--node-hosts: %w", err))
		}
		spec.Hosts = &f
	}
	for _, s := range splitList(k.nodeIPs) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return kube.Node{}, nil, usageErrorf("--node-ip %q: not an IP address", s)
		}
		spec.NodeIPs = append(spec.NodeIPs, a)
	}
	if k.kubeletVersion != "" {
		v, err := model.ParseVersion(strings.TrimPrefix(k.kubeletVersion, "v"))
		if err != nil {
			return kube.Node{}, nil, usageErrorf("--kubelet-version: %v", err)
		}
		spec.KubeletVersion = v
	}
	switch strings.ToLower(k.expanded) {
	case "":
	case "true", "on", "1":
		t := true
		spec.ExpandedDNSConfig = &t
	case "false", "off", "0":
		f := false
		spec.ExpandedDNSConfig = &f
	default:
		return kube.Node{}, nil, usageErrorf("--expanded-dns-config %q: want true or false", k.expanded)
	}
	if k.ipAddr != "" {
		data, err := readLimited(k.ipAddr, maxNodeFileBytes)
		if err != nil {
			return kube.Node{}, nil, inputError(fmt.Errorf("--ip-addr: %w", err))
		}
		if spec.Addrs, err = kube.ParseIPJSON(data); err != nil {
			return kube.Node{}, nil, inputError(fmt.Errorf("--ip-addr %s: %w", k.ipAddr, err))
		}
	}
	if k.ipv6 != "" {
		st, err := kube.ParseIPv6State(k.ipv6)
		if err != nil {
			return kube.Node{}, nil, usageErrorf("--ipv6: %v", err)
		}
		spec.IPv6 = st
	}
	n, assumed, err := spec.Node()
	if err != nil {
		return n, nil, inputError(err)
	}
	return n, assumed, nil
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

const kubeImageUsage = `Programs in the containers (default: the inspected image's; an image not
inspected is reported as unknown, with what a static Go <= 1.15 binary would do):
  --go VERSION            a Go program built with this Go (1.10 to 1.27)
  --cgo on|off            cgo resolver compiled in (default off)
  --libc KIND-VERSION     glibc-2.31 or musl-1.2.3 (alone: a C program; with --go --cgo on:
                          the library the cgo resolver calls)
  --nsswitch FILE|missing the images' /etc/nsswitch.conf (default: missing, the worst case;
                          official kube-apiserver images 1.13+ are taken to have "files dns")
  --kube-version V        kube-apiserver's version (default: from its image tag)
`

// images returns what the flags say about the images and the apiserver
// overrides.
func (k *kubeImageFlags) images() (kube.ImageSpec, *model.Program, error) {
	var spec kube.ImageSpec
	prog, err := (&buildFlags{goVersion: k.goVer, cgo: k.cgo, libc: k.libc}).program()
	switch {
	case err == nil:
		spec.Programs, spec.Source = []model.Program{prog}, "programs from --go/--libc"
	case err != errNoDescription:
		return spec, nil, err
	}
	if k.kubeVersion != "" {
		if spec.KubeVersion, err = model.ParseVersion(strings.TrimPrefix(k.kubeVersion, "v")); err != nil {
			return spec, nil, usageErrorf("--kube-version: %v", err)
		}
	}
	var apiProg *model.Program
	if k.goVer != "" {
		apiProg = &spec.Programs[0]
	}
	switch k.nsswitch {
	case "":
	case "missing":
		spec.NSSwitch = &model.File{Path: model.PathNSSwitch, Origin: "image:/etc/nsswitch.conf (absent)", Missing: true}
	default:
		data, err := readLimited(k.nsswitch, maxNodeFileBytes)
		if err != nil {
			return spec, nil, inputError(fmt.Errorf("--nsswitch: %w", err))
		}
		spec.NSSwitch = &model.File{Path: model.PathNSSwitch, Origin: k.nsswitch, Data: data}
	}
	return spec, apiProg, nil
}

// flagsSet returns the names of the flags given on the command line.
func flagsSet(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}
