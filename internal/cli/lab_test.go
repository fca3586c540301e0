package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/lab"
)

// The lab re-executes its own binary as the namespace init with the
// arguments "lab", lab.InitArg: in this package's test binary, that must
// reach runLab before the testing package looks at the arguments.
func init() {
	if len(os.Args) > 2 && os.Args[1] == "lab" && os.Args[2] == lab.InitArg {
		os.Exit(Main(context.Background(), os.Args[1:], Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Environ()))
	}
}

// TestLabBadInput checks that every kind of bad request ends with one line
// on stderr, exit status 2 and nothing left in the temp dir.
func TestLabBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noNS := write("zero.conf", "search example.com\noptions ndots:2\n")
	fourNS := write("four.conf", "nameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 10.0.0.4\n")
	root := os.Geteuid() == 0
	// A root holding a dynamically linked program but not its loader.
	noLoader := filepath.Join(dir, "noloader")
	if err := os.MkdirAll(filepath.Join(noLoader, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile("/bin/true"); err == nil {
		os.WriteFile(filepath.Join(noLoader, "bin", "true"), b, 0o755)
	}
	tests := []struct {
		name     string
		args     []string
		want     string
		needRoot bool // the error comes from inside the namespaces
	}{
		{"no program", []string{}, "no program given", false},
		{"bad servers", []string{"--servers", "loud", "--", "/bin/true"}, "unknown item", false},
		{"bad flag", []string{"--frobnicate", "--", "/bin/true"}, "unknown flag --", false},
		{"bad format", []string{"--format", "xml", "--", "/bin/true"}, "want text, json or html", false},
		{"zero nameservers", []string{"--resolv-conf", noNS, "--", "/bin/true"}, "lists no nameserver", false},
		{"four nameservers", []string{"--resolv-conf", fourNS, "--", "/bin/true"}, "lists 4 nameservers", false},
		{"resolv-conf missing", []string{"--resolv-conf", filepath.Join(dir, "nope"), "--", "/bin/true"}, "no such file", false},
		{"too many servers", []string{"--nameservers", "5", "--", "/bin/true"}, "want 1 to 3", false},
		{"behaviours mismatch", []string{"--servers", "silent,nxdomain", "--", "/bin/true"}, "2 server behaviours for 3 nameservers", false},
		{"check without name", []string{"--check", "--go", "1.15", "--", "/bin/true"}, "--check needs --name", false},
		{"check with a bad --libc", []string{"--check", "--libc", "uclibc-1.0", "--name", "x", "--", "/bin/true"}, "want glibc-VERSION or musl-VERSION", false},
		{"unwritable temp dir", []string{"--tmp", filepath.Join(dir, "missing"), "--", "/bin/true"}, "is not usable", false},
		{"root missing", []string{"--root", filepath.Join(dir, "nothere"), "--", "/bin/true"}, "no such file", false},
		{"program not found", []string{"--", "/no/such/program"}, "program /no/such/program not found", true},
		{"loader missing", []string{"--root", noLoader, "--", "/bin/true"}, "needs /lib64/ld-linux-x86-64.so.2, which the program's root does not have", true},
		{"empty tarball", []string{"--root", write("empty.tar", ""), "--", "/bin/true"}, "not a tar archive", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needRoot && !root {
				t.Skip("needs root to create namespaces")
			}
			tmp := t.TempDir()
			var out, errb bytes.Buffer
			args := append([]string{"lab", "--tmp", tmp}, tc.args...)
			code := Main(context.Background(), args, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, nil)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, ExitUsage, errb.String())
			}
			msg := errb.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "nsscope lab: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("stderr %q: want one line \"nsscope lab: ...%s...\"", msg, tc.want)
			}
			if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
				t.Errorf("left in the temp dir: %v", ents)
			}
		})
	}
}

// TestLabCheck runs lab --check end to end on the static probe: a true
// description of the program matches (exit 0), a false one (Go 1.15 on a
// root without nsswitch.conf, which would ask DNS first) is a mismatch
// (exit 1) with every difference printed.
func TestLabCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create namespaces")
	}
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe")
	build := exec.Command("go", "build", "-o", probe, "./lab/testdata/probe")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build probe: %v\n%s", err, out)
	}
	hosts := filepath.Join(dir, "hosts")
	os.WriteFile(hosts, []byte("127.0.0.1 localhost\n"), 0o644)
	goVer := strings.TrimPrefix(runtime.Version(), "go")
	common := []string{"lab", "--tmp", dir, "--servers", "silent", "--nameservers", "1", "--options", "timeout:1 attempts:1",
		"--hosts", hosts, "--nsswitch", "missing", "--check", "--name", "localhost", "--network", "ip"}
	tests := []struct {
		name   string
		goVer  string
		code   int
		output []string
	}{
		{"true description", goVer, ExitOK, []string{"match: same exchanges in the same order"}},
		{"Go 1.15 would ask DNS first", "1.15.7", ExitFindings, []string{"MISMATCH", "exchanges: predicted 2, observed 0", "total time: predicted 1.000s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append(append([]string{}, common...), "--go", tc.goVer, "--", probe, "-name", "localhost")
			code := Main(context.Background(), args, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, nil)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out.String(), errb.String())
			}
			for _, want := range tc.output {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestLabCheckReadsOutcome runs lab --check of the real busybox wget of
// Alpine 3.19 against a server that answers, on port 1 where nothing
// listens (issue 11.4): wget exits 1 after its successful lookup. By exit
// status the check reports a false mismatch; told what failure looks
// like (--fail-if) and where the address is printed (--addrs-from), it
// reports the match.
func TestLabCheckReadsOutcome(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create namespaces")
	}
	alpine := filepath.Join("..", "..", "..", "shared", "data", "rootfs", "alpine-minirootfs-3.19.4-x86_64.tar.gz")
	if _, err := os.Stat(alpine); err != nil {
		t.Skipf("%s not found (../shared/data is absent)", alpine)
	}
	common := []string{"lab", "--tmp", t.TempDir(), "--root", alpine, "--servers", "answer=127.0.0.9", "--nameservers", "1",
		"--options", "timeout:1 attempts:1", "--check", "--libc", "musl-1.2.4", "--name", "db.example"}
	wget := []string{"--", "/usr/bin/wget", "-O", "/dev/null", "http://db.example:1/"}
	tests := []struct {
		name   string
		flags  []string
		code   int
		output string
	}{
		{"by exit status", nil, ExitFindings, "observed failure (read from exit status 1)"},
		{"as wget reports it", []string{"--fail-if", "bad address", "--addrs-from", `Connecting to \S+ \(([0-9.]+):`}, ExitOK, "match: same exchanges"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append(append(append([]string{}, common...), tc.flags...), wget...)
			code := Main(context.Background(), args, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, nil)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tc.output) {
				t.Errorf("output lacks %q:\n%s", tc.output, out.String())
			}
		})
	}
}
