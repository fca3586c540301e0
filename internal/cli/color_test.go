package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsscope/nsscope/report"
)

// openPTY opens a pseudo-terminal: a real terminal for the output.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open pts: %v", err)
	}
	return m, s
}

// runOnTerminal runs nsscope with stdout on a terminal and returns what
// the terminal received.
func runOnTerminal(t *testing.T, env []string, args ...string) string {
	t.Helper()
	m, s := openPTY(t)
	defer m.Close()
	got := make(chan []byte)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, m) // ends with EIO once the slave is closed
		got <- b.Bytes()
	}()
	var errb bytes.Buffer
	Main(context.Background(), args, Stdio{In: strings.NewReader(""), Out: s, Err: &errb}, env)
	s.Close()
	return string(<-got)
}

// Verdicts and severities are coloured on a terminal, never when NO_COLOR
// is set, TERM is dumb, or stdout is not a terminal.
func TestColor(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "hosts"), []byte("127.0.0.1 localhost\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc", "resolv.conf"), []byte("nameserver 192.0.2.53\n"), 0o644)
	args := []string{"explain", "--root", root, "--go", "1.21", "localhost"}

	if out := runOnTerminal(t, nil, args...); !strings.Contains(out, "Verdict: \x1b[32mOK\x1b[0m") {
		t.Errorf("terminal: no coloured verdict in\n%q", out)
	}
	for _, env := range [][]string{{"NO_COLOR=1"}, {"TERM=dumb"}} {
		if out := runOnTerminal(t, env, args...); strings.Contains(out, "\x1b[") || !strings.Contains(out, "Verdict: OK") {
			t.Errorf("%v: escapes on the terminal:\n%q", env, out)
		}
	}
	out, _, _ := runCLI(t, args...)
	if strings.Contains(out, "\x1b[") || !strings.Contains(out, "Verdict: OK") {
		t.Errorf("not a terminal: escapes in\n%q", out)
	}
	// --output FILE is never coloured, even from a terminal.
	file := filepath.Join(t.TempDir(), "out.txt")
	runOnTerminal(t, nil, append(args, "--output", file)...)
	if data, err := os.ReadFile(file); err != nil || strings.Contains(string(data), "\x1b[") {
		t.Errorf("--output: %v %q", err, data)
	}
	// The severity column of scan, pod, cluster and dockerfile reports.
	rep := &report.Report{Findings: []report.Finding{{Severity: report.Critical, Subject: "/app", Name: "n", Message: "m"}, {Severity: report.Info, Subject: "/b", Name: "n", Message: "m"}}}
	var b bytes.Buffer
	report.WriteText(&b, rep, report.TextOptions{Color: true})
	if !strings.Contains(b.String(), "\x1b[1;31mcritical\x1b[0m /app") || !strings.Contains(b.String(), "\x1b[32minfo\x1b[0m     /b") {
		t.Errorf("report: %q", b.String())
	}
}

// pod and apiserver colour their verdicts on a terminal as the other
// verbs do, and never when NO_COLOR is set or stdout is a file.
func TestColorPodAPIServer(t *testing.T) {
	dir := t.TempDir()
	pod := filepath.Join(dir, "pod.yaml")
	os.WriteFile(pod, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: alpine:3.16}\n"), 0o644)
	for _, c := range []struct {
		args  []string
		paint string
	}{
		{[]string{"pod", pod, "--go", "1.15"}, "\x1b[1;31mcritical\x1b[0m: Go 1.15 static"},
		{[]string{"apiserver", "--go", "1.21"}, "kube-apiserver start-up: \x1b[32msafe\x1b[0m: "},
	} {
		if out := runOnTerminal(t, nil, c.args...); !strings.Contains(out, c.paint) {
			t.Errorf("%v on a terminal: no %q in\n%q", c.args, c.paint, out)
		}
		if out := runOnTerminal(t, []string{"NO_COLOR=1"}, c.args...); strings.Contains(out, "\x1b[") {
			t.Errorf("%v NO_COLOR: escapes in\n%q", c.args, out)
		}
		if out, _, _ := runCLI(t, c.args...); strings.Contains(out, "\x1b[") {
			t.Errorf("%v not a terminal: escapes in\n%q", c.args, out)
		}
	}
}
