package model

import (
	"net/netip"
	"time"
)

// Exchange outcomes.
const (
	OutTimeout   = "timeout"       // no reply before the per-exchange deadline
	OutRefused   = "refused"       // ICMP port unreachable seen on a connected socket
	OutNXDomain  = "nxdomain"      // rcode NXDOMAIN
	OutServFail  = "servfail"      // rcode SERVFAIL
	OutRcodeRef  = "refused-rcode" // rcode REFUSED
	OutNoData    = "nodata"        // NOERROR with no record of the type
	OutAnswer    = "answer"        // NOERROR with records
	OutTruncated = "truncated"     // TC=1 over UDP: retried over TCP
	OutCancelled = "cancelled"     // the caller's deadline ended the wait
)

// reply is what one server does with one query, as seen by a client that
// waits at most wait (its per-exchange deadline).
type reply struct {
	after   time.Duration // when the client stops waiting (relative)
	outcome string
	addrs   []netip.Addr
}

// serverReply computes the fate of one message sent to a server with
// behaviour b, for query type qtype, over transport tr, when the client
// waits at most wait. icmpVisible says whether the client notices ICMP
// errors (connected sockets: Go and glibc; not musl).
func serverReply(b Behavior, qtype, tr string, wait time.Duration, icmpVisible bool) reply {
	switch b.Kind {
	case Silent, "":
		return reply{after: wait, outcome: OutTimeout}
	case Refuse:
		if icmpVisible {
			return reply{after: 0, outcome: OutRefused}
		}
		return reply{after: wait, outcome: OutTimeout}
	}
	if b.Delay.Duration() >= wait {
		return reply{after: wait, outcome: OutTimeout}
	}
	if b.Truncate && tr == "udp" {
		return reply{after: b.Delay.Duration(), outcome: OutTruncated}
	}
	r := reply{after: b.Delay.Duration()}
	switch b.Kind {
	case NXDomain:
		r.outcome = OutNXDomain
	case ServFail:
		r.outcome = OutServFail
	case Refused:
		r.outcome = OutRcodeRef
	case NoData:
		r.outcome = OutNoData
	case Answer:
		for _, a := range b.Addrs {
			if (qtype == "A") == a.Unmap().Is4() {
				r.addrs = append(r.addrs, a.Unmap())
			}
		}
		if len(r.addrs) > 0 {
			r.outcome = OutAnswer
		} else {
			r.outcome = OutNoData
		}
	default:
		r.outcome = OutTimeout
		r.after = wait
	}
	return r
}

// clock tracks the caller's deadline.
type clock struct {
	deadline time.Duration // 0: none
}

func (c clock) expired(t time.Duration) bool { return c.deadline > 0 && t >= c.deadline }

// clip returns the end of a wait that starts at t and lasts d, cut by the
// deadline, and whether the deadline cut it.
func (c clock) clip(t, d time.Duration) (time.Duration, bool) {
	if c.deadline > 0 && t+d > c.deadline {
		return c.deadline, true
	}
	return t + d, false
}
