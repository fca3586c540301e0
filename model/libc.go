package model

import (
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
)

// libcResult is the outcome of getaddrinfo.
type libcResult struct {
	addrs []netip.Addr
	from  string // hosts, dns, myhostname, none
	eai   string // "", EAI_NONAME, EAI_AGAIN, EAI_FAIL, EAI_NODATA
	end   time.Duration
	order string
	cands []string
	ex    []Exchange
	srv   []string
	// timeout, attempts, single as in Prediction.
	timeout  time.Duration
	attempts int
	single   bool
	notes    []string
	// queriesRange is the bound on the count when it is a race.
	queriesRange *[2]int
}

// gaiText is gai_strerror of each C library.
func gaiText(kind, eai string) string {
	if kind == "musl" {
		switch eai {
		case "EAI_NONAME":
			return "Name does not resolve"
		case "EAI_AGAIN":
			return "Try again"
		case "EAI_FAIL":
			return "Non-recoverable error"
		case "EAI_NODATA":
			return "Name has no usable address"
		}
	}
	switch eai {
	case "EAI_NONAME":
		return "Name or service not known"
	case "EAI_AGAIN":
		return "Temporary failure in name resolution"
	case "EAI_FAIL":
		return "Non-recoverable failure in name resolution"
	case "EAI_NODATA":
		return "No address associated with hostname"
	}
	return eai
}

// gaiHints are the getaddrinfo hints that matter here.
type gaiHints struct {
	family   string // "unspec", "inet", "inet6"
	v4mapped bool   // AI_V4MAPPED|AI_ALL (Go's cgo resolver passes them)
}

func hintsFor(network string, v4mapped bool) gaiHints {
	h := gaiHints{family: "unspec", v4mapped: v4mapped}
	switch {
	case strings.HasSuffix(network, "4"):
		h.family = "inet"
	case strings.HasSuffix(network, "6"):
		h.family = "inet6"
	}
	return h
}

func (h gaiHints) String() string {
	s := map[string]string{"unspec": "AF_UNSPEC", "inet": "AF_INET", "inet6": "AF_INET6"}[h.family]
	if h.v4mapped && h.family == "inet6" {
		s += " with AI_V4MAPPED|AI_ALL"
	}
	return s
}

// muslTypes: musl turns AF_INET6+AI_V4MAPPED into AF_UNSPEC and asks A
// then AAAA together.
func (h gaiHints) muslTypes() []string {
	switch {
	case h.family == "inet":
		return []string{"A"}
	case h.family == "inet6" && !h.v4mapped:
		return []string{"AAAA"}
	}
	return []string{"A", "AAAA"}
}

// glibcPasses: AF_UNSPEC asks A and AAAA together in one search;
// AF_INET6 with AI_V4MAPPED|AI_ALL searches AAAA, then A in a second
// search.
func (h gaiHints) glibcPasses() [][]string {
	switch {
	case h.family == "inet":
		return [][]string{{"A"}}
	case h.family == "inet6" && h.v4mapped:
		return [][]string{{"AAAA"}, {"A"}}
	case h.family == "inet6":
		return [][]string{{"AAAA"}}
	}
	return [][]string{{"A", "AAAA"}}
}

// filter keeps the /etc/hosts addresses the hints accept (IPv4 ones are
// returned mapped under AI_V4MAPPED).
func (h gaiHints) filter(addrs []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		switch {
		case h.family == "inet" && !a.Unmap().Is4():
		case h.family == "inet6" && !h.v4mapped && a.Unmap().Is4():
		default:
			out = append(out, a)
		}
	}
	return out
}

// sortExchanges orders exchanges by start time, A before AAAA, then by
// server order of appearance (stable).
func sortExchanges(ex []Exchange) {
	sort.SliceStable(ex, func(i, j int) bool {
		if ex[i].Start != ex[j].Start {
			return ex[i].Start < ex[j].Start
		}
		return false
	})
}

// hostByName2Families are the families gethostbyname2 is called with, in
// order: AF_INET6 then AF_INET for the ip networks (getent hosts: the A
// lookup only when the AAAA one found nothing), else the network's one.
func hostByName2Families(network string) []gaiHints {
	switch {
	case strings.HasSuffix(network, "4"):
		return []gaiHints{{family: "inet"}}
	case strings.HasSuffix(network, "6"):
		return []gaiHints{{family: "inet6"}}
	}
	return []gaiHints{{family: "inet6"}, {family: "inet"}}
}

// hostByName2 runs gethostbyname2 once per family, each call a whole
// lookup of its own (hosts, then DNS for that family's type only), the
// next starting when the previous one returned nothing.
func hostByName2(env Env, l Libc, req Request, sc Scenario, add func(Step)) libcResult {
	var res libcResult
	var t time.Duration
	for i, h := range hostByName2Families(req.Network) {
		add(Step{Key: "call", Value: "gethostbyname2(" + h.String() + ")", Reason: hostByName2Why(i)})
		r := runLibc(env, l, req, h, sc, add)
		for _, x := range r.ex {
			x.Start, x.End = x.Start+Seconds(t), x.End+Seconds(t)
			res.ex = append(res.ex, x)
		}
		for _, c := range r.cands {
			if !slices.Contains(res.cands, c) {
				res.cands = append(res.cands, c)
			}
		}
		t += r.end
		res.order, res.srv, res.timeout, res.attempts, res.single = r.order, r.srv, r.timeout, r.attempts, r.single
		for _, n := range r.notes {
			if !slices.Contains(res.notes, n) {
				res.notes = append(res.notes, n)
			}
		}
		res.addrs, res.from, res.eai = r.addrs, r.from, r.eai
		if r.queriesRange != nil {
			res.queriesRange = addRange(res.queriesRange, *r.queriesRange, len(res.ex)-len(r.ex))
		} else if res.queriesRange != nil {
			res.queriesRange = addRange(res.queriesRange, [2]int{len(r.ex), len(r.ex)}, 0)
		}
		if r.eai == "" {
			break
		}
	}
	res.end = t
	return res
}

// addRange adds a call's bound to the bound so far (before: the exact
// count of the earlier calls when they had no race).
func addRange(sofar *[2]int, next [2]int, before int) *[2]int {
	if sofar == nil {
		return &[2]int{before + next[0], before + next[1]}
	}
	return &[2]int{sofar[0] + next[0], sofar[1] + next[1]}
}

func hostByName2Why(i int) string {
	if i == 0 {
		return "the first family: a lookup of its own, /etc/hosts then DNS"
	}
	return "the previous family found nothing: a second, separate lookup"
}

// hErrno is the h_errno gethostbyname2 sets for a lookup's EAI code.
func hErrno(eai string) string {
	switch eai {
	case "EAI_AGAIN":
		return "TRY_AGAIN"
	case "EAI_NODATA":
		return "NO_DATA"
	case "EAI_FAIL":
		return "NO_RECOVERY"
	}
	return "HOST_NOT_FOUND"
}

// hstrerror is the C library's text for an h_errno value (HOST_NOT_FOUND,
// TRY_AGAIN, NO_RECOVERY, NO_DATA).
func hstrerror(kind, herr string) string {
	texts := [4]string{"Unknown host", "Host name lookup failure", "Unknown server error", "No address associated with name"}
	if kind == "musl" {
		texts = [4]string{"Host not found", "Try again", "Non-recoverable error", "Address not available"}
	}
	i := map[string]int{"HOST_NOT_FOUND": 0, "TRY_AGAIN": 1, "NO_RECOVERY": 2, "NO_DATA": 3}[herr]
	return texts[i]
}
