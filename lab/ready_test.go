package lab

import (
	"context"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/model"
)

func TestCheckProbe(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://127.0.0.1:6443/readyz", true},
		{"http://[::1]:2379/health", true},
		{"http://127.0.0.53:80/", true},
		{"http://localhost:6443/readyz", false}, // a name: the probe would resolve it
		{"http://10.0.0.1:80/", false},
		{"ftp://127.0.0.1:21/", false},
		{"http://127.0.0.1/", false}, // no port
		{"::", false},
	} {
		if err := CheckProbe(Probe{URL: tc.url}); (err == nil) != tc.ok {
			t.Errorf("CheckProbe(%s) = %v, want ok %v", tc.url, err, tc.ok)
		}
	}
}

// TestReadyAndSidecar runs a sidecar web server, waited for, and a
// program that first fetches from it and then serves itself a second
// later: the run ends by the program's probe, after its grace.
func TestReadyAndSidecar(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.53")}
	fetch := `import urllib.request; print("sidecar", urllib.request.urlopen("http://127.0.0.1:18080/").status, flush=True)`
	spec := Spec{
		Nameservers: addrs,
		Scenario:    model.Scenario{Servers: []model.Behavior{{Kind: model.NXDomain}}},
		ResolvConf:  &model.File{Data: ResolvConf(addrs, "", "")},
		Sidecars: []Sidecar{{Argv: []string{"python3", "-m", "http.server", "18080", "--bind", "127.0.0.1", "--directory", "/"},
			Ready: &Probe{URL: "http://127.0.0.1:18080/"}}},
		Ready:   &Probe{URL: "http://127.0.0.1:18081/", Grace: model.Seconds(500 * time.Millisecond)},
		Argv:    []string{"/bin/sh", "-c", "python3 -c '" + fetch + "' && sleep 1 && exec python3 -m http.server 18081 --bind 127.0.0.1 --directory /"},
		Env:     []string{"PATH=" + DefaultPath},
		Timeout: 2 * time.Minute,
	}
	res, err := Runner{}.Run(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range res.Output {
		out = append(out, l.Text)
	}
	if len(out) == 0 || out[0] != "sidecar 200" {
		t.Errorf("the program did not reach the sidecar first: %q", out)
	}
	if res.Ended != EndedReady || res.Ready == nil {
		t.Fatalf("ended %q, ready %+v; output %q", res.Ended, res.Ready, strings.Join(out, " | "))
	}
	if res.Ready.Offset.Duration() < time.Second || res.Total.Duration() < res.Ready.Offset.Duration()+500*time.Millisecond {
		t.Errorf("ready at %s, run ended at %s: want ready after the 1 s sleep and the end 0.5 s later", res.Ready.Offset, res.Total)
	}
}
