package difftest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// config is one generated differential case: a program, the resolver
// configuration it sees, how each fake nameserver behaves, and the lookup.
type config struct {
	Program  string        `json:"program"` // a key of programs
	NSSwitch string        `json:"nsswitch"`
	Search   []string      `json:"search"`
	Ndots    int           `json:"ndots"`
	Attempts int           `json:"attempts"`
	Servers  []string      `json:"servers"` // behaviours, in nameserver order
	Name     string        `json:"name"`
	Network  string        `json:"network"`
	Deadline time.Duration `json:"deadline,omitempty"`
	// Options are extra resolv.conf options (single-request, use-vc).
	Options []string `json:"options,omitempty"`
	// Env are extra environment variables (LOCALDOMAIN, RES_OPTIONS).
	Env []string `json:"env,omitempty"`
	// Timeout is resolv.conf's timeout in seconds (0: 1).
	Timeout int `json:"timeout,omitempty"`
}

func (c config) String() string {
	s := fmt.Sprintf("%s/nss=%s/search=%d/ndots=%d/attempts=%d/ns=%s/name=%s/net=%s",
		c.Program, c.NSSwitch, len(c.Search), c.Ndots, c.Attempts, strings.Join(c.Servers, ","), c.Name, c.Network)
	if c.Deadline > 0 {
		s += "/deadline=" + c.Deadline.String()
	}
	if len(c.Options) > 0 {
		s += "/options=" + strings.Join(c.Options, ",")
	}
	if len(c.Env) > 0 {
		s += "/env=" + strings.Join(c.Env, ",")
	}
	if c.Timeout > 1 {
		s += fmt.Sprintf("/timeout=%d", c.Timeout)
	}
	return s
}

// nsswitchFiles are the nsswitch.conf variants; "missing" has no file.
var nsswitchFiles = map[string]string{
	"missing":         "",
	"empty":           "",
	"files-dns":       "hosts: files dns\n",
	"dns-files":       "hosts: dns files\n",
	"notfound-return": "hosts: files [NOTFOUND=return] dns\n",
	"tab":             "hosts:\tfiles\tdns\n",
	"unknown-mdns":    "hosts: files mdns4_minimal [NOTFOUND=return] dns\n",
	"unknown-first":   "hosts: myhostname dns files\n",
	"no-hosts-line":   "passwd: files\ngroup: files\n",
}

var nsswitchKeys = []string{"missing", "empty", "files-dns", "dns-files", "notfound-return", "tab", "unknown-mdns", "unknown-first", "no-hosts-line"}

// hostsFile is /etc/hosts in every case: localhost for both families, and
// one name with a dot and one without.
const hostsFile = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n127.0.0.10 myhost.test myhost\n"

var searchDomains = []string{"kube-system.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example", "example.net", "lab.test"}

var behaviours = []string{"silent", "silent", "nxdomain", "nxdomain", "servfail", "refuse", "answer=127.0.0.9", "answer=127.0.0.9+::1", "nodata", "answer=127.0.0.9/truncate", "nxdomain/delay=200ms"}

var names = []string{"localhost", "localhost.", "foo", "myhost", "myhost.test", "foo.example.com", "foo.example.com.", "kubernetes.default"}

var networks = []string{"ip", "tcp", "tcp4", "tcp6"}

// programShare says how many configurations each program gets.
var programShare = []struct {
	name string
	n    int
}{
	{"go-static", 75},
	{"go-cgo-glibc+netdns=cgo", 60},
	{"go-cgo-glibc", 30},
	{"go-cgo-musl+netdns=cgo", 55},
	{"go-cgo-musl", 15},
	{"esbuild-0.8.40", 35},
	{"esbuild-0.11.23", 25},
	{"c-glibc", 35},
	{"c-musl", 30},
}

// extraOptions and extraEnv are drawn for some cases: resolv.conf options
// that change how queries are sent, and the variables that make Go hand
// the lookup to the C library and that the C library applies. (rotate is
// left out: glibc starts at a random server, and Go's A and AAAA queries
// race for the rotation counter.)
var extraOptions = [][]string{{"single-request"}, {"use-vc"}, {"single-request-reopen"}}

var extraEnv = [][]string{{"LOCALDOMAIN="}, {"LOCALDOMAIN=corp.example"}, {"RES_OPTIONS=ndots:1"}}

// maxBound is the longest a generated case may take (the suite must run in
// minutes): cases above it get fewer search domains or attempts.
const maxBound = 14 * time.Second

