package kube

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

// Facts about what kube-apiserver does with its loopback client while it
// starts (Kubernetes source, pkg/controlplane and pkg/registry; see
// docs/apiserver.md), and the times measured on the real v1.37.2 in the
// lab (2 cores, etcd already up; they grow with the machine's load).
// Machine is how fast kube-apiserver starts on its machine, apart from
// DNS: the times the start-up model adds to what DNS costs.
type Machine struct {
	// FirstDial is when the first loopback request goes out after the
	// process starts: the mutating admission policy's type converter
	// fetches /openapi/v3 before the server listens.
	FirstDial time.Duration `json:"-"`
	// Serving is when the secure port listens ("Serving securely on")
	// and the post-start hooks begin, each in its own goroutine
	// (k8s.io/apiserver server/hooks.go RunPostStartHooks).
	Serving time.Duration `json:"-"`
	// ReadyAfterServing is how long after that /readyz answers ok when
	// the loopback client connects at once.
	ReadyAfterServing time.Duration `json:"-"`
	// ReadyAfterConnect is how long after the loopback client's first
	// connection /readyz answers ok when the hooks had to wait for it
	// (the RBAC reconciliation over the loopback).
	ReadyAfterConnect time.Duration `json:"-"`
}

// DefaultMachine is the real v1.37.2 measured in the lab on an idle
// 2-core machine with etcd up: first DNS query at 0.8-1.9 s, "Serving
// securely" at 2.9-3.2 s, ready 3.7-6.3 s without DNS and 1.0-2.4 s
// after the loopback connects. A loaded machine adds to all of them.
func DefaultMachine() Machine {
	return Machine{FirstDial: time.Second, Serving: 3 * time.Second, ReadyAfterServing: 1500 * time.Millisecond, ReadyAfterConnect: 1500 * time.Millisecond}
}

// Facts about what kube-apiserver does with its loopback client while it
// starts (Kubernetes source, pkg/controlplane and pkg/registry; see
// docs/apiserver.md).
const (
	// RepairInterval is how long the repair loops wait between runs
	// (the controlplane's RepairServicesInterval default, 3 minutes).
	RepairInterval = 3 * time.Minute
	// BootstrapPoll and BootstrapTimeout are the bootstrap hooks'
	// wait.Poll(1s, 30s) (rbac/bootstrap-roles,
	// scheduling/bootstrap-system-priority-classes).
	BootstrapPoll    = time.Second
	BootstrapTimeout = 30 * time.Second
	// InformerRetry is how soon after a failed lookup one of the shared
	// informers asks again: each reflector backs off 800 ms doubling to
	// 30 s with full jitter, and with dozens of them one is always about
	// to retry (measured: a failed lookup is followed by the next within
	// 0.1 s).
	InformerRetry = 100 * time.Millisecond
	// TypeConverterPoll is how often the type converter fetches
	// /openapi/v3 (wait.PollUntilContextCancel, 5 s, immediate).
	TypeConverterPoll = 5 * time.Second
	// LeaseDeleteTimeout bounds the identity lease controller's delete
	// of its old lease at start (component-helpers lease controller,
	// shutdownTimeout).
	LeaseDeleteTimeout = 10 * time.Second
)

// Start-up outcomes.
const (
	OutcomeReady = report.StartupReady
	OutcomeExits = report.StartupExits
)

// StartupResult is the start-up in the terms of the real apiserver's run:
// whether /readyz answers ok or the process exits, when (from the
// process's start), how many DNS messages it sends until then, and the
// first fatal (or, when it gets ready, error) line it prints.
type StartupResult = report.Startup

// loopbackUser is a part of kube-apiserver that uses the loopback client
// while it starts: a model.Client, and how its replies decide the
// start-up.
type loopbackUser interface {
	model.Client
	// name is the post-start hook (or component) it belongs to.
	name() string
	// verdict reads its replies: when it first succeeded, or when and
	// with which log line it kills the apiserver.
	verdict(rs []model.Reply) userVerdict
}

