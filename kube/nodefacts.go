package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"sort"
	"strings"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/nsscope/nsscope/model"
)

// NodeFactsVersion is the version of the node facts JSON shape.
const NodeFactsVersion = 1

// Node file paths `nsscope node` reads (inside --root).
const (
	PathResolvConf       = "/etc/resolv.conf"
	PathHosts            = "/etc/hosts"
	PathNSSwitch         = "/etc/nsswitch.conf"
	PathResolvedUpstream = "/run/systemd/resolve/resolv.conf"
	PathKubeletConfig    = "/var/lib/kubelet/config.yaml"
	PathManifests        = "/etc/kubernetes/manifests"
	// PathDisableIPv6 is read by the caller from a proc file system of the
	// node's network namespace (not from the root).
	PathDisableIPv6 = "sys/net/ipv6/conf/all/disable_ipv6"
	// maxFactFile caps each file read into the facts.
	maxFactFile = 1 << 20
	// maxManifests caps the static pod manifests read.
	maxManifests = 64
)

// FactFile is one node file in the facts.
type FactFile struct {
	Path    string `json:"path"`
	Content string `json:"content,omitempty"`
	Missing bool   `json:"missing,omitempty"`
	// Error is a read error other than "missing".
	Error string `json:"error,omitempty"`
	// Target is where a symbolic link led (inside the root).
	Target string `json:"target,omitempty"`
}

// KubeletDNS is what the kubelet config file says about DNS.
type KubeletDNS struct {
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
	Files map[string]FactFile `json:"files"`
	// Kubelet is parsed from the kubelet config file, when present.
	Kubelet *KubeletDNS `json:"kubelet,omitempty"`
	// StaticPods are the manifests under /etc/kubernetes/manifests.
	StaticPods []FactFile `json:"static_pods"`
	Interfaces []IfAddr   `json:"interfaces"`
	// DisableIPv6 is net.ipv6.conf.all.disable_ipv6 ("0", "1"), "absent"
	// when the kernel has no IPv6, or empty when unknown.
	DisableIPv6 string `json:"disable_ipv6,omitempty"`
	// Notes are problems met while collecting.
	Notes []string `json:"notes,omitempty"`
}

// CollectNodeFacts reads the node facts from fsys, the node's root file
// system (symbolic links are resolved inside it, never outside). name is
// the node's name; addrs its interface addresses (read by the caller, who
// knows whether it runs in the node's network namespace).
func CollectNodeFacts(fsys fs.FS, name string, addrs []IfAddr) *NodeFacts {
	nf := &NodeFacts{SchemaVersion: NodeFactsVersion, Node: name, Files: map[string]FactFile{}, Interfaces: addrs, StaticPods: []FactFile{}}
	for _, p := range []string{PathResolvConf, PathHosts, PathNSSwitch, PathResolvedUpstream, PathKubeletConfig} {
		nf.Files[p] = readFact(fsys, p)
	}
	if kc := nf.Files[PathKubeletConfig]; kc.Content != "" {
		var k KubeletDNS
		if err := sigsyaml.Unmarshal([]byte(kc.Content), &k); err != nil {
			nf.Notes = append(nf.Notes, fmt.Sprintf("%s: %v", PathKubeletConfig, err))
		} else {
			nf.Kubelet = &k
			if k.ResolvConf != nil && *k.ResolvConf != "" {
				if _, ok := nf.Files[*k.ResolvConf]; !ok && strings.HasPrefix(*k.ResolvConf, "/") {
					nf.Files[*k.ResolvConf] = readFact(fsys, *k.ResolvConf)
				}
			}
		}
	}
	dir, err := resolveIn(fsys, PathManifests)
	if err == nil {
		ents, err := fs.ReadDir(fsys, dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			nf.Notes = append(nf.Notes, fmt.Sprintf("%s: %v", PathManifests, err))
		}
		var names []string
		for _, e := range ents {
			n := e.Name()
			if strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".json")) {
				continue
			}
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) > maxManifests {
			nf.Notes = append(nf.Notes, fmt.Sprintf("%s: %d manifests, only the first %d read", PathManifests, len(names), maxManifests))
			names = names[:maxManifests]
		}
		for _, n := range names {
			nf.StaticPods = append(nf.StaticPods, readFact(fsys, path.Join(PathManifests, n)))
		}
	}
	return nf
}

