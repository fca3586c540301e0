package kube

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

// StartupFix is one documented remedy for a failing apiserver start-up,
// with the start-up predicted once it is applied.
type StartupFix struct {
	Description string   `json:"description"`
	After       *Startup `json:"after"`
}

// APIServerFixes re-predicts the start-up of the kube-apiserver
// containers of w with each documented remedy applied alone (§0.8): ::1
// back on lo, "hosts: files dns" in the image's nsswitch.conf, at most two
// nameservers in the node file, and an apiserver built with Go 1.16
// (Kubernetes 1.21). Remedies that do not apply are left out.
func (a *Analyzer) APIServerFixes(w *Workload, node Node) map[string][]StartupFix {
	out := map[string][]StartupFix{}
	type variant struct {
		desc string
		opts Options
		node Node
	}
	base := a.opts
	base.Names = []string{}
	var vs []variant

	if !HasIPv6Loopback(node.Addrs) || node.IPv6 != IPv6On {
		n := node
		n.IPv6 = IPv6On
		n.Addrs = append([]IfAddr{{Interface: "lo", Prefix: netip.MustParsePrefix("::1/128")}}, node.Addrs...)
		vs = append(vs, variant{"put ::1 back on lo: sysctl net.ipv6.conf.all.disable_ipv6=0", base, n})
	}
	img := base.Image
	o := base
	o.Image = func(pod *corev1.Pod, c *corev1.Container) Image {
		var im Image
		if img != nil {
			im = img(pod, c)
		}
		im.NSSwitch = model.File{Path: "/etc/nsswitch.conf", Origin: "fix:/etc/nsswitch.conf", Data: []byte("hosts: files dns\n")}
		return im
	}
	vs = append(vs, variant{"add /etc/nsswitch.conf with \"hosts: files dns\" to the image", o, node})
	if !node.Kubelet.ResolvConfDisabled {
		if h, err := ParseNodeResolvConf(node.Kubelet.ResolvConf); err == nil && len(h.Servers) > 2 {
			n := node
			var lines []string
			kept := 0
			for _, l := range strings.Split(string(node.Kubelet.ResolvConf.Data), "\n") {
				if f := strings.Fields(l); len(f) > 0 && f[0] == "nameserver" {
					if kept >= 2 {
						continue
					}
					kept++
				}
				lines = append(lines, l)
			}
			n.Kubelet.ResolvConf.Data = []byte(strings.Join(lines, "\n"))
			n.Kubelet.ResolvConf.Origin = node.Kubelet.ResolvConf.Name() + " (first 2 nameservers)"
			vs = append(vs, variant{fmt.Sprintf("keep at most 2 nameservers in the node's %s", node.Kubelet.ResolvConf.Name()), base, n})
		}
	}
	o2 := base
	p, _, _ := ProgramForAPIServer(model.V(1, 21, 0))
	o2.APIServerProgram = &p
	o2.APIServerVersion = model.V(1, 21, 0)
	vs = append(vs, variant{"run a kube-apiserver built with Go 1.16 or later (Kubernetes 1.21+)", o2, node})

	for _, v := range vs {
		an := NewAnalyzer(v.opts)
		for _, c := range an.Workload(w, v.node) {
			if c.Startup != nil {
				out[c.Subject] = append(out[c.Subject], StartupFix{Description: v.desc, After: c.Startup})
			}
		}
	}
	return out
}

// AttachFixes adds the remedies to the NSS101 findings of their subjects.
func AttachFixes(fs []report.Finding, fixes map[string][]StartupFix) {
	for i := range fs {
		f := &fs[i]
		if f.RuleID != report.RuleAPIServerLoopback || f.Severity != report.Critical {
			continue
		}
		for _, fx := range fixes[f.Subject] {
			rf := report.Fix{Description: fx.Description + " → " + fx.After.Summary, AfterQueries: fx.After.Queries, After: model.Seconds(fx.After.DialTime)}
			f.Fixes = append(f.Fixes, rf)
		}
	}
}
