package cli

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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

// kubeNodeGroup is the help title of the node flags.
const kubeNodeGroup = "Node and kubelet (default: this host's files, interfaces and disable_ipv6; cluster: unknown unless --node-facts-dir)"

func (k *kubeNodeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&k.clusterDNS, "cluster-dns", kube.DefaultClusterDNS, "kubelet --cluster-dns, `IP[,IP]` (\"\" = none: ClusterFirst falls back to Default)")
	fs.StringVar(&k.clusterDomain, "cluster-domain", kube.DefaultClusterDomain, "kubelet --cluster-domain `DOMAIN`")
	fs.StringVar(&k.nodeResolvConf, "node-resolv-conf", "", "the node `FILE` kubelet --resolv-conf names (- for stdin); --node-resolv-conf=\"\" means kubelet --resolv-conf=\"\" (default: the kubelet's choice on this host)")
	fs.StringVar(&k.nodeHosts, "node-hosts", "", "the node's /etc/hosts `FILE` (hostNetwork pods get it)")
	fs.StringVar(&k.nodeIPs, "node-ip", "", "the node's `IP[,IP]` (default: this host's)")
	fs.StringVar(&k.kubeletVersion, "kubelet-version", "", "kubelet `VERSION`: picks the search limits, 6 paths/256 chars before 1.26 (ExpandedDNSConfig alpha 1.22, on by default 1.26, GA 1.28), 32/2048 after (default: current)")
	fs.StringVar(&k.expanded, "expanded-dns-config", "", "`true|false`: the feature gate, overriding the version's default")
	fs.StringVar(&k.ipAddr, "ip-addr", "", "the node's interfaces, a `FILE` as printed by 'ip -j addr' (default: this host's)")
	fs.StringVar(&k.ipv6, "ipv6", "", "`on|off|absent`: off is disable_ipv6=1 (no ::1); absent: kernel booted with ipv6.disable=1")
	fs.StringVar(&k.nodeFacts, "node-facts", "", "one node's facts, a `FILE` as printed by 'nsscope node' (resolv.conf, hosts, interfaces); flags above still override")
}

// node builds the node from the flags. set tells which flags were given.
func (k *kubeNodeFlags) node(a *app, set map[string]bool) (kube.Node, []string, error) {
	spec := kubeio.NodeSpec{Missing: "give --node-facts, or --node-resolv-conf and --node-hosts"}
	if k.nodeFacts != "" {
		if st, err := os.Stat(k.nodeFacts); err == nil && st.IsDir() {
			return kube.Node{}, nil, usageErrorf("--node-facts %s: a directory; --node-facts takes one node's file (cluster reads a directory with --node-facts-dir)", k.nodeFacts)
		}
		data, err := a.readArg("--node-facts", k.nodeFacts, maxNodeFileBytes)
		if err != nil {
			return kube.Node{}, nil, err
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
			f, err := a.readNodeFile("--node-resolv-conf", k.nodeResolvConf)
			if err != nil {
				return kube.Node{}, nil, err
			}
			spec.ResolvConf = &f
		}
	}
	if set["node-hosts"] {
		f, err := a.readNodeFile("--node-hosts", k.nodeHosts)
		if err != nil {
			return kube.Node{}, nil, err
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
			return kube.Node{}, nil, usageErrorf("--kubelet-version %s: %v", k.kubeletVersion, err)
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
		data, err := a.readArg("--ip-addr", k.ipAddr, maxNodeFileBytes)
		if err != nil {
			return kube.Node{}, nil, err
		}
		if spec.Addrs, err = kube.ParseIPJSON(data); err != nil {
			return kube.Node{}, nil, inputError(fmt.Errorf("--ip-addr %s: %w", k.ipAddr, err))
		}
	}
	if k.ipv6 != "" {
		st, err := kube.ParseIPv6State(k.ipv6)
		if err != nil {
			return kube.Node{}, nil, usageErrorf("--ipv6 %s: %v", k.ipv6, err)
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

// images returns what the flags say about the images and the apiserver
// overrides.
func (k *kubeImageFlags) images(a *app) (kube.ImageSpec, *model.Program, error) {
	var spec kube.ImageSpec
	prog, err := k.build.program()
	switch {
	case err == nil:
		spec.Programs, spec.Source = []model.Program{prog}, "programs from --go/--libc"
	case err != errNoDescription:
		return spec, nil, err
	}
	if k.kubeVersion != "" {
		if spec.KubeVersion, err = model.ParseVersion(strings.TrimPrefix(k.kubeVersion, "v")); err != nil {
			return spec, nil, usageErrorf("--kube-version %s: %v", k.kubeVersion, err)
		}
	}
	var apiProg *model.Program
	if k.build.goVersion != "" {
		apiProg = &spec.Programs[0]
	}
	switch k.nsswitch {
	case "":
	case "missing":
		spec.NSSwitch = &model.File{Path: model.PathNSSwitch, Origin: "image:/etc/nsswitch.conf (absent)", Missing: true}
	default:
		f, err := a.confFile("--nsswitch", k.nsswitch, model.PathNSSwitch, true)
		if err != nil {
			return spec, nil, err
		}
		spec.NSSwitch = f
	}
	return spec, apiProg, nil
}

// flagsSet returns the names of the flags given on the command line.
func flagsSet(cmd *cobra.Command) map[string]bool {
	set := map[string]bool{}
	cmd.Flags().Visit(func(f *pflag.Flag) { set[f.Name] = true })
	return set
}
