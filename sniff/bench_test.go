package sniff

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// envBlast makes the test binary a query generator in its own network
// namespace: "RATE DURATION" (messages per second, counting queries and
// answers, and how long).
const envBlast = "NSSCOPE_SNIFF_BLAST"

func init() {
	if v := os.Getenv(envBlast); v != "" {
		os.Exit(runBlast(v))
	}
}

// runBlast brings lo up, answers every query sent to 127.0.0.1:53, prints
// "ready", waits for a line on stdin, then sends queries from 4 sockets
// at half the rate (the answers make up the other half) and prints how
// many messages it sent and received.
func runBlast(arg string) int {
	var rate int
	var ds string
	if _, err := fmt.Sscanf(arg, "%d %s", &rate, &ds); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	dur, err := time.ParseDuration(ds)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	srv.SetReadBuffer(8 << 20) //nolint:errcheck
	var answered atomic.Int64
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := srv.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			buf[2] |= 0x80                        // QR: a response, no answer records
			srv.WriteToUDPAddrPort(buf[:n], from) //nolint:errcheck
			answered.Add(1)
		}
	}()
	var conns []*net.UDPConn
	for i := 0; i < 4; i++ {
		c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		c.SetReadBuffer(8 << 20) //nolint:errcheck
		go func() {              // drain the answers
			buf := make([]byte, 512)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}()
		conns = append(conns, c)
	}
	var msgs [][]byte
	for i := 0; i < 1000; i++ {
		m := new(dns.Msg)
		m.SetQuestion(fmt.Sprintf("q%d.bench.example.", i), dns.TypeA)
		b, _ := m.Pack()
		msgs = append(msgs, b)
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n') //nolint:errcheck
	qps := rate / 2
	start := time.Now()
	sent := 0
	for id := 0; time.Since(start) < dur; {
		// Keep to the rate: send what is due, then sleep a little.
		due := int(time.Since(start).Seconds() * float64(qps))
		for ; sent < due; sent++ {
			b := msgs[sent%len(msgs)]
			binary.BigEndian.PutUint16(b, uint16(id))
			id++
			conns[sent%len(conns)].Write(b) //nolint:errcheck
		}
		time.Sleep(200 * time.Microsecond)
	}
	time.Sleep(100 * time.Millisecond)
	fmt.Printf("%d %d %d\n", sent, answered.Load(), time.Since(start).Microseconds())
	return 0
}

// BenchmarkSniffThroughput blasts DNS at sniff on loopback in a network
// namespace: 50,000 messages per second (queries and answers) for 5 s by
// default (NSSCOPE_SNIFF_RATE, NSSCOPE_SNIFF_SECONDS). It reports what
// sniff decoded per second, the kernel's drop count (PACKET_STATISTICS),
// and the CPU sniff used. Run: go test ./sniff -run XXX -bench Throughput -benchtime 1x
func BenchmarkSniffThroughput(b *testing.B) {
	needRoot(b)
	rate, secs := 50000, 5
	if v, err := strconv.Atoi(os.Getenv("NSSCOPE_SNIFF_RATE")); err == nil {
		rate = v
	}
	if v, err := strconv.Atoi(os.Getenv("NSSCOPE_SNIFF_SECONDS")); err == nil {
		secs = v
	}
	for i := 0; i < b.N; i++ {
		exe, _ := os.Executable()
		cmd := exec.Command(exe)
		cmd.Env = []string{envBlast + "=" + fmt.Sprintf("%d %ds", rate, secs)}
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		out := bufio.NewReader(stdout)
		if l, err := out.ReadString('\n'); err != nil || l != "ready\n" {
			b.Fatalf("generator: %q %v", l, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var exchanges atomic.Int64
		ready := make(chan struct{})
		type result struct {
			s   *Summary
			err error
		}
		done := make(chan result, 1)
		var ru0, ru1 unix.Rusage
		go func() {
			s, err := Run(ctx, Options{Netns: fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid), Ready: func() { close(ready) }},
				func(Exchange) { exchanges.Add(1) })
			done <- result{s, err}
		}()
		select {
		case <-ready:
		case r := <-done:
			b.Fatal(r.err)
		}
		unix.Getrusage(unix.RUSAGE_SELF, &ru0) //nolint:errcheck
		t0 := time.Now()
		fmt.Fprintln(stdin)
		var sent, answered, us int64
		l, _ := out.ReadString('\n')
		fmt.Sscanf(l, "%d %d %d", &sent, &answered, &us) //nolint:errcheck
		cancel()
		r := <-done
		elapsed := time.Since(t0)
		unix.Getrusage(unix.RUSAGE_SELF, &ru1) //nolint:errcheck
		cmd.Wait()                             //nolint:errcheck
		if r.err != nil {
			b.Fatal(r.err)
		}
		cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
		msgs := sent + answered
		gen := time.Duration(us) * time.Microsecond
		b.ReportMetric(float64(msgs)/gen.Seconds(), "sent-msgs/s")
		b.ReportMetric(float64(r.s.Kernel.Packets)/gen.Seconds(), "captured-pkts/s")
		b.ReportMetric(float64(r.s.Kernel.Drops), "kernel-drops")
		b.ReportMetric(float64(exchanges.Load()), "exchanges")
		b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds(), "cpu-%")
		b.Logf("generator sent %d queries, answered %d in %s; sniff: kernel %d packets, %d drops, %d exchanges paired, %d unmatched, %d in flight; CPU %s over %s",
			sent, answered, gen, r.s.Kernel.Packets, r.s.Kernel.Drops, exchanges.Load(), r.s.Unmatched, r.s.InFlight, cpu, elapsed)
	}
}