type userVerdict struct {
	ok      bool
	okAt    time.Duration
	fatal   bool
	fatalAt time.Duration
	line    string
	// optional users do not hold up /readyz; waited says it waited for
	// DNS before it connected.
	optional, waited bool
	// errAt and errLine are the first error it logs ("": none).
	errAt   time.Duration
	errLine string
}

// loopbackUsers returns the users of the loopback client in an apiserver
// of version v (zero: current), per the start-up code of that release.
func loopbackUsers(v model.Version, lb Loopback, m Machine) []loopbackUser {
	current := v.IsZero()
	var users []loopbackUser
	if current || v.AtLeast(1, 32, 0) {
		users = append(users, &typeConverter{at: m.FirstDial, url: lb.URL() + "/openapi/v3"})
	}
	users = append(users, &reflectors{at: m.Serving})
	if current || v.AtLeast(1, 37, 0) {
		users = append(users, &leaseDelete{at: m.Serving, url: lb.URL() + "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/apiserver-…"})
	}
	if current || v.AtLeast(1, 25, 0) {
		users = append(users, &boundedRepair{at: m.Serving})
	} else {
		users = append(users, &fatalRepair{at: m.Serving, url: lb.URL() + "/api/v1/services"})
	}
	users = append(users,
		&bootstrapPoll{start: m.Serving, hook: "rbac/bootstrap-roles", msg: "unable to initialize roles"},
		&bootstrapPoll{start: m.Serving, hook: "scheduling/bootstrap-system-priority-classes", msg: "unable to add default system priority classes"},
	)
	return users
}

// typeConverter is the mutating admission policy's type converter
// (1.32+): it fetches /openapi/v3 every 5 s from before the hooks run,
// so it usually starts the first lookup. Its failures are logged, never
// fatal.
type typeConverter struct {
	at  time.Duration
	url string
}

func (typeConverter) name() string { return "admission type converter (GET /openapi/v3)" }

func (t typeConverter) Next(prev *model.Reply) (model.Ask, bool) {
	if prev == nil {
		return model.Ask{At: t.at, Wait: LoopbackDialTimeout}, true
	}
	if prev.OK {
		return model.Ask{}, false
	}
	return model.Ask{At: max(prev.Done, prev.At+TypeConverterPoll), Wait: LoopbackDialTimeout}, true
}

func (t typeConverter) verdict(rs []model.Reply) userVerdict {
	v := firstOK(rs)
	v.optional = true
	if e := firstFailure(rs); e != nil {
		v.errAt, v.errLine = e.Done, fmt.Sprintf("failed to fetch openapi paths: Get %q: %s", t.url, dialError(*e))
	}
	return v
}

// leaseDelete is the identity lease controller's delete of its old lease
// when it starts (post-start hook
// start-kube-apiserver-identity-lease-controller), under a 10 s context;
// a failure is logged, never fatal.
type leaseDelete struct {
	at  time.Duration
	url string
}

func (leaseDelete) name() string { return "identity lease controller (DELETE old lease, 10 s)" }

func (l leaseDelete) Next(prev *model.Reply) (model.Ask, bool) {
	if prev == nil {
		return model.Ask{At: l.at, Wait: LeaseDeleteTimeout}, true
	}
	return model.Ask{}, false
}

func (l leaseDelete) verdict(rs []model.Reply) userVerdict {
	v := firstOK(rs)
	v.optional = true
	if e := firstFailure(rs); e != nil {
		msg := "context deadline exceeded"
		if !e.TimedOut {
			msg = e.Err
		}
		v.errAt, v.errLine = e.Done, fmt.Sprintf("error deleting old lease: Delete %q: %s", l.url, msg)
	}
	return v
}

// reflectors stand for the shared informers' list calls, which start with
// the hooks and retry until they succeed. Together they ask again soon
// after every failure. They never kill the apiserver, but /readyz waits
// for them.
type reflectors struct{ at time.Duration }

func (r *reflectors) name() string { return "informers (reflector list)" }

