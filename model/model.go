// Package model predicts how a program resolves a host name: which resolver
// runs (Go's own or the C library's), in which order /etc/hosts and DNS are
// consulted, every DNS exchange it sends and when, how long the lookup takes
// against the caller's deadline, and the error text the program prints.
//
// The package is pure: it performs no I/O. Everything a decision reads is a
// field of [Env] (file contents, environment variables, host name), of
// [Program] (what the binary is) or of [Request] (the lookup). Every decision
// is recorded as a [Step] that cites the file and line that caused it, so a
// front end can explain itself.
//
// The behaviour modelled is documented, with sources, in the project's
// reference notes (go-resolver.md for Go 1.10–1.27, libc-k8s-resolver.md for
// glibc and musl).
package model

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/nsscope/nsscope/version"
)

// Impl names a resolver implementation.
type Impl string

const (
	ImplGo    Impl = "go"    // Go's net package (its own resolver, or libc via cgo)
	ImplGlibc Impl = "glibc" // a C program calling glibc's getaddrinfo
	ImplMusl  Impl = "musl"  // a C program calling musl's getaddrinfo
)

// Program describes the program whose lookups are predicted.
type Program struct {
	// Label is a short human description ("Go 1.15 static"); optional:
	// Describe builds the one label from the build when it is empty.
	Label string `json:"label,omitempty"`
	Impl  Impl   `json:"impl"`
	// Go describes the Go build when Impl is ImplGo.
	Go GoBuild `json:"go,omitzero"`
	// Libc is the C library the program uses: the one getaddrinfo comes
	// from for ImplGlibc/ImplMusl, and the one a cgo Go binary calls when
	// Go hands the lookup to the system resolver. Zero means unknown.
	Libc Libc `json:"libc,omitzero"`
}

// GoBuild is what matters about a Go binary's build for name resolution.
type GoBuild struct {
	Version Version `json:"version,omitzero"`
	// Cgo reports whether the cgo resolver is compiled in: cgo enabled at
	// build time and no netgo tag.
	Cgo bool `json:"cgo"`
	// NetgoTag and NetcgoTag are the build tags of those names.
	NetgoTag  bool `json:"netgo_tag,omitempty"`
	NetcgoTag bool `json:"netcgo_tag,omitempty"`
	// DefaultGODEBUG is the build setting of that name (Go 1.21+), e.g.
	// "netdns=go,netedns0=0". The environment's GODEBUG overrides it.
	DefaultGODEBUG string `json:"default_godebug,omitempty"`
	// GoModVersion is the go line of the main module when known (it decides
	// defaults such as netedns0). Zero means unknown.
	GoModVersion Version `json:"gomod_version,omitzero"`
	// PreferGo and StrictErrors mirror the net.Resolver fields the program
	// uses (false for net.DefaultResolver).
	PreferGo     bool `json:"prefer_go,omitempty"`
	StrictErrors bool `json:"strict_errors,omitempty"`
}

// Libc names a C library and its version.
type Libc struct {
	Kind    string  `json:"kind,omitempty"` // "glibc" or "musl"
	Version Version `json:"version,omitzero"`
	// Distro marks vendor patches that change behaviour; "debian" means the
	// built-in nsswitch default is "files dns" even before glibc 2.35.
	Distro string `json:"distro,omitempty"`
	// Release is the distribution's package release when known, e.g.
	// Alpine's "1.2.3-r3" (from lib/apk/db/installed, see AlpineMusl).
	Release string `json:"release,omitempty"`
}

// Known reports whether the library is known.
func (l Libc) Known() bool { return l.Kind != "" }

func (l Libc) String() string {
	if l.Kind == "" {
		return "unknown libc"
	}
	if l.Version.IsZero() {
		return l.Kind
	}
	v := l.Version
	if l.Kind == "glibc" {
		v.Patch = -1 // glibc releases have no patch number: glibc-2.36, never glibc-2.36.0
	}
	return l.Kind + "-" + v.String()
}

// File is one configuration file as the program would see it.
type File struct {
	// Path is the path inside the program's root, e.g. /etc/resolv.conf.
	Path string `json:"path"`
	// Origin says where the content came from on the analysing side
	// (a host path, "alpine.tar.gz:etc/hosts", "kubelet default"); it is
	// used when citing the file. Empty means Path.
	Origin string `json:"origin,omitempty"`
	// Missing means the file does not exist (ENOENT).
	Missing bool `json:"missing,omitempty"`
	// ReadErr is a read error other than ENOENT, e.g. "permission denied".
	ReadErr string `json:"read_error,omitempty"`
	// PermissionDenied marks ReadErr as EACCES, which Go treats like a
	// missing file in some decisions.
	PermissionDenied bool `json:"permission_denied,omitempty"`
	// Data is the content (empty when Missing or ReadErr).
	Data Text `json:"data,omitempty"`
	// Target is where Path led when it is a symbolic link (a path inside
	// the root, e.g. /run/systemd/resolve/stub-resolv.conf); empty when
	// the file was read where it is named or its reader did not say.
	Target string `json:"target,omitempty"`
}

