package model

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// MaxNameservers is the number of nameservers every resolver modelled uses
// (glibc MAXNS, musl MAXNS, Go's first three).
const MaxNameservers = 3

// ParseScenario parses the --servers syntax: one server description for all
// servers, or a comma-separated list in nameserver order. A description is
// one or more items joined by '/':
//
//	silent            drop every query (each exchange costs the full timeout)
//	refuse            no listener: UDP gets ICMP port unreachable, TCP a reset
//	nxdomain          answer NXDOMAIN
//	servfail          answer SERVFAIL
//	refused           answer with rcode REFUSED
//	nodata            answer NOERROR with no records
//	answer=ADDR[+ADDR...]  A records from the IPv4 addresses, AAAA from the IPv6 ones
//	delay=DUR         wait DUR before replying (alone: NXDOMAIN after DUR)
//	truncate          set TC=1 on UDP replies; TCP gets the real reply (alone: NXDOMAIN)
//
// e.g. "silent", "silent,nxdomain,answer=127.0.0.9", "answer=127.0.0.9/delay=2s".
func ParseScenario(s string) (Scenario, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Scenario{}, errors.New("empty server behaviour")
	}
	var sc Scenario
	for _, part := range strings.Split(s, ",") {
		b, err := ParseBehavior(part)
		if err != nil {
			return Scenario{}, err
		}
		sc.Servers = append(sc.Servers, b)
	}
	if len(sc.Servers) > MaxNameservers {
		return Scenario{}, fmt.Errorf("%d server behaviours given; at most %d nameservers are used", len(sc.Servers), MaxNameservers)
	}
	return sc, nil
}

// ParseBehavior parses one server description (see [ParseScenario]).
func ParseBehavior(s string) (Behavior, error) {
	var b Behavior
	s = strings.TrimSpace(s)
	if s == "" {
		return b, errors.New("empty server behaviour (want silent, refuse, nxdomain, servfail, refused, nodata, answer=ADDR, delay=DUR or truncate)")
	}
	setKind := func(k BehaviorKind) error {
		if b.Kind != "" {
			return fmt.Errorf("server behaviour %q: both %s and %s", s, b.Kind, k)
		}
		b.Kind = k
		return nil
	}
	for _, item := range strings.Split(s, "/") {
		key, val, hasVal := strings.Cut(strings.TrimSpace(item), "=")
		var err error
		switch key {
		case "silent", "refuse", "nxdomain", "servfail", "refused", "nodata":
			if hasVal {
				return b, fmt.Errorf("server behaviour %q: %s takes no value", s, key)
			}
			err = setKind(BehaviorKind(key))
		case "answer":
			if err = setKind(Answer); err != nil {
				break
			}
			if val == "" {
				return b, fmt.Errorf("server behaviour %q: answer needs addresses, e.g. answer=127.0.0.9", s)
			}
			for _, a := range strings.Split(val, "+") {
				ip, perr := netip.ParseAddr(strings.TrimSpace(a))
				if perr != nil {
					return b, fmt.Errorf("server behaviour %q: %q is not an IP address", s, a)
				}
				b.Addrs = append(b.Addrs, ip.Unmap())
			}
		case "delay":
			d, perr := time.ParseDuration(val)
			if perr != nil || d <= 0 || d > time.Hour {
				return b, fmt.Errorf("server behaviour %q: delay %q is not a duration between 0 and 1h", s, val)
			}
			b.Delay = Seconds(d)
		case "truncate":
			if hasVal {
				return b, fmt.Errorf("server behaviour %q: truncate takes no value", s)
			}
			b.Truncate = true
		default:
			return b, fmt.Errorf("server behaviour %q: unknown item %q (want silent, refuse, nxdomain, servfail, refused, nodata, answer=ADDR, delay=DUR or truncate)", s, item)
		}
		if err != nil {
			return b, err
		}
	}
	if b.Kind == "" {
		// delay=DUR or truncate alone: the reply they modify is NXDOMAIN.
		b.Kind = NXDomain
	}
	if (b.Kind == Silent || b.Kind == Refuse) && (b.Delay > 0 || b.Truncate) {
		return b, fmt.Errorf("server behaviour %q: a %s server never replies, so delay and truncate make no sense", s, b.Kind)
	}
	return b, nil
}

// String renders b in the --servers syntax, so that
// ParseBehavior(b.String()) == b.
func (b Behavior) String() string {
	s := string(b.Kind)
	if b.Kind == "" {
		s = string(Silent)
	}
	if b.Kind == Answer {
		parts := make([]string, len(b.Addrs))
		for i, a := range b.Addrs {
			parts[i] = a.String()
		}
		s = "answer=" + strings.Join(parts, "+")
	}
	if b.Delay > 0 {
		s += "/delay=" + b.Delay.String()
	}
	if b.Truncate {
		s += "/truncate"
	}
	return s
}

// String renders sc in the --servers syntax.
func (sc Scenario) String() string {
	parts := make([]string, len(sc.Servers))
	for i, b := range sc.Servers {
		parts[i] = b.String()
	}
	return strings.Join(parts, ",")
}