func (r *reflectors) Next(prev *model.Reply) (model.Ask, bool) {
	if prev == nil {
		return model.Ask{At: r.at, Wait: LoopbackDialTimeout}, true
	}
	if prev.OK {
		return model.Ask{}, false
	}
	return model.Ask{At: prev.Done + InformerRetry, Wait: LoopbackDialTimeout}, true
}

func (r *reflectors) verdict(rs []model.Reply) userVerdict { return firstOK(rs) }

// boundedRepair is the 1.25+ post-start hook
// start-service-ip-repair-controllers: the node-port repair lists the
// Services once, retries only after RepairInterval, and the hook gives up
// one minute after it started (kubernetes#109975; pkg/registry/core/rest
// storage_core.go).
type boundedRepair struct{ at time.Duration }

const boundedRepairHook = "start-service-ip-repair-controllers"

func (boundedRepair) name() string {
	return "post-start hook " + boundedRepairHook + " (1.25+: retries only after 3 min, gives up after 1 min: fatal)"
}

func (b boundedRepair) Next(prev *model.Reply) (model.Ask, bool) {
	if prev == nil {
		return model.Ask{At: b.at, Wait: LoopbackDialTimeout}, true
	}
	if prev.OK {
		return model.Ask{}, false
	}
	return model.Ask{At: prev.Done + RepairInterval, Wait: LoopbackDialTimeout}, true
}

func (b boundedRepair) verdict(rs []model.Reply) userVerdict {
	end := b.at + RepairWait
	if v := firstOK(rs); v.ok && v.okAt <= end {
		return v
	}
	return userVerdict{fatal: true, fatalAt: end,
		line: fmt.Sprintf("PostStartHook %q failed: unable to perform initial IP and Port allocation check (timeout)", boundedRepairHook)}
}

// fatalRepair is the pre-1.25 bootstrap-controller: its Start runs the
// cluster IP repair once, and any error of its list of Services is fatal
// at once (pkg/controlplane/controller.go, klog.Fatalf).
type fatalRepair struct {
	at  time.Duration
	url string
}

func (fatalRepair) name() string {
	return "post-start hook bootstrap-controller (before 1.25 its first repair error is fatal: klog.Fatalf)"
}

func (f fatalRepair) Next(prev *model.Reply) (model.Ask, bool) {
	if prev == nil {
		return model.Ask{At: f.at, Wait: LoopbackDialTimeout}, true
	}
	return model.Ask{}, false
}

func (f fatalRepair) verdict(rs []model.Reply) userVerdict {
	if v := firstOK(rs); v.ok {
		return v
	}
	r := rs[0]
	return userVerdict{fatal: true, fatalAt: r.Done,
		line: fmt.Sprintf("Unable to perform initial IP allocation check: unable to refresh the service IP block: Get %q: %s", f.url, dialError(r))}
}

// bootstrapPoll is a bootstrap post-start hook that polls with
// wait.Poll(1s, 30s): the first try one interval after the start, a next
// try at the first tick after a failed one, and, once the 30 s are over,
// one last try; if that fails too the hook's error is fatal
// (server/hooks.go runPostStartHook, klog.Fatalf).
type bootstrapPoll struct {
	start     time.Duration
	hook, msg string
	final     bool
	// atLookupEnd records that the last try falls at the instant the
	// shared lookup the previous try waited on failed: a race (see
	// failFast).
	atLookupEnd bool
	// failFast takes the race's other branch: the last try reaches the
	// resolver before the failed lookup is forgotten, gets its failure
	// at once, and the hook fails then (seen on the real v1.37.2: the
	// rbac hook's fatal line 60 ms after the second lookup failed).
	failFast bool
	// atTimeoutTick records that a try is due at the poll's 30th tick,
	// which comes at the same instant as its 30 s timer: the poller
	// picks one of the two at random (a select), so the tick either
	// starts one more ordinary try (tickFirst) or the timer closes the
	// channel first and the try is the last.
	atTimeoutTick, tickFirst bool
}