// Name returns the name used when citing the file.
func (f File) Name() string {
	if f.Origin != "" {
		return f.Origin
	}
	return f.Path
}

// Env is everything in the program's environment that steers resolution.
type Env struct {
	ResolvConf File `json:"resolv_conf"`
	NSSwitch   File `json:"nsswitch_conf"`
	Hosts      File `json:"hosts"`
	// MDNSAllow is /etc/mdns.allow; only its existence matters.
	MDNSAllow File `json:"mdns_allow"`
	// Vars is the program's environment (GODEBUG, LOCALDOMAIN, RES_OPTIONS,
	// HOSTALIASES, ...). A key present with an empty value is "present".
	Vars map[string]string `json:"env,omitempty"`
	// Hostname is what os.Hostname/gethostname returns; HostnameErr means
	// the call fails.
	Hostname    string `json:"hostname,omitempty"`
	HostnameErr bool   `json:"hostname_error,omitempty"`
	// NSSModules lists the glibc NSS services whose modules the root has
	// beyond the built-in files and dns ("myhostname", "mdns4_minimal",
	// ...). Nil means unknown: a listed myhostname source is then assumed
	// installed (distributions that list it ship it).
	NSSModules []string `json:"nss_modules,omitempty"`
}

// hasNSSModule reports whether glibc can load the service's module.
func (e Env) hasNSSModule(name string) bool {
	if e.NSSModules == nil {
		return true
	}
	return slices.Contains(e.NSSModules, name)
}

// Request is one name lookup made by the program.
type Request struct {
	Name string `json:"name"`
	// Network is the Go network: ip, ip4, ip6, tcp, tcp4, tcp6, udp, udp4,
	// udp6. For C programs ip4/tcp4 mean AF_INET, *6 AF_INET6, others
	// AF_UNSPEC. Empty means "ip".
	Network string `json:"network"`
	// Dial means the lookup is part of a net.Dial (it changes the error
	// text); Port is then the port dialled (for display only).
	Dial bool `json:"dial,omitempty"`
	Port int  `json:"port,omitempty"`
	// Op refines the operation: "dial", "listen", "lookup-ip" or
	// "lookup-host" (see the Op constants). Empty means "dial" when Dial is
	// set, else "lookup-host".
	Op string `json:"op,omitempty"`
	// Deadline is the caller's deadline measured from the start of the
	// lookup; zero means none.
	Deadline Seconds `json:"deadline_seconds"`
}

// BehaviorKind is what a fake or real nameserver does with a query.
type BehaviorKind string

const (
	Silent   BehaviorKind = "silent"   // drops every query: each exchange costs the full timeout
	Refuse   BehaviorKind = "refuse"   // ICMP port unreachable: connected sockets fail at once
	NXDomain BehaviorKind = "nxdomain" // answers NXDOMAIN
	ServFail BehaviorKind = "servfail" // answers SERVFAIL
	Refused  BehaviorKind = "refused"  // answers with rcode REFUSED
	NoData   BehaviorKind = "nodata"   // answers NOERROR with no records
	Answer   BehaviorKind = "answer"   // answers with Addrs (NXDOMAIN if no address of the type)
)

// Behavior describes one nameserver.
type Behavior struct {
	Kind BehaviorKind `json:"kind"`
	// Addrs are the addresses returned for every name by Answer: A records
	// from the IPv4 ones, AAAA from the IPv6 ones. A query type with no
	// address gets NOERROR/no data.
	Addrs []netip.Addr `json:"addrs,omitempty"`
	// Truncate sets TC=1 on UDP replies (with no records); the TCP reply is
	// the real one.
	Truncate bool `json:"truncate,omitempty"`
	// Delay before the reply (ignored for Silent and Refuse).
	Delay Seconds `json:"delay_seconds,omitempty"`
}

// Scenario says how each nameserver behaves, in nameserver order. A
// scenario with one behaviour applies it to every server; servers past the
// end of a longer list are Silent.
type Scenario struct {
	Servers []Behavior `json:"servers"`
}

// For returns the behaviour of the i-th nameserver (0-based).
func (s Scenario) For(i int) Behavior {
	switch {
	case len(s.Servers) == 0:
		return Behavior{Kind: Silent}
	case len(s.Servers) == 1:
		return s.Servers[0]
	case i < len(s.Servers):
		return s.Servers[i]
	}
	return Behavior{Kind: Silent}
}

