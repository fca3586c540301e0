package kubeio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
)

// HostAddrs reads this host's interface addresses, in interface order (the
// order net.InterfaceAddrs reports, which is what Go programs see).
func HostAddrs() ([]kube.IfAddr, error) {
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

// ReadDisableIPv6 reads net.ipv6.conf.all.disable_ipv6 from proc (a proc
// file system of the node's network namespace): "0" or "1", "absent" when
// the kernel has no IPv6 (the file does not exist), or "" and a note when
// it cannot be read.
func ReadDisableIPv6(proc string) (value, note string) {
	p := filepath.Join(proc, kube.PathDisableIPv6)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "absent", "no " + p + ": IPv6 absent from the kernel (ipv6.disable=1)"
	}
	if err != nil {
		return "", "disable_ipv6: " + err.Error()
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		return "", "disable_ipv6: " + err.Error()
	}
	return strings.TrimSpace(string(data)), ""
}

// Host says where a node's facts are read: its root file system and a
// proc file system of its network namespace. The interfaces are this
// process's, so Host is right only in the node's network namespace (on
// the node, or in a hostNetwork pod).
type Host struct {
	// Root is the node's "/" (default "/"); Proc its proc (default /proc,
	// "" after Root is set means "do not read").
	Root, Proc string
	// Name is the node's name; empty means this host's name.
	Name string
	// Addrs replace this host's interface addresses when not nil.
	Addrs []kube.IfAddr
}

// Facts reads the node's facts: its resolver files, kubelet config and
// static pods under Root (read only, symbolic links confined to Root), its
// interfaces and disable_ipv6.
func (h Host) Facts() (*kube.NodeFacts, error) {
	root := h.Root
	if root == "" {
		root = "/"
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("node root: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("node root %s: not a directory", root)
	}
	name := h.Name
	if name == "" {
		if name, err = os.Hostname(); err != nil {
			return nil, fmt.Errorf("no node name: %w", err)
		}
	}
	addrs := h.Addrs
	if addrs == nil {
		if addrs, err = HostAddrs(); err != nil {
			return nil, fmt.Errorf("reading interface addresses: %w", err)
		}
	}
	nf := CollectNodeFacts(os.DirFS(root), name, addrs)
	if h.Proc != "" {
		v, note := ReadDisableIPv6(h.Proc)
		nf.DisableIPv6 = v
		if note != "" {
			nf.Notes = append(nf.Notes, note)
		}
	}
	return nf, nil
}

// FactsAssumptions say in words what a node's facts gave, for a report's
// assumptions: which resolver file the kubelet reads and why, the hosts
// file, interfaces and IPv6 state. where names the facts' origin ("this
// host", "node n1's facts").
func FactsAssumptions(nf *kube.NodeFacts, where string) []string {
	rc, disabled, why := nf.ResolvConfChoice()
	var out []string
	if disabled {
		out = append(out, fmt.Sprintf("node resolver file: none (%s), from %s", why, where))
	} else {
		out = append(out, fmt.Sprintf("node resolver file: %s's %s (%s)%s", where, rc, why, factState(nf.Files[rc])))
	}
	out = append(out, fmt.Sprintf("node /etc/hosts: %s's %s%s", where, model.PathHosts, factState(nf.Files[model.PathHosts])))
	out = append(out, fmt.Sprintf("interface addresses: %s's (%s)", where, kube.FormatAddrs(nf.Interfaces)))
	if nf.DisableIPv6 != "" {
		out = append(out, fmt.Sprintf("net.ipv6.conf.all.disable_ipv6: %s (%s's)", nf.DisableIPv6, where))
	}
	return out
}

func factState(f model.File) string {
	switch {
	case f.Path == "":
		return ": not read"
	case f.Missing:
		return ": missing"
	case f.ReadErr != "":
		return ": " + f.ReadErr
	}
	return ""
}
