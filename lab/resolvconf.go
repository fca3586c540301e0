package lab

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"

	"github.com/nsscope/nsscope/model"
)

// Nameservers returns the addresses of the "nameserver" lines of a
// resolv.conf, in order: the servers the lab must stand in for. Lines
// whose value is not an IP address are skipped, as every resolver modelled
// skips them; a zone (fe80::1%eth0) is kept in the address.
func Nameservers(resolvConf []byte) []netip.Addr {
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(resolvConf))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		if a, err := netip.ParseAddr(f[1]); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// DefaultNameservers returns the loopback addresses the lab uses when no
// resolv.conf is given: 127.0.0.53, 127.0.0.54, ... (n of them). They are
// local to the lab's network namespace once lo is up.
func DefaultNameservers(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(53 + i)})
	}
	return out
}

// ResolvConf renders a resolv.conf listing servers, with an optional search
// list and options line (both space-separated, as in the file).
func ResolvConf(servers []netip.Addr, search, options string) []byte {
	var b strings.Builder
	b.WriteString("# written by nsscope lab\n")
	if s := strings.Join(strings.Fields(search), " "); s != "" {
		b.WriteString("search " + s + "\n")
	}
	for _, a := range servers {
		b.WriteString("nameserver " + a.String() + "\n")
	}
	if o := strings.Join(strings.Fields(options), " "); o != "" {
		b.WriteString("options " + o + "\n")
	}
	return []byte(b.String())
}

// ModelEnv is the environment the program ran in, in the model's terms:
// the files it saw, its environment variables and the lab's host name.
func (r *Result) ModelEnv() model.Env {
	env := model.Env{
		ResolvConf: r.ResolvConf,
		NSSwitch:   r.NSSwitch,
		Hosts:      r.Hosts,
		MDNSAllow:  r.MDNSAllow,
		Vars:       map[string]string{},
		Hostname:   r.Hostname,
		// What the root has is known: an empty list means no module
		// beyond glibc's built-in files and dns (nil would mean unknown).
		NSSModules: append([]string{}, r.NSSModules...),
	}
	for _, kv := range r.Env {
		k, v, _ := strings.Cut(kv, "=")
		env.Vars[k] = v
	}
	return env
}