// Pos cites a line of a configuration file (Line 0: the file as a whole, or
// its absence).
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Text string `json:"text,omitempty"`
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Step is one decision with its reason.
type Step struct {
	// Key names the decision: "resolver", "order", "ndots", "servers", ...
	Key    string `json:"key"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
	// Source cites what caused it; nil for built-in facts.
	Source *Pos `json:"source,omitempty"`
}

// Exchange is one DNS message sent (and its fate).
type Exchange struct {
	// Server is "ip:53".
	Server    string `json:"server"`
	Name      string `json:"name"`      // rooted name asked, "localhost."
	Type      string `json:"type"`      // "A" or "AAAA"
	Transport string `json:"transport"` // "udp" or "tcp"
	Attempt   int    `json:"attempt"`   // 1-based
	// Outcome: timeout, refused (ICMP), nxdomain, servfail, refused-rcode,
	// nodata, answer, truncated, cancelled (caller deadline).
	Outcome string `json:"outcome"`
	// EDNS reports that the query carries an EDNS(0) OPT record.
	EDNS bool `json:"edns"`
	// Race, when set, says that this exchange is sent in some runs and not
	// in others: which reply arrives first decides (see
	// Prediction.QueriesRange).
	Race string `json:"race,omitempty"`
	// Start and End are when the message is sent and when its fate is
	// known, from the start of the lookup.
	Start Seconds `json:"start_seconds"`
	End   Seconds `json:"end_seconds"`
}

// Answer sources.
const (
	FromHosts = "hosts"
	FromDNS   = "dns"
	FromNone  = "none"
)

// Prediction is the model's answer for one program, environment, request
// and scenario.
type Prediction struct {
	Program  Program  `json:"program"`
	Request  Request  `json:"request"`
	Scenario Scenario `json:"scenario"`
	// Resolver: "go" (Go's own resolver), "cgo/glibc", "cgo/musl", "glibc",
	// "musl" (the C library doing the work).
	Resolver string `json:"resolver"`
	// Order is the source order for this name: "files,dns", "dns,files",
	// "files", "dns" for the Go resolver; the effective NSS chain for glibc
	// ("files,dns", "dns[!UNAVAIL=return],files", ...); "files,dns" for musl.
	Order string `json:"order"`
	// Steps is the decision trail, in order.
	Steps []Step `json:"steps"`
	// Candidates are the rooted names DNS would be asked, in order (also
	// when DNS is never reached).
	Candidates []string `json:"candidates"`
	// Servers are the nameservers in use ("ip:53"); Timeout and Attempts
	// are the resolver's per-exchange wait (glibc: the first server's) and
	// its rounds over them, after defaults and caps; SingleRequest says A
	// and AAAA are asked one after the other.
	Servers       []string   `json:"servers"`
	Attempts      int        `json:"attempts,omitempty"`
	SingleRequest bool       `json:"single_request,omitempty"`
	Exchanges     []Exchange `json:"exchanges"`
	// Queries counts DNS messages sent (in the order Exchanges shows).
	Queries int `json:"queries"`
	// QueriesRange is set when the count is a race (musl asks every server
	// at once, and which reply arrives first decides the SERVFAIL resends
	// and the server of a TCP retry): any count from QueriesRange[0] to
	// QueriesRange[1] is what the program may send; the exchanges that
	// depend on the race carry a Race note.
	QueriesRange *[2]int `json:"queries_range,omitempty"`
	// AnsweredFrom is hosts, dns or none.
	AnsweredFrom string   `json:"answered_from"`
	Addrs        []string `json:"addrs,omitempty"`
	// DeadlineExceeded reports that the caller's deadline cut the lookup.
	DeadlineExceeded bool `json:"deadline_exceeded"`
	// Error is the text the program would print (empty on success).
	Error string `json:"error"`
	// Debug is what GODEBUG=netdns=go+2 prints (Go programs only).
	Debug []string `json:"debug,omitempty"`
	// Notes are caveats (behaviour the model is unsure of, eras assumed).
	Notes []string `json:"notes,omitempty"`
	// DNS is the time spent in DNS; Total the time until the lookup (or
	// dial) returns; Timeout the per-exchange wait (see Servers).
	DNS     Seconds `json:"dns_seconds"`
	Total   Seconds `json:"total_seconds"`
	Timeout Seconds `json:"timeout_seconds,omitempty"`
}

// Version is a dotted release number (Go 1.15.7, glibc 2.31, musl 1.2.3).
type Version = version.Version

// V builds a version.
func V(major, minor, patch int) Version { return version.New(major, minor, patch) }

// ParseVersion parses "1.15", "go1.21.3", "2.31".
func ParseVersion(s string) (Version, error) { return version.Parse(s) }
