// Command probe resolves (or dials) one name the way a typical Go program
// does, and prints one JSON line: the time the lookup (or dial) took, the
// addresses, and the error text. The lab's differential tests build it
// static, with cgo against glibc, and with cgo against musl.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

type result struct {
	Name    string   `json:"name"`
	Network string   `json:"network"`
	Start   int64    `json:"start_unix_ns"` // wall clock when the lookup began
	Elapsed int64    `json:"elapsed_ns"`
	Addrs   []string `json:"addrs"`
	Err     string   `json:"err,omitempty"`
}

func main() {
	name := flag.String("name", "localhost", "name to resolve")
	network := flag.String("net", "ip", "ip, ip4, ip6 (LookupIP) or tcp, tcp4, tcp6 (Dial)")
	timeout := flag.Duration("timeout", 0, "lookup context timeout, or Dialer.Timeout for tcp*")
	port := flag.Int("port", 7000, "port dialled (and listened on, on every local address)")
	flag.Parse()

	res := result{Name: *name, Network: *network}
	if strings.HasPrefix(*network, "tcp") {
		// Something to connect to on every local address (all of
		// 127.0.0.0/8 and ::1 in the lab), so the dial of a resolved
		// local address succeeds and only the lookup decides the outcome.
		if l, err := net.Listen("tcp", ":"+strconv.Itoa(*port)); err == nil {
			defer l.Close()
		}
		d := net.Dialer{Timeout: *timeout}
		start := time.Now()
		res.Start = start.UnixNano()
		c, err := d.Dial(*network, net.JoinHostPort(*name, strconv.Itoa(*port)))
		res.Elapsed = int64(time.Since(start))
		if err != nil {
			res.Err = err.Error()
		} else {
			res.Addrs = []string{c.RemoteAddr().String()}
			c.Close()
		}
	} else {
		ctx := context.Background()
		if *timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, *timeout)
			defer cancel()
		}
		start := time.Now()
		res.Start = start.UnixNano()
		ips, err := net.DefaultResolver.LookupIP(ctx, *network, *name)
		res.Elapsed = int64(time.Since(start))
		if err != nil {
			res.Err = err.Error()
		}
		for _, ip := range ips {
			res.Addrs = append(res.Addrs, ip.String())
		}
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	if res.Err != "" {
		os.Exit(1)
	}
}