// readFact reads one file of the node, following symbolic links inside
// the root.
func readFact(fsys fs.FS, p string) FactFile {
	f := FactFile{Path: p}
	real, err := resolveIn(fsys, p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			f.Missing = true
		} else {
			f.Error = err.Error()
		}
		return f
	}
	if "/"+real != p {
		f.Target = "/" + real
	}
	st, err := fs.Stat(fsys, real)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.Missing = true
		return f
	case err != nil:
		f.Error = err.Error()
		return f
	case st.IsDir():
		f.Error = "is a directory"
		return f
	case !st.Mode().IsRegular():
		f.Error = "not a regular file"
		return f
	case st.Size() > maxFactFile:
		f.Error = fmt.Sprintf("larger than %d bytes", maxFactFile)
		return f
	}
	data, err := fs.ReadFile(fsys, real)
	if err != nil {
		f.Error = err.Error()
		return f
	}
	f.Content = string(data)
	return f
}

// resolveIn resolves p (absolute, inside the root) to an fs.FS path,
// following symbolic links with absolute targets taken relative to the
// root; ".." never climbs above it.
func resolveIn(fsys fs.FS, p string) (string, error) {
	parts := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
	var done []string
	for hops := 0; len(parts) > 0; {
		part := parts[0]
		parts = parts[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := path.Join(append(append([]string(nil), done...), part)...)
		st, err := fs.Lstat(fsys, cur)
		if err != nil {
			return "", err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			done = append(done, part)
			continue
		}
		hops++
		if hops > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		target, err := fs.ReadLink(fsys, cur)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		parts = append(strings.Split(strings.Trim(target, "/"), "/"), parts...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

// ParseNodeFacts reads what `nsscope node` printed.
func ParseNodeFacts(data []byte) (*NodeFacts, error) {
	var nf NodeFacts
	if err := json.Unmarshal(data, &nf); err != nil {
		return nil, fmt.Errorf("not nsscope node facts: %w", err)
	}
	if nf.SchemaVersion != NodeFactsVersion {
		return nil, fmt.Errorf("node facts schema_version %d, want %d", nf.SchemaVersion, NodeFactsVersion)
	}
	if nf.Node == "" {
		return nil, errors.New("node facts without a node name")
	}
	return &nf, nil
}

// nodeFile turns a fact into a model.File cited as "<node>:<path>".
func (nf *NodeFacts) nodeFile(p string) model.File {
	f, ok := nf.Files[p]
	origin := nf.Node + ":" + p
	if !ok || f.Missing {
		return model.File{Path: p, Origin: origin, Missing: true}
	}
	return model.File{Path: p, Origin: origin, Data: []byte(f.Content), Missing: f.Error != ""}
}

// Apply applies the facts to base (whose kubelet flags are kept where the
// facts say nothing): the kubelet's resolv.conf (its config's resolvConf,
// else /etc/resolv.conf), cluster DNS and domain from the kubelet config,
// the node's /etc/hosts, interfaces and IPv6 state.
func (nf *NodeFacts) Apply(base Node) Node {
	n := base
	n.Name = nf.Node
	rc := PathResolvConf
	if k := nf.Kubelet; k != nil {
		if k.ResolvConf != nil {
			if *k.ResolvConf == "" {
				n.Kubelet.ResolvConfDisabled = true
			} else {
				rc = *k.ResolvConf
			}
		}
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
	n.Kubelet.ResolvConf = nf.nodeFile(rc)
	n.Hosts = nf.nodeFile(PathHosts)
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
	switch {
	case nf.DisableIPv6 == "absent":
		n.IPv6 = IPv6Absent
	case nf.DisableIPv6 == "1":
		n.IPv6 = IPv6Off
	case len(nf.Interfaces) > 0 && !HasIPv6Loopback(nf.Interfaces):
		n.IPv6 = IPv6Off
	default:
		n.IPv6 = IPv6On
	}
	return n
}

// StaticPodWorkloads decodes the node's static pod manifests.
func (nf *NodeFacts) StaticPodWorkloads() *Decoded {
	all := &Decoded{}
	for _, f := range nf.StaticPods {
		if f.Content == "" {
			continue
		}
		d := Decode(nf.Node+":"+f.Path, []byte(f.Content))
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
