package lab

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/model"
)

// moduleRoot is the nsscope module's root (this package's parent).
func moduleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Dir(filepath.Dir(file))
}

// buildProbe builds testdata/probe with the machine's Go into dir.
// variant is "static", "cgo-glibc" or "cgo-musl".
func buildProbe(t testing.TB, dir, variant string) string {
	t.Helper()
	out := filepath.Join(dir, "probe-"+variant)
	args := []string{"build", "-o", out}
	env := os.Environ()
	switch variant {
	case "static":
		env = append(env, "CGO_ENABLED=0")
	case "cgo-glibc":
		env = append(env, "CGO_ENABLED=1")
	case "cgo-musl":
		if _, err := exec.LookPath("musl-gcc"); err != nil {
			t.Skip("musl-gcc not installed (Debian package musl-tools)")
		}
		env = append(env, "CGO_ENABLED=1", "CC=musl-gcc")
		args = append(args, "-ldflags", "-linkmode external -extldflags -static")
	default:
		t.Fatalf("unknown probe variant %q", variant)
	}
	args = append(args, "./lab/testdata/probe")
	cmd := exec.Command("go", args...)
	cmd.Dir = moduleRoot(t)
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build probe %s: %v\n%s", variant, err, b)
	}
	return out
}

// probeResult is the probe's one line of output.
type probeResult struct {
	Elapsed int64    `json:"elapsed_ns"`
	Addrs   []string `json:"addrs"`
	Err     string   `json:"err"`
}

func parseProbe(t testing.TB, res *Result) probeResult {
	t.Helper()
	for _, l := range res.Output {
		if l.Stream == "stdout" && strings.HasPrefix(l.Text, "{") {
			var p probeResult
			if err := json.Unmarshal([]byte(l.Text), &p); err != nil {
				t.Fatalf("probe output %q: %v", l.Text, err)
			}
			return p
		}
	}
	t.Fatalf("no probe result in output %+v", res.Output)
	return probeResult{}
}

// seq renders the queries as "transport type action name server" items,
// sorted: with one server and one attempt, which of a lookup's parallel
// queries the server records first is the scheduler's choice, not the
// resolver's. The one order that is the resolver's, a TCP retry after a
// truncated UDP reply, is checked by tcpAfterTruncation.
func seq(qs []Query) []string {
	out := make([]string, 0, len(qs))
	for _, q := range qs {
		out = append(out, q.Transport+" "+q.Type+" "+q.Action+" "+q.Name+" "+q.Server.String())
	}
	sort.Strings(out)
	return out
}

// tcpAfterTruncation reports the TCP queries not preceded by a truncated
// UDP reply for the same type and name: the resolver asks over TCP only
// once UDP has said TC=1 (in use-vc mode it asks over TCP alone).
func tcpAfterTruncation(qs []Query) []string {
	var bad []string
	for i, q := range qs {
		if q.Transport != "tcp" {
			continue
		}
		prior := false
		for _, u := range qs[:i] {
			prior = prior || (u.Transport == "udp" && u.Action == "truncated" && u.Type == q.Type && u.Name == q.Name)
		}
		if !prior {
			bad = append(bad, q.Type+" "+q.Name)
		}
	}
	return bad
}

