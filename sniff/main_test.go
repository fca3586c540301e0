package sniff

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/nsscope/nsscope/lab"
)

// Environment variables that turn the test binary into a helper program
// inside a lab: a probe that sends planned queries, or a pair of probes.
const (
	envProbe = "NSSCOPE_SNIFF_PROBE"
	envPair  = "NSSCOPE_SNIFF_PAIR"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == lab.InitArg {
		os.Exit(lab.InitMain(os.Stdin, os.Stdout))
	}
	if p := os.Getenv(envProbe); p != "" {
		os.Exit(runProbe(p))
	}
	if p := os.Getenv(envPair); p != "" {
		os.Exit(runPair(p))
	}
	os.Exit(m.Run())
}

// probePlan is what a probe does: wait for the Go file to be non-empty
// (the sniffer is running), then send each query and wait for its reply.
type probePlan struct {
	Go      string        `json:"go"`
	Label   string        `json:"label"`
	Queries []probeQuery  `json:"queries"`
	Timeout time.Duration `json:"timeout"`
	// Release, if set, makes the probe keep every socket open, once done,
	// until this file is non-empty: the test writes it when the sniffer
	// has reported every exchange, so attribution races nothing.
	Release string `json:"release"`
}

// probeQuery is one question to one server. Resend sends the same
// question again at once from a new socket (a client retrying), before
// any reply can come.
type probeQuery struct {
	Server string `json:"server"`
	Name   string `json:"name"`
	Type   uint16 `json:"type"`
	Resend bool   `json:"resend"`
}

// probeSent is one message the probe sent, as it saw it.
type probeSent struct {
	Label     string `json:"label"`
	Transport string `json:"transport"`
	Client    string `json:"client"`
	Server    string `json:"server"`
	ID        uint16 `json:"id"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	Answered  bool   `json:"answered"`
	Rcode     string `json:"rcode"`
	Truncated bool   `json:"truncated"`
}

func waitGo(path string) {
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func runProbe(planJSON string) int {
	var p probePlan
	if err := json.Unmarshal([]byte(planJSON), &p); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	waitGo(p.Go)
	enc := json.NewEncoder(os.Stdout)
	var mu sync.Mutex
	out := func(s probeSent) { mu.Lock(); enc.Encode(s); mu.Unlock() } //nolint:errcheck
	var held []net.Conn
	var heldMu sync.Mutex
	hold := func(c net.Conn) {
		if p.Release == "" {
			c.Close()
			return
		}
		heldMu.Lock()
		held = append(held, c)
		heldMu.Unlock()
	}
	defer func() {
		if p.Release != "" {
			waitGo(p.Release)
		}
		for _, c := range held {
			c.Close()
		}
	}()
	for _, q := range p.Queries {
		n := 1
		if q.Resend {
			n = 2
		}
		var wg sync.WaitGroup
		var conns []*net.UDPConn
		var msgs []*dns.Msg
		for i := 0; i < n; i++ {
			c, err := net.Dial("udp", net.JoinHostPort(q.Server, "53"))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 3
			}
			m := new(dns.Msg)
			m.SetQuestion(q.Name, q.Type)
			b, _ := m.Pack()
			if _, err := c.Write(b); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 3
			}
			conns = append(conns, c.(*net.UDPConn))
			msgs = append(msgs, m)
		}
		for i := range conns {
			wg.Add(1)
			go func(c *net.UDPConn, m *dns.Msg) {
				defer wg.Done()
				defer hold(c)
				s := probeSent{Label: p.Label, Transport: "udp", Client: c.LocalAddr().String(), Server: c.RemoteAddr().String(),
					ID: m.Id, Name: q.Name, Type: dns.TypeToString[q.Type]}
				c.SetReadDeadline(time.Now().Add(p.Timeout)) //nolint:errcheck
				buf := make([]byte, 65535)
				k, err := c.Read(buf)
				r := new(dns.Msg)
				if err == nil && r.Unpack(buf[:k]) == nil {
					s.Answered, s.Rcode, s.Truncated = true, dns.RcodeToString[r.Rcode], r.Truncated
				}
				out(s)
				if s.Truncated {
					out(probeTCP(p, q, hold))
				}
			}(conns[i], msgs[i])
		}
		wg.Wait()
	}
	return 0
}

// probeTCP asks q over TCP, as a client does after a truncated reply.
func probeTCP(p probePlan, q probeQuery, hold func(net.Conn)) probeSent {
	s := probeSent{Label: p.Label, Transport: "tcp", Name: q.Name, Type: dns.TypeToString[q.Type]}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(q.Server, "53"), p.Timeout)
	if err != nil {
		return s
	}
	defer hold(c)
	s.Client, s.Server = c.LocalAddr().String(), c.RemoteAddr().String()
	m := new(dns.Msg)
	m.SetQuestion(q.Name, q.Type)
	s.ID = m.Id
	dc := &dns.Conn{Conn: c}
	c.SetDeadline(time.Now().Add(p.Timeout)) //nolint:errcheck
	if err := dc.WriteMsg(m); err != nil {
		return s
	}
	if r, err := dc.ReadMsg(); err == nil {
		s.Answered, s.Rcode, s.Truncated = true, dns.RcodeToString[r.Rcode], r.Truncated
	}
	return s
}

// runPair runs two probes at once (plans a and b), each its own process,
// and passes their output through.
func runPair(pairJSON string) int {
	var plans []probePlan
	if err := json.Unmarshal([]byte(pairJSON), &plans); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	var cmds []*exec.Cmd
	for _, p := range plans {
		b, _ := json.Marshal(p)
		cmd := exec.Command("/proc/self/exe", "probe-"+p.Label)
		cmd.Env = []string{envProbe + "=" + string(b)}
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		cmds = append(cmds, cmd)
	}
	code := 0
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			code = 1
		}
	}
	return code
}

// probeOutput collects the probes' records from a lab run.
func probeOutput(t *testing.T, res *lab.Result) []probeSent {
	t.Helper()
	var out []probeSent
	for _, l := range res.Output {
		if l.Stream != "stdout" || !strings.HasPrefix(l.Text, "{") {
			if l.Stream == "stderr" {
				t.Logf("probe stderr: %s", l.Text)
			}
			continue
		}
		var s probeSent
		if err := json.Unmarshal([]byte(l.Text), &s); err != nil {
			t.Fatalf("probe output %q: %v", l.Text, err)
		}
		out = append(out, s)
	}
	return out
}