func (b *bootstrapPoll) name() string { return "post-start hook " + b.hook }

func (b *bootstrapPoll) Next(prev *model.Reply) (model.Ask, bool) {
	start := b.start
	if prev == nil {
		return model.Ask{At: start + BootstrapPoll, Wait: LoopbackDialTimeout}, true
	}
	if prev.OK || b.final {
		return model.Ask{}, false
	}
	// The ticker drops ticks while the condition runs: the next try is
	// at the first tick after this one ended.
	ticks := (prev.Done - start + BootstrapPoll - 1) / BootstrapPoll
	next := start + ticks*BootstrapPoll
	if next == start+BootstrapTimeout {
		b.atTimeoutTick = true
	}
	if next < start+BootstrapTimeout || (b.tickFirst && next == start+BootstrapTimeout) {
		return model.Ask{At: next, Wait: LoopbackDialTimeout}, true
	}
	// The poll's channel is closed: one last try, at once.
	b.final = true
	at := max(prev.Done, start+BootstrapTimeout)
	if at == prev.Done && !prev.TimedOut {
		b.atLookupEnd = true
		if b.failFast {
			return model.Ask{}, false
		}
	}
	return model.Ask{At: at, Wait: LoopbackDialTimeout}, true
}

func (b *bootstrapPoll) verdict(rs []model.Reply) userVerdict {
	if v := firstOK(rs); v.ok {
		return v
	}
	last := rs[len(rs)-1]
	return userVerdict{fatal: true, fatalAt: last.Done,
		line: fmt.Sprintf("PostStartHook %q failed: %s: timed out waiting for the condition", b.hook, b.msg)}
}

// firstFailure is the first request that failed because of DNS (its
// deadline passed or the lookup failed); a refused connect before the
// server listens is retried quietly.
func firstFailure(rs []model.Reply) *model.Reply {
	for i := range rs {
		if !rs[i].OK && rs[i].Err != refused {
			return &rs[i]
		}
	}
	return nil
}

// refused is the error of a request whose lookup answered before the
// server listened (model.ShareOptions.AcceptFrom).
const refused = "connect: connection refused"

// firstOK is the first success; waited says that it, or a failure
// before it, had to wait for a lookup.
func firstOK(rs []model.Reply) userVerdict {
	waited := false
	for _, r := range rs {
		waited = waited || r.Done > r.At
		if r.OK {
			return userVerdict{ok: true, okAt: r.Done, waited: waited}
		}
	}
	return userVerdict{}
}

// dialError is the text client-go's error carries for a failed dial of
// the loopback host.
func dialError(r model.Reply) string {
	if r.TimedOut {
		return "dial tcp: lookup localhost: i/o timeout"
	}
	return r.Err
}

// simHorizon bounds the simulation of clients that retry forever.
const simHorizon = 10 * time.Minute

// SimulateStartup predicts the apiserver's start-up from what its loopback
// users do with a loopback name whose lookup is run, in a Go release
// whose sharing of concurrent lookups is era. It returns the outcome and
// the reasons, first cause first.
func SimulateStartup(v model.Version, lb Loopback, run model.LookupRun, era model.ShareEra, m Machine) (StartupResult, []string) {
	res, why, raced := simulateStartup(v, lb, run, era, m, race{})
	if !raced {
		return res, why
	}
	same := func(a, b StartupResult) bool {
		return a.Outcome == b.Outcome && a.Time == b.Time && a.DNSQueries == b.DNSQueries && a.DNSQueriesAtExit == b.DNSQueriesAtExit && a.Log == b.Log
	}
	for _, r := range []race{{tickFirst: true}, {failFast: true}, {tickFirst: true, failFast: true}} {
		other, _, _ := simulateStartup(v, lb, run, era, m, r)
		if same(other, res) || slices.ContainsFunc(res.Races, func(o StartupResult) bool { return same(o, other) }) {
			continue
		}
		res.Races = append(res.Races, other)
		why = append(why, fmt.Sprintf("race (%s): the start-up %s at %s after %d DNS queries: %s",
			r, other.Outcome, fmtDur(other.Time.Duration()), other.DNSQueries, other.Log))
	}
	return res, why
}