// TestServerBehaviours runs the static probe against one server of each
// behaviour and checks what the server recorded and what the probe saw.
func TestServerBehaviours(t *testing.T) {
	requireRoot(t)
	probe := buildProbe(t, t.TempDir(), "static")
	const name = "foo.example."
	ns := "127.0.0.53"
	q := func(transport, typ, action string) string {
		return transport + " " + typ + " " + action + " " + name + " " + ns
	}
	tests := []struct {
		servers string
		server  string // nameserver address, default 127.0.0.53
		options string // more resolv.conf options
		want    []string
		addrs   string
		err     string
		// minTime is the least time the lookup can take (a timeout, a
		// delay): load can only lengthen it. There is no upper bound, a
		// timing margin a loaded machine breaks: the queries and the
		// result show that no timeout was waited for (with one server and
		// one attempt, a timeout is an i/o timeout error).
		minTime time.Duration
	}{
		{servers: "silent", want: []string{q("udp", "A", "silent"), q("udp", "AAAA", "silent")}, err: "timeout", minTime: time.Second},
		{servers: "refuse", want: []string{q("udp", "A", "refuse"), q("udp", "AAAA", "refuse")}, err: "connection refused"},
		{servers: "nxdomain", want: []string{q("udp", "A", "nxdomain"), q("udp", "AAAA", "nxdomain")}, err: "no such host"},
		{servers: "servfail", want: []string{q("udp", "A", "servfail"), q("udp", "AAAA", "servfail")}, err: "server misbehaving"},
		{servers: "refused", want: []string{q("udp", "A", "refused"), q("udp", "AAAA", "refused")}, err: "server misbehaving"},
		{servers: "nodata", want: []string{q("udp", "A", "nodata"), q("udp", "AAAA", "nodata")}, err: "no such host"},
		{servers: "answer=127.0.0.9+::9", want: []string{q("udp", "A", "answer"), q("udp", "AAAA", "answer")}, addrs: "127.0.0.9 ::9"},
		{servers: "answer=127.0.0.9", want: []string{q("udp", "A", "answer"), q("udp", "AAAA", "nodata")}, addrs: "127.0.0.9"},
		{servers: "answer=127.0.0.9/truncate", want: []string{q("tcp", "A", "answer"), q("tcp", "AAAA", "nodata"), q("udp", "A", "truncated"), q("udp", "AAAA", "truncated")}, addrs: "127.0.0.9"},
		{servers: "delay=300ms", want: []string{q("udp", "A", "nxdomain"), q("udp", "AAAA", "nxdomain")}, err: "no such host", minTime: 300 * time.Millisecond},
		{servers: "refuse", options: "use-vc", want: []string{"tcp  refuse  " + ns, "tcp  refuse  " + ns}, err: "connection refused"},
		{servers: "silent", options: "use-vc", want: []string{q("tcp", "A", "silent"), q("tcp", "AAAA", "silent")}, err: "timeout", minTime: time.Second},
		{servers: "nxdomain", server: "192.0.2.53", want: []string{q("udp", "A", "nxdomain"), q("udp", "AAAA", "nxdomain")}, err: "no such host"},
		{servers: "nxdomain", server: "2001:db8::53", want: []string{q("udp", "A", "nxdomain"), q("udp", "AAAA", "nxdomain")}, err: "no such host"},
	}
	for _, tc := range tests {
		t.Run(tc.servers+"@"+tc.server+"/"+tc.options, func(t *testing.T) {
			t.Parallel()
			server := ns
			if tc.server != "" {
				server = tc.server
			}
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = strings.Replace(w, " "+ns, " "+server, 1)
			}
			sort.Strings(want)
			sc, err := model.ParseScenario(tc.servers)
			if err != nil {
				t.Fatal(err)
			}
			addrs := []netip.Addr{netip.MustParseAddr(server)}
			spec := Spec{
				Nameservers: addrs,
				Scenario:    sc,
				ResolvConf:  &model.File{Data: ResolvConf(addrs, "", "timeout:1 attempts:1 "+tc.options)},
				Hosts:       &model.File{Data: []byte("127.0.0.1 localhost\n")},
				NSSwitch:    &model.File{Data: []byte("hosts: files dns\n")},
				Argv:        []string{probe, "-name", name},
				Timeout:     30 * time.Second,
			}
			res, err := Runner{}.Run(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := seq(res.Queries); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("queries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if !strings.Contains(tc.options, "use-vc") {
				if bad := tcpAfterTruncation(res.Queries); len(bad) > 0 {
					t.Errorf("TCP queries with no truncated UDP reply before them: %s", strings.Join(bad, ", "))
				}
			}
			p := parseProbe(t, res)
			if tc.err != "" && !strings.Contains(p.Err, tc.err) {
				t.Errorf("probe error %q, want it to contain %q", p.Err, tc.err)
			}
			if tc.err == "" && p.Err != "" {
				t.Errorf("probe error %q, want none", p.Err)
			}
			if got := strings.Join(p.Addrs, " "); got != tc.addrs {
				t.Errorf("addresses %q, want %q", got, tc.addrs)
			}
			if d := time.Duration(p.Elapsed); d < tc.minTime {
				t.Errorf("lookup took %s, want at least %s", d, tc.minTime)
			}
		})
	}
}
