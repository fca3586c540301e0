package kube

import (
	"net/netip"

	"github.com/nsscope/nsscope/model"
)

// testNode is the tests' fixture node: kubelet with --cluster-dns
// 10.96.0.10 and --cluster-domain cluster.local, a node resolv.conf with
// one nameserver and one search domain, a node /etc/hosts with localhost,
// IPv6 on.
func testNode() Node {
	return Node{
		Name: "node",
		Kubelet: Kubelet{
			ClusterDNS:    []netip.Addr{netip.MustParseAddr(DefaultClusterDNS)},
			ClusterDomain: DefaultClusterDomain,
			ResolvConf:    model.File{Path: "/etc/resolv.conf", Origin: "typical-node:/etc/resolv.conf", Data: []byte("# nsscope's typical node: one upstream nameserver, the node's own search domain\nnameserver 10.0.0.2\nsearch node.internal\n")},
			NodeIPs:       []netip.Addr{netip.MustParseAddr("10.0.0.10")},
		},
		Hosts: model.File{Path: "/etc/hosts", Origin: "typical-node:/etc/hosts", Data: []byte("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n")},
		IPs:   []string{"10.0.0.10"},
		Addrs: []IfAddr{
			{Interface: "lo", Prefix: netip.MustParsePrefix("127.0.0.1/8")},
			{Interface: "lo", Prefix: netip.MustParsePrefix("::1/128")},
			{Interface: "eth0", Prefix: netip.MustParsePrefix("10.0.0.10/24")},
		},
		IPv6: IPv6On,
	}
}