// race picks the branches of the bootstrap hooks' two races (see
// bootstrapPoll); the zero value is the model's first choice.
type race struct{ tickFirst, failFast bool }

func (r race) String() string {
	var parts []string
	if r.tickFirst {
		parts = append(parts, "a bootstrap hook's 30th poll tick beats its 30 s timer")
	}
	if r.failFast {
		parts = append(parts, "its last try takes the failure of the lookup that just ended")
	}
	return strings.Join(parts, "; ")
}

// simulateStartup is one run of SimulateStartup's model, with the branches
// r of the bootstrap hooks' races; raced reports that a hook met one.
func simulateStartup(v model.Version, lb Loopback, run model.LookupRun, era model.ShareEra, m Machine, r race) (StartupResult, []string, bool) {
	users := loopbackUsers(v, lb, m)
	for _, u := range users {
		if b, ok := u.(*bootstrapPoll); ok {
			b.failFast, b.tickFirst = r.failFast, r.tickFirst
		}
	}
	clients := make([]model.Client, len(users))
	for i, u := range users {
		clients[i] = u
	}
	sh := model.Share(era, run, clients, model.ShareOptions{Until: simHorizon, Reuse: true, AcceptFrom: m.Serving})
	var why []string
	exit, exitLine, lastOK := time.Duration(0), "", time.Duration(0)
	var also []string
	errAt, errLine := time.Duration(0), ""
	for i, u := range users {
		vd := u.verdict(sh.Replies[i])
		if vd.errLine != "" && (errLine == "" || vd.errAt < errAt) {
			errAt, errLine = vd.errAt, vd.errLine
		}
		switch {
		case vd.fatal:
			why = append(why, fmt.Sprintf("%s: fails at %s: %s", u.name(), fmtDur(vd.fatalAt), vd.line))
			switch {
			case exitLine == "" || vd.fatalAt < exit:
				exit, exitLine, also = vd.fatalAt, vd.line, nil
			case vd.fatalAt == exit:
				also = append(also, vd.line)
			}
		case vd.ok:
			why = append(why, fmt.Sprintf("%s: connected at %s", u.name(), fmtDur(vd.okAt)))
			if !vd.optional && vd.waited {
				lastOK = max(lastOK, vd.okAt)
			}
		case vd.errLine != "":
			why = append(why, fmt.Sprintf("%s: at %s logs %s", u.name(), fmtDur(vd.errAt), vd.errLine))
		}
	}
	for i, l := range sh.Lookups {
		if exitLine != "" && l.Start >= exit {
			break
		}
		fate := "ends"
		if l.Cancelled {
			fate = "is cancelled"
		}
		why = append(why, fmt.Sprintf("lookup %d of %s starts at %s for the %s, shared by %d request(s), %s at %s after %d DNS queries", i+1, lb.Host, fmtDur(l.Start), users[l.Creator].name(), l.Callers, fate, fmtDur(l.End), l.Queries))
	}
	if exitLine != "" {
		return StartupResult{Outcome: OutcomeExits, Time: model.Seconds(exit), DNSQueries: sh.QueriesBefore(exit), DNSQueriesAtExit: sh.QueriesAt(exit), Log: exitLine, Also: also}, why, raced(users)
	}
	ready := m.Serving + m.ReadyAfterServing
	if lastOK > 0 {
		ready = max(ready, lastOK+m.ReadyAfterConnect)
	}
	return StartupResult{Outcome: OutcomeReady, Time: model.Seconds(ready), DNSQueries: sh.Queries, Log: errLine}, why, raced(users)
}

// raced reports whether a bootstrap hook's last try met the race.
func raced(users []loopbackUser) bool {
	for _, u := range users {
		if b, ok := u.(*bootstrapPoll); ok && (b.atLookupEnd || b.atTimeoutTick) {
			return true
		}
	}
	return false
}