// bound is a generous upper bound of a case's duration with timeout:1:
// every candidate name tried on every attempt at every silent (or, for
// musl, refusing) server.
func (c config) bound() time.Duration {
	silent := 0
	for _, b := range c.Servers {
		if b == "silent" || (b == "refuse" && strings.Contains(c.Program, "musl")) {
			silent++
		}
	}
	n := len(c.Search) + 1
	if strings.HasSuffix(c.Name, ".") {
		n = 1
	}
	d := time.Duration(n*c.Attempts*silent*max(c.Timeout, 1)) * time.Second * 2 // ×2: glibc's per-server waits exceed the timeout
	for _, o := range c.Options {
		if o == "single-request" || o == "use-vc" {
			d *= 2 // A then AAAA one after the other; a TCP try can take two timeouts
		}
	}
	if c.Deadline > 0 && c.Deadline < d {
		d = c.Deadline
	}
	return d
}

// generate returns the suite's configurations: a few fixed cases (the
// incident and its fixes), then seeded pseudo-random ones, the same on
// every run.
func generate() []config {
	cs := []config{
		// The incident: Go 1.15, no nsswitch.conf, 3 silent servers, kube
		// search list, ndots:5 → 12 s of DNS before /etc/hosts.
		{Program: "esbuild-0.8.40", NSSwitch: "missing", Search: searchDomains[:3], Ndots: 5, Attempts: 1, Servers: []string{"silent", "silent", "silent"}, Name: "localhost", Network: "tcp"},
		{Program: "esbuild-0.11.23", NSSwitch: "missing", Search: searchDomains[:3], Ndots: 5, Attempts: 1, Servers: []string{"silent", "silent", "silent"}, Name: "localhost", Network: "tcp"},
		{Program: "esbuild-0.8.40", NSSwitch: "files-dns", Search: searchDomains[:3], Ndots: 5, Attempts: 1, Servers: []string{"silent", "silent", "silent"}, Name: "localhost", Network: "tcp"},
		{Program: "go-static", NSSwitch: "dns-files", Search: searchDomains[:3], Ndots: 5, Attempts: 1, Servers: []string{"silent", "silent", "silent"}, Name: "localhost", Network: "ip"},
		{Program: "go-cgo-glibc+netdns=cgo", NSSwitch: "missing", Search: searchDomains[:3], Ndots: 5, Attempts: 1, Servers: []string{"silent", "silent", "silent"}, Name: "kubernetes.default", Network: "ip"},
		{Program: "go-cgo-musl+netdns=cgo", NSSwitch: "missing", Search: searchDomains[:3], Ndots: 5, Attempts: 1, Servers: []string{"silent", "silent", "silent"}, Name: "kubernetes.default", Network: "ip"},
	}
	rng := rand.New(rand.NewPCG(20261126, 3))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	for _, ps := range programShare {
		for i := 0; i < ps.n; i++ {
			c := config{
				Program:  ps.name,
				NSSwitch: pick(nsswitchKeys),
				Search:   searchDomains[:rng.IntN(len(searchDomains)+1)],
				Ndots:    rng.IntN(16),
				Attempts: 1 + rng.IntN(2),
				Name:     pick(names),
				Network:  pick(networks),
			}
			if rng.IntN(3) == 0 {
				c.Ndots = rng.IntN(3) // small ndots are the common case
			}
			for range 1 + rng.IntN(3) {
				c.Servers = append(c.Servers, pick(behaviours))
			}
			if rng.IntN(6) == 0 {
				c.Options = extraOptions[rng.IntN(len(extraOptions))]
			}
			if rng.IntN(8) == 0 {
				c.Env = extraEnv[rng.IntN(len(extraEnv))]
			}
			if strings.HasPrefix(ps.name, "esbuild") {
				// esbuild resolves its --serve host with net.Listen("tcp").
				c.Network = "tcp"
				c.Name = pick([]string{"localhost", "localhost.", "foo", "myhost", "myhost.test", "foo.example.com"})
			} else if strings.HasPrefix(ps.name, "c-") {
				// The C probe calls getaddrinfo with the family of the
				// network and no deadline (C has none).
				c.Network = pick([]string{"ip", "ip4", "ip6"})
			} else if rng.IntN(4) == 0 {
				c.Deadline = []time.Duration{1500 * time.Millisecond, 2500 * time.Millisecond}[rng.IntN(2)]
			}
			if strings.Contains(ps.name, "musl") {
				c.Servers = oneAnswer(c.Servers)
				if c.Attempts > 1 && strings.Contains(strings.Join(c.Servers, ","), "delay=") {
					// musl resends every timeout/attempts: keep a delayed
					// reply well before the next round, whatever the load.
					c.Timeout = 2
				}
			}
			if strings.Contains(ps.name, "glibc") && slices.Contains(c.Options, "use-vc") && slices.Contains(c.Servers, "silent") {
				// glibc reads a TCP reply with no timeout at all: against
				// a server that accepts and never answers it waits until
				// the connection closes (seen: killed after 38 s). Such a
				// case only measures the lab's own limit.
				c.Options = nil
			}
			for c.bound() > maxBound && len(c.Search) > 0 {
				c.Search = c.Search[:len(c.Search)-1]
			}
			if c.bound() > maxBound {
				c.Attempts = 1
			}
			cs = append(cs, c)
		}
	}
	return cs
}
