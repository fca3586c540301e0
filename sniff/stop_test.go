package sniff

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/nsscope/nsscope/internal/netns"
	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
)

// TestStopReadsWhatCameBefore: a query and its answer that arrive just
// before the capture is stopped are still reported. The kernel hands a
// ring block to user space only when it is full or its retire timer fires;
// a capture that ends on the first empty poll after the stop loses the
// block still open (a loaded round saw a whole exchange vanish this way).
func TestStopReadsWhatCameBefore(t *testing.T) {
	needRoot(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	started := make(chan int, 1)
	labDone := make(chan error, 1)
	go func() {
		ns := []netip.Addr{netip.MustParseAddr("10.53.9.1")}
		_, err := lab.Runner{Started: func(pid int) { started <- pid }}.Run(ctx, lab.Spec{
			Nameservers: ns, ResolvConf: &model.File{Data: lab.ResolvConf(ns, "", ""), Origin: "test"},
			Argv: []string{"sleep", "120"}, Env: []string{"PATH=" + lab.DefaultPath}, Timeout: 2 * time.Minute})
		labDone <- err
	}()
	var ns string
	select {
	case pid := <-started:
		ns = filepath.Join("/proc", strconv.Itoa(pid), "ns", "net")
	case err := <-labDone:
		t.Fatalf("the lab ended before it started: %v", err)
	}
	sctx, stop := context.WithCancel(ctx)
	var got []Exchange
	var exchangeErr error
	o := Options{Netns: ns, Ready: func() {
		// The capture is open and not yet read: one exchange, then stop.
		exchangeErr = netns.Do(ns, answerOnce)
		stop()
	}}
	sum, err := Run(sctx, o, func(x Exchange) { got = append(got, x) })
	cancel()
	<-labDone
	if err != nil {
		t.Fatal(err)
	}
	if exchangeErr != nil {
		t.Fatal(exchangeErr)
	}
	if len(got) != 1 || got[0].Unanswered || got[0].Rcode != "NOERROR" {
		t.Fatalf("got %+v (in flight %d), want the one answered exchange sent before the stop", got, sum.InFlight)
	}
}

// answerOnce asks 127.0.0.1:53 for one A record and answers it itself,
// once the lab has brought lo up (the lab reports its PID before).
func answerOnce() error {
	if err := waitLoopback(time.Minute); err != nil {
		return err
	}
	srv, err := net.ListenPacket("udp", "127.0.0.1:53")
	if err != nil {
		return err
	}
	defer srv.Close()
	c, err := net.Dial("udp", "127.0.0.1:53")
	if err != nil {
		return err
	}
	defer c.Close()
	q := new(dns.Msg)
	q.SetQuestion("stop.example.", dns.TypeA)
	b, _ := q.Pack()
	if _, err := c.Write(b); err != nil {
		return err
	}
	buf := make([]byte, 512)
	srv.SetReadDeadline(time.Now().Add(time.Minute)) //nolint:errcheck
	n, from, err := srv.ReadFrom(buf)
	if err != nil {
		return err
	}
	var in dns.Msg
	if err := in.Unpack(buf[:n]); err != nil {
		return err
	}
	r := new(dns.Msg)
	r.SetReply(&in)
	rb, _ := r.Pack()
	if _, err := srv.WriteTo(rb, from); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(time.Minute)) //nolint:errcheck
	_, err = c.Read(buf)
	return err
}

// waitLoopback waits until lo is up with 127.0.0.1 in this thread's
// network namespace, for at most limit.
func waitLoopback(limit time.Duration) error {
	for end := time.Now().Add(limit); ; time.Sleep(5 * time.Millisecond) {
		if lo, err := net.InterfaceByName("lo"); err == nil && lo.Flags&net.FlagUp != 0 {
			addrs, _ := lo.Addrs()
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && n.IP.Equal(net.IPv4(127, 0, 0, 1)) {
					return nil
				}
			}
		}
		if time.Now().After(end) {
			return fmt.Errorf("lo is not up in the lab after %s", limit)
		}
	}
}
