package dockerfile

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/nsscope/nsscope/model"
)

// fakeModel stands in for model.Predict while the model is being written:
// it implements, for silent nameservers, only the order decision and the
// worst-case arithmetic of go-resolver.md (c.1) and libc-k8s-resolver.md (F).
func fakeModel(env model.Env, p model.Program, req model.Request, sc model.Scenario) (*model.Prediction, error) {
	if p.Impl == model.ImplGo && (p.Go.Version.Less(model.V(1, 10, 0)) || p.Go.Version.IsZero()) {
		return nil, fmt.Errorf("model: Go %s outside 1.10-1.27", p.Go.Version)
	}
	if _, err := netip.ParseAddr(req.Name); err == nil {
		return &model.Prediction{Program: p, Request: req, Scenario: sc, AnsweredFrom: model.FromNone, Addrs: []string{req.Name}}, nil
	}
	hostsLine := ""
	hasLine := false
	if !env.NSSwitch.Missing {
		for _, l := range strings.Split(string(env.NSSwitch.Data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "hosts" {
				hostsLine += " " + strings.TrimSpace(v)
				hasLine = true
			}
		}
	}
	order := "files,dns"
	switch p.Impl {
	case model.ImplGo:
		if !hasLine && p.Go.Version.Less(model.V(1, 16, 0)) {
			order = "dns,files"
		}
	case model.ImplGlibc:
		if !hasLine && p.Libc.Distro != "debian" && !p.Libc.Version.IsZero() && p.Libc.Version.Less(model.V(2, 35, 0)) {
			order = "dns"
		}
	}
	if hasLine {
		f, d := strings.Index(hostsLine, "files"), strings.Index(hostsLine, "dns")
		if p.Impl != model.ImplMusl && d >= 0 && (f < 0 || d < f) {
			order = "dns,files"
		}
	}
	inHosts := false
	for _, l := range strings.Split(string(env.Hosts.Data), "\n") {
		fs := strings.Fields(l)
		for _, n := range fs[min(1, len(fs)):] {
			if n == req.Name {
				inHosts = true
			}
		}
	}
	pred := &model.Prediction{Program: p, Request: req, Scenario: sc, Order: order, Resolver: string(p.Impl)}
	if strings.HasPrefix(order, "files") && inHosts {
		pred.AnsweredFrom = model.FromHosts
		return pred, nil
	}
	servers, search, ndots := 0, 0, 1
	for _, l := range strings.Split(string(env.ResolvConf.Data), "\n") {
		fs := strings.Fields(l)
		switch {
		case len(fs) > 1 && fs[0] == "nameserver":
			servers++
		case len(fs) > 1 && fs[0] == "search":
			search = len(fs) - 1
		case len(fs) > 1 && fs[0] == "options" && strings.HasPrefix(fs[1], "ndots:"):
			fmt.Sscanf(fs[1], "ndots:%d", &ndots)
		}
	}
	const T, A = 5 * time.Second, 2
	q := search + 1
	if strings.Count(req.Name, ".") >= ndots {
		q = search + 1
	}
	var total time.Duration
	if p.Impl == model.ImplGlibc {
		q = min(q, 2)
		total = time.Duration(q*A*servers) * T
	} else {
		total = time.Duration(q*A*servers) * T
	}
	pred.Queries = q * 2 * A * servers
	pred.Total = total
	if req.Deadline > 0 && total >= req.Deadline {
		pred.Total, pred.DeadlineExceeded = req.Deadline, true
		pred.Error = "dial tcp: i/o timeout"
		pred.AnsweredFrom = model.FromNone
		return pred, nil
	}
	if order == "dns" || !inHosts {
		pred.AnsweredFrom = model.FromNone
		pred.Error = "lookup " + req.Name + ": Temporary failure in name resolution"
		return pred, nil
	}
	pred.AnsweredFrom = model.FromHosts
	return pred, nil
}
