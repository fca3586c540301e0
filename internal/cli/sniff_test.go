package cli

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
)

// TestSniffTraceBadInput: every bad request to sniff and trace is one
// line on stderr and exit status 2, before any capture or namespace.
func TestSniffTraceBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sniff", "--format", "xml"}, `--format "xml": want text, json or html`},
		{[]string{"sniff", "--pid", "1", "--comm", "x"}, "--pid and --comm exclude each other"},
		{[]string{"sniff", "--name", "["}, `--name "[": syntax error in pattern`},
		{[]string{"sniff", "--netns", "/nonexistent"}, "--netns /nonexistent"},
		{[]string{"sniff", "-i", "no-such-interface0", "--duration", "1s"}, "interface no-such-interface0"},
		{[]string{"sniff", "extra"}, `unexpected argument "extra"`},
		{[]string{"trace"}, "no program given"},
		{[]string{"trace", "--upstream", "not-an-ip", "--", "true"}, `--upstream "not-an-ip"`},
		{[]string{"trace", "--upstream", "10.0.0.1", "--upstream", "10.0.0.2", "--upstream", "10.0.0.3", "--upstream", "10.0.0.4", "--", "true"}, "4 nameservers to relay to"},
		{[]string{"trace", "--name", "x", "--", "true"}, "describes the lookup for --check"},
	} {
		_, stderr, code := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q on one line", c.args, code, stderr, c.want)
		}
	}
}

// TestTraceCheck runs `nsscope trace --check` against a stand-in host: a
// lab namespace of the test's own whose silent fake servers play the real
// nameservers (--host-netns, --upstream), so the host's network is never
// touched. getent on the host's root must behave as the model predicts.
func TestTraceCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat("/usr/bin/getent"); err != nil {
		t.Skip("no /usr/bin/getent")
	}
	dir := t.TempDir()
	ns := lab.DefaultNameservers(1)
	// The stand-in host runs a program that only waits: the lab contains
	// it (read-only host root, no writes outside), so readiness is read
	// from its namespace, where the fake server listens on 127.0.0.53:53.
	spec := lab.Spec{Nameservers: ns, Scenario: model.Scenario{Servers: []model.Behavior{{Kind: model.Silent}}},
		ResolvConf: &model.File{Data: lab.ResolvConf(ns, "", "")},
		Env:        []string{"PATH=" + lab.DefaultPath},
		Argv:       []string{"/bin/sleep", "600"}, Timeout: 10 * time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan int, 1)
	go func() {
		_, err := lab.Runner{Args: []string{"lab", lab.InitArg}, Started: func(pid int) { started <- pid }}.Run(ctx, spec)
		done <- err
	}()
	defer func() {
		cancel()
		<-done // cancelled on purpose: its error says so
	}()
	var initPID int
	select {
	case initPID = <-started:
	case err := <-done:
		done <- err
		t.Fatalf("upstream lab: %v", err)
	}
	// 127.0.0.53:53 as /proc/net/udp writes it.
	const listening = "3500007F:0035"
	// No deadline but the lab's own: on a loaded machine set-up is slow.
	for {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(initPID) + "/net/udp"); strings.Contains(string(b), listening) {
			break
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("the upstream lab ended before its fake server listened: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	rc := filepath.Join(dir, "resolv.conf")
	os.WriteFile(rc, []byte("options timeout:1 attempts:1\nnameserver 192.0.2.1\n"), 0o644) //nolint:errcheck
	// A difference in timing alone (a loaded machine) is tried again, as
	// the differential suite does; a difference in the exchanges is not.
	for try := 1; ; try++ {
		out, stderr, code := runCLI(t, "trace", "--host-netns", "/proc/"+strconv.Itoa(initPID)+"/ns/net", "--upstream", "127.0.0.53",
			"--resolv-conf", rc, "--check", "--network", "ip4", "--name", "traced.example", "--", "/usr/bin/getent", "ahostsv4", "traced.example")
		if code == 0 && strings.Contains(out, "relay to 127.0.0.53:53") && strings.Contains(out, "match: same exchanges") {
			return
		}
		if try < 3 && code == ExitFindings && timingOnly(out) {
			t.Logf("try %d differs in timing only:\n%s", try, out)
			continue
		}
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
}

// timingOnly reports whether every difference a lab --check printed is
// one of time.
func timingOnly(out string) bool {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "- ") {
			continue
		}
		n++
		if !strings.Contains(l, "(tolerance ") {
			return false
		}
	}
	return n > 0
}
