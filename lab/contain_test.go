package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/model"
)

// buildEscape builds testdata/escape, static, into dir.
func buildEscape(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "escape")
	cmd := exec.Command("go", "build", "-o", out, "./lab/testdata/escape")
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build escape probe: %v\n%s", err, b)
	}
	return out
}

type escapeTry struct {
	Try     string `json:"try"`
	Escaped bool   `json:"escaped"`
	Detail  string `json:"detail"`
}

// runEscape runs the escape probe in the lab as spec says and returns its
// tries by name.
func runEscape(t *testing.T, spec Spec) map[string]escapeTry {
	t.Helper()
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.53")}
	spec.Nameservers = addrs
	spec.Scenario = model.Scenario{Servers: []model.Behavior{{Kind: model.NXDomain}}}
	spec.ResolvConf = &model.File{Data: ResolvConf(addrs, "", "")}
	spec.Env = []string{"PATH=" + DefaultPath}
	spec.Timeout = 2 * time.Minute
	res, err := Runner{}.Run(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	tries := map[string]escapeTry{}
	var text []string
	for _, l := range res.Output {
		text = append(text, l.Stream+": "+l.Text)
		var e escapeTry
		if l.Stream == "stdout" && json.Unmarshal([]byte(l.Text), &e) == nil {
			tries[e.Try] = e
		}
	}
	if len(tries) == 0 {
		t.Fatalf("the escape probe reported nothing (exit %d %s):\n%s", res.ExitCode, res.Signal, strings.Join(text, "\n"))
	}
	return tries
}

// escapeTries are the probe's tries; every one must fail in the lab.
var escapeTries = []string{
	"host-environ", "setns-foreign-netns", "setns-refused", "init-root", "unshare-netns",
	"unshare-userns-netns-veth", "veth", "raw-socket", "route-out", "mount", "bpf", "ptrace-init",
	"kexec", "module", "reboot", "write-host-file", "host-sockets", "privileges",
}

// TestContainment runs a program that tries every way out of the lab —
// reading host processes' environments, joining the host's network
// namespace through /proc, a network namespace of its own with a veth,
// raw sockets, a route out, mounts, bpf, ptrace of the init, kexec,
// module loading, reboot, writing host files, host daemons' sockets,
// keeping privileges — with the host's root and with --root, as root and
// rootless, and sees each fail.
func TestContainment(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	probe := buildEscape(t, dir)
	marker := fmt.Sprintf("nsscope-escape-marker-%d", time.Now().UnixNano())
	t.Setenv("NSSCOPE_ESCAPE_MARKER", marker) // in this (host) process's environment
	hostFile := filepath.Join(dir, "host-file")
	if err := os.WriteFile(hostFile, []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	alpine := sharedData(t, "rootfs/alpine-minirootfs-3.19.4-x86_64.tar.gz")
	for _, tc := range []struct {
		name     string
		root     string
		rootless bool
	}{{"host-root", "", false}, {"host-root-rootless", "", true}, {"alpine-root", alpine, false}, {"alpine-root-rootless", alpine, true}} {
		t.Run(tc.name, func(t *testing.T) {
			spec := Spec{Root: tc.root, Rootless: tc.rootless, Argv: []string{probe, "-marker", marker, "-write", hostFile}}
			if tc.root == "" {
				spec.Argv = append(spec.Argv, "-ro", "/usr/nsscope-escape-test")
			} else {
				spec.Add = []Add{{Src: probe, Dst: "/escape"}}
				spec.Argv[0] = "/escape"
			}
			tries := runEscape(t, spec)
			for _, name := range escapeTries {
				e, ok := tries[name]
				switch {
				case !ok:
					t.Errorf("%s: not reported", name)
				case e.Escaped:
					t.Errorf("%s: ESCAPED: %s", name, e.Detail)
				default:
					t.Logf("%s: held: %s", name, e.Detail)
				}
			}
			if b, _ := os.ReadFile(hostFile); string(b) != "host\n" {
				t.Errorf("the host file was changed: %q", b)
			}
		})
	}
}

// TestContainmentCap grants one capability and sees the program keep that
// one alone: raw sockets work, nothing else does.
func TestContainmentCap(t *testing.T) {
	requireRoot(t)
	probe := buildEscape(t, t.TempDir())
	tries := runEscape(t, Spec{Caps: []string{"net_raw"}, Argv: []string{probe}})
	if !tries["raw-socket"].Escaped {
		t.Errorf("raw-socket with CAP_NET_RAW: %s, want it to work", tries["raw-socket"].Detail)
	}
	if d := tries["privileges"].Detail; !strings.Contains(d, "CapEff=0000000000002000") || !strings.Contains(d, "CapBnd=0000000000002000") {
		t.Errorf("privileges with CAP_NET_RAW: %s, want CapEff and CapBnd 0x2000 alone", d)
	}
	for _, name := range []string{"setns-foreign-netns", "veth", "route-out", "mount", "host-environ"} {
		if tries[name].Escaped {
			t.Errorf("%s with CAP_NET_RAW: ESCAPED: %s", name, tries[name].Detail)
		}
	}
}

func TestParseCap(t *testing.T) {
	for in, want := range map[string]int{"NET_RAW": 13, "net_raw": 13, "CAP_NET_BIND_SERVICE": 10, "sys_admin": 21, "checkpoint_restore": 40} {
		if got, err := ParseCap(in); err != nil || got != want {
			t.Errorf("ParseCap(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseCap("ROOT"); err == nil || !IsInputError(err) {
		t.Errorf("ParseCap(ROOT) = %v, want an input error", err)
	}
	if len(capNames) != 41 {
		t.Errorf("%d capability names, want 41 (CHOWN to CHECKPOINT_RESTORE)", len(capNames))
	}
}

// TestShare: a shared host directory is live both ways — the program sees
// a file the host makes after it started, and the host sees its writes —
// while the rest of the host's /tmp is a private copy.
func TestShare(t *testing.T) {
	requireRoot(t)
	shared, private := t.TempDir(), t.TempDir()
	go func() {
		time.Sleep(300 * time.Millisecond)
		os.WriteFile(filepath.Join(shared, "go"), []byte("1"), 0o644) //nolint:errcheck
	}()
	script := `until [ -s ` + shared + `/go ]; do sleep 0.05; done; echo out >` + shared + `/back; echo out >` + private + `/back`
	{
		addrs := []netip.Addr{netip.MustParseAddr("127.0.0.53")}
		res, err := Runner{}.Run(context.Background(), Spec{
			Nameservers: addrs, Scenario: model.Scenario{Servers: []model.Behavior{{Kind: model.NXDomain}}},
			ResolvConf: &model.File{Data: ResolvConf(addrs, "", "")},
			Argv:       []string{"/bin/sh", "-c", script}, Env: []string{"PATH=" + DefaultPath},
			Share: []string{shared}, Timeout: time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Ended != "exit" || res.ExitCode != 0 {
			t.Fatalf("ended %s, exit %d: %+v", res.Ended, res.ExitCode, res.Output)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(shared, "back")); string(b) != "out\n" {
		t.Errorf("the shared directory did not get the program's write: %q", b)
	}
	if _, err := os.Stat(filepath.Join(private, "back")); err == nil {
		t.Error("a write to the host's /tmp outside the shared directory reached the host")
	}
}
