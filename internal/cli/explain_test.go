package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/internal/golden"
)

// sharedRootfs returns a rootfs tarball of ../shared/data, or skips.
func sharedRootfs(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", "rootfs", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data not available: %v", err)
	}
	return p
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "explain", name), []byte(got))
}

// The incident, by the model (issue: "explain reproduces every number").
func TestExplainIncidentGolden(t *testing.T) {
	a313 := sharedRootfs(t, "alpine-minirootfs-3.13.12-x86_64.tar.gz")
	td := filepath.Join("testdata", "explain")
	cases := []struct {
		name string
		args []string
		// checks on the JSON form
		order   string
		queries int
		total   float64
		from    string
		err     string
	}{
		{"incident-go115-3ns-dial30", []string{"--root", a313, "--runtime", "none", "--resolv-conf", filepath.Join(td, "node3.conf"), "--go", "1.15", "--network", "tcp", "--deadline", "30s", "--debug-output", "localhost"},
			"dns,files", 12, 30, "none", "dial tcp: i/o timeout"},
		{"incident-go115-2ns-dial30", []string{"--root", a313, "--runtime", "none", "--resolv-conf", filepath.Join(td, "node2.conf"), "--go", "1.15", "--network", "tcp", "--deadline", "30s", "localhost"},
			"dns,files", 8, 20, "hosts", ""},
		{"incident-go115-search-ndots5", []string{"--root", a313, "--runtime", "none", "--resolv-conf", filepath.Join(td, "kube-search.conf"), "--go", "1.15", "--network", "tcp", "localhost"},
			"dns,files", 48, 120, "hosts", ""},
		{"incident-go116", []string{"--root", a313, "--runtime", "none", "--resolv-conf", filepath.Join(td, "kube-search.conf"), "--go", "1.16", "--network", "tcp", "--deadline", "30s", "localhost"},
			"files,dns", 0, 0, "hosts", ""},
		{"incident-go115-nsswitch-fix", []string{"--root", a313, "--runtime", "none", "--resolv-conf", filepath.Join(td, "node3.conf"), "--nsswitch", filepath.Join(td, "nsswitch-files-dns.conf"), "--go", "1.15", "--network", "tcp", "--deadline", "30s", "localhost"},
			"files,dns", 0, 0, "hosts", ""},
		{"incident-glibc231", []string{"--root", a313, "--runtime", "none", "--resolv-conf", filepath.Join(td, "kube-search.conf"), "--libc", "glibc-2.31", "--network", "tcp", "kubernetes.default"},
			"dns [!UNAVAIL=return] files", 24, 56, "none", `getaddrinfo("kubernetes.default"): Name or service not known`},
		{"incident-musl", []string{"--root", a313, "--runtime", "none", "--resolv-conf", filepath.Join(td, "kube-search.conf"), "--libc", "musl-1.2.2", "--network", "tcp", "kubernetes.default"},
			"files,dns", 12, 5, "none", `getaddrinfo("kubernetes.default"): Try again`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// --fail-on critical (the default): a FAILS verdict exits 1.
			wantCode := ExitOK
			if c.err != "" {
				wantCode = ExitFindings
			}
			out, errs, code := runCLI(t, append([]string{"explain"}, c.args...)...)
			if code != wantCode {
				t.Fatalf("exit %d: %s", code, errs)
			}
			checkGolden(t, c.name+".txt", strings.ReplaceAll(out, a313, "ROOTFS"))
			// --debug-output adds to the text only.
			jargs := slices.DeleteFunc(slices.Clone(c.args), func(a string) bool { return a == "--debug-output" })
			jout, errs, code := runCLI(t, append([]string{"explain", "--format", "json"}, jargs...)...)
			if code != wantCode {
				t.Fatalf("json: exit %d: %s", code, errs)
			}
			checkGolden(t, c.name+".json", jout)
			var doc struct {
				Resolver     string   `json:"resolver"`
				Order        string   `json:"order"`
				Candidates   []string `json:"candidates"`
				Exchanges    []any    `json:"exchanges"`
				Queries      int      `json:"queries"`
				DNSSeconds   *float64 `json:"dns_seconds"`
				TotalSeconds float64  `json:"total_seconds"`
				AnsweredFrom string   `json:"answered_from"`
				Error        *string  `json:"error"`
			}
			if err := json.Unmarshal([]byte(jout), &doc); err != nil {
				t.Fatal(err)
			}
			e := ""
			if doc.Error != nil {
				e = *doc.Error
			}
			if doc.Order != c.order || doc.Queries != c.queries || len(doc.Exchanges) != c.queries || doc.TotalSeconds != c.total || doc.AnsweredFrom != c.from || e != c.err || doc.DNSSeconds == nil || doc.Resolver == "" || doc.Candidates == nil {
				t.Errorf("json: order=%q queries=%d total=%v from=%q err=%q", doc.Order, doc.Queries, doc.TotalSeconds, doc.AnsweredFrom, e)
			}
		})
	}
}

func TestExplainSideBySide(t *testing.T) {
	a313 := sharedRootfs(t, "alpine-minirootfs-3.13.12-x86_64.tar.gz")
	out, errs, code := runCLI(t, "explain", "--root", a313, "--runtime", "none", "--resolv-conf", filepath.Join("testdata", "explain", "node3.conf"), "--network", "tcp", "--deadline", "30s")
	if code != ExitFindings { // Go 1.15 FAILS
		t.Fatalf("exit %d: %s", code, errs)
	}
	checkGolden(t, "side-by-side.txt", strings.ReplaceAll(out, a313, "ROOTFS"))
	for _, want := range []string{"Go 1.15.15 static", "FAILS: dial tcp: i/o timeout", "Go 1.26.8 static", "C program (musl-1.2.2)"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q", want)
		}
	}
}

// The default: this very host, typical programs; must always work.
func TestExplainThisHost(t *testing.T) {
	out, errs, code := runCLI(t, "explain", "localhost")
	if (code != ExitOK && code != ExitFindings) || !strings.Contains(out, "in this host") {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
}

func TestExplainBadInput(t *testing.T) {
	td := filepath.Join("testdata", "explain")
	cases := [][]string{
		{"--go", "1.9"},
		{"--go", "1.28"},
		{"--go", "one.two"},
		{"--go", "1.20", "--cgo", "on", "--tags", "netgo"},
		{"--cgo", "on"},
		{"--libc", "uclibc-1.0"},
		{"--go", "1.20", "--libc", "glibc-2.31"},
		{"--network", "sctp"},
		{"--format", "xml"},
		{"--deadline", "soon"},
		{"--servers", "sometimes"},
		{"--resolv-conf", filepath.Join(td, "does-not-exist")},
		{"--resolv-conf", td},
		{"--root", filepath.Join(td, "garbage.bin")},
		{"--no-such-flag"},
		{"a", "b"},
		{"--env", "NOEQUALS"},
	}
	for _, args := range cases {
		out, errs, code := runCLI(t, append([]string{"explain"}, args...)...)
		if code != ExitUsage || out != "" || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.HasPrefix(errs, "nsscope explain: ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want one line and exit 2", args, code, out, errs)
		}
	}
	// Garbage as a configuration file is not an error: resolvers read it.
	_, errs, code := runCLI(t, "explain", "--resolv-conf", filepath.Join(td, "garbage.bin"), "--nsswitch", filepath.Join(td, "garbage.bin"), "--hosts", filepath.Join(td, "garbage.bin"), "--go", "1.20")
	if code != ExitOK && code != ExitFindings {
		t.Errorf("garbage files: exit %d: %s", code, errs)
	}
}
