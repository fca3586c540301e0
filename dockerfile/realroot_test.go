package dockerfile

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nsscope/nsscope/conf"
	"github.com/nsscope/nsscope/internal/testimage"
	"github.com/nsscope/nsscope/report"
)

// realImage is a base image whose real root file system is in the shared
// test data.
type realImage struct {
	ref, rootfs string
	// exact: the base-image table holds the image's whole nsswitch.conf,
	// so the analysis must predict the file byte for byte (else only its
	// hosts line).
	exact bool
}

var realImages = []realImage{
	{"alpine:3.13.12", testimage.Alpine313, true},   // no /etc/nsswitch.conf
	{"alpine:3.16.9", testimage.Alpine316, true},    // hosts: files dns
	{"busybox:musl", testimage.BusyboxMusl, true},   // no /etc/nsswitch.conf
	{"busybox:glibc", testimage.BusyboxGlib, false}, // Debian's file
}

// fixCases are final stages that need the nsswitch fix on some base;
// BASE is replaced by each real image.
var fixCases = []struct{ name, final string }{
	{"plain", "FROM BASE\nCOPY --from=build /app /app\nCMD [\"/app\"]\n"},
	{"dns-first", "FROM BASE\nRUN echo 'hosts: dns files' > /etc/nsswitch.conf\nCOPY --from=build /app /app\n"},
	{"non-root-user", "FROM BASE\nUSER nobody\nCOPY --from=build /app /app\n"},
	{"two-hosts-lines", "FROM BASE\nRUN printf 'passwd: files\\nhosts: dns\\nhosts: files dns\\n' > /etc/nsswitch.conf\nCOPY --from=build /app /app\n"},
	{"no-final-newline", "FROM BASE\nRUN printf 'passwd: files\\nhosts: dns' > /etc/nsswitch.conf\nCOPY --from=build /app /app\n"},
}

// builder is the build stage of every case: Go 1.15, which asks DNS first
// when nsswitch.conf is missing, static (so it starts in every base).
const builder = "FROM golang:1.15-alpine AS build\nRUN CGO_ENABLED=0 go build -o /app .\n"

// needRoot skips unless the test can chroot.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: the generated RUN lines are not executed in chroots of real images (run the tests as root, as CI does)")
	}
}

// extract unpacks a rootfs tarball into a fresh directory.
func extract(t *testing.T, tarball string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xzf", tarball, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("tar -xzf %s: %v: %s", tarball, err, out)
	}
	return dir
}

// roots unpacks each rootfs tarball once per test and hands out fresh
// copies: hard links for the tree (cheap), a real copy of /etc, the only
// place the RUN lines under test write (sed -i replaces files, >> appends
// in place, so /etc must not share inodes with the pristine tree).
type roots struct {
	t        *testing.T
	pristine map[string]string
}

func newRoots(t *testing.T) *roots { return &roots{t: t, pristine: map[string]string{}} }

func (r *roots) fresh(t *testing.T, tarball string) string {
	t.Helper()
	src, ok := r.pristine[tarball]
	if !ok {
		src = extract(r.t, tarball)
		r.pristine[tarball] = src
	}
	dst := filepath.Join(t.TempDir(), "root")
	for _, args := range [][]string{{"cp", "-al", src, dst}, {"rm", "-rf", filepath.Join(dst, "etc")}, {"cp", "-a", filepath.Join(src, "etc"), filepath.Join(dst, "etc")}} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return dst
}

// runInRoot runs script with the root's own /bin/sh, chrooted into root,
// and returns its exit status and output. Nothing outside root is touched.
func runInRoot(t *testing.T, root, script string) (int, string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		t.Fatalf("running /bin/sh in %s: %v", root, err)
	}
	return 0, string(out)
}

// runStage runs every RUN of the final stage of f in root, in order, as
// docker build would (USER is ignored: the test runs as root).
func runStage(t *testing.T, root string, f *File) {
	t.Helper()
	st := f.Stages[len(f.Stages)-1]
	for _, in := range st.Instrs {
		if in.Cmd != "run" {
			continue
		}
		if code, out := runInRoot(t, root, runScript(in)); code != 0 {
			t.Fatalf("line %d `%s` exits %d in the real image: %s", in.Line, f.Lines[in.Line-1], code, out)
		}
	}
}

// hostsOf reads the root's nsswitch.conf as Go and glibc do and returns
// the hosts line both read, failing when they disagree.
func hostsOf(t *testing.T, root string) (string, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "etc", "nsswitch.conf"))
	if err != nil {
		t.Fatalf("after the fix: %v", err)
	}
	g := conf.ParseNSSwitch(conf.Go, "/etc/nsswitch.conf", data)
	l := conf.ParseNSSwitch(conf.Glibc, "/etc/nsswitch.conf", data)
	if g.Err != "" || conf.HostsLine(g.Hosts) != conf.HostsLine(l.Hosts) {
		t.Fatalf("Go reads hosts %q (%s), glibc %q, from %q", conf.HostsLine(g.Hosts), g.Err, conf.HostsLine(l.Hosts), data)
	}
	return conf.HostsLine(g.Hosts), data
}

// gitApply applies diff to src with `git apply` and returns the result.
func gitApply(t *testing.T, name string, src []byte, diff string) []byte {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed: --diff output not checked with git apply")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(git, "apply", "-")
	cmd.Dir, cmd.Stdin = dir, strings.NewReader(diff)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply: %v: %s\n%s", err, out, diff)
	}
	got, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestFixRunsInRealImages proves the nsswitch fix on real root file
// systems. For each case and base image: the --diff output applies with
// git apply; the fixed Dockerfile grades with nothing at warning or above;
// every RUN of its final stage exits 0 with the image's own /bin/sh in a
// chroot; the file it leaves has `hosts: files dns` for Go and glibc alike,
// and is the file the analysis predicted. The fix made for one base must
// also build on every other (a base bump), so each generated line runs in
// every image.
func TestFixRunsInRealImages(t *testing.T) {
	needRoot(t)
	rs := newRoots(t)
	var fixLines []string
	for _, img := range realImages {
		tarball := testimage.Rootfs(t, img.rootfs)
		for _, c := range fixCases {
			t.Run(img.ref+"/"+c.name, func(t *testing.T) {
				src := []byte(builder + strings.ReplaceAll(c.final, "BASE", img.ref))
				f, err := Parse("Dockerfile", src)
				if err != nil {
					t.Fatal(err)
				}
				res, err := Check(f, CheckOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if !res.Report.Fails(report.Warning) {
					if len(res.Edits) != 0 {
						t.Errorf("edits without a finding: %s", res.Diff())
					}
					return // nothing to fix on this base (e.g. plain Alpine 3.16)
				}
				if len(res.Edits) == 0 {
					t.Fatalf("no fix for %s", summarize(res.Report))
				}
				fixed := Apply(src, res.Edits)
				if got := gitApply(t, "Dockerfile", src, res.Diff()); string(got) != string(fixed) {
					t.Fatalf("git apply gives\n%s\nApply gives\n%s", got, fixed)
				}
				g, err := Parse("Dockerfile", fixed)
				if err != nil {
					t.Fatal(err)
				}
				after, err := Check(g, CheckOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if after.Report.Fails(report.Warning) {
					t.Errorf("after the fix: %s", summarize(after.Report))
				}
				root := rs.fresh(t, tarball)
				runStage(t, root, g)
				hosts, data := hostsOf(t, root)
				if hosts != "files dns" {
					t.Errorf("hosts: %q after the fix, want files dns; file %q", hosts, data)
				}
				pred := after.Analysis.Final.NSSwitch
				if pred.Kind != NSSPresent || pred.HostsLine() != hosts {
					t.Errorf("the analysis predicts %s, the real image has hosts: %s", pred, hosts)
				}
				if img.exact && string(pred.Data) != string(data) {
					t.Errorf("the analysis predicts the file %q, the real image has %q", pred.Data, data)
				}
				for _, e := range res.Edits {
					for _, l := range e.Insert {
						if strings.HasPrefix(l, "RUN ") {
							fixLines = append(fixLines, l)
						}
					}
				}
			})
		}
	}
	if len(fixLines) == 0 {
		t.Fatal("no RUN fix was generated")
	}
	// Every generated line, in every image, in both states of the file.
	for _, line := range dedup(fixLines) {
		for _, img := range realImages {
			for _, pre := range []string{"", "echo 'hosts: dns files' > /etc/nsswitch.conf", "rm -f /etc/nsswitch.conf"} {
				t.Run(fmt.Sprintf("cross/%s/%q", img.ref, pre), func(t *testing.T) {
					root := rs.fresh(t, testimage.Rootfs(t, img.rootfs))
					if pre != "" {
						if code, out := runInRoot(t, root, pre); code != 0 {
							t.Fatalf("%s: exit %d: %s", pre, code, out)
						}
					}
					f, err := Parse("Dockerfile", []byte("FROM "+img.ref+"\n"+line+"\n"))
					if err != nil {
						t.Fatal(err)
					}
					runStage(t, root, f)
					if hosts, data := hostsOf(t, root); hosts != "files dns" {
						t.Errorf("hosts: %q, want files dns; file %q", hosts, data)
					}
				})
			}
		}
	}
}

// TestOldFixFailsOnAlpine316 is the control: the line nsscope used to
// suggest exits 1 where the file exists, which fails docker build. It
// shows that the chroot runs report a failing RUN.
func TestOldFixFailsOnAlpine316(t *testing.T) {
	needRoot(t)
	root := extract(t, testimage.Rootfs(t, testimage.Alpine316))
	code, _ := runInRoot(t, root, "[ ! -e /etc/nsswitch.conf ] && echo 'hosts: files dns' > /etc/nsswitch.conf")
	if code != 1 {
		t.Errorf("the old fix exits %d on Alpine 3.16, want 1", code)
	}
	root = extract(t, testimage.Rootfs(t, testimage.Alpine313))
	if code, out := runInRoot(t, root, "[ ! -e /etc/nsswitch.conf ] && echo 'hosts: files dns' > /etc/nsswitch.conf"); code != 0 {
		t.Errorf("the old fix exits %d on Alpine 3.13: %s", code, out)
	}
}

func dedup(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// TestGlibcProgramCannotStartInAlpine checks the fact cannotStart relies
// on with real roots: a glibc-linked program (busybox's glibc build) copied
// into Alpine 3.16 cannot be executed (its loader
// /lib64/ld-linux-x86-64.so.2 is missing), while it runs in its own root;
// and the analysis grades the same copy in a Dockerfile as critical.
func TestGlibcProgramCannotStartInAlpine(t *testing.T) {
	needRoot(t)
	glibcRoot := extract(t, testimage.Rootfs(t, testimage.BusyboxGlib))
	if code, out := runInRoot(t, glibcRoot, "/bin/true"); code != 0 {
		t.Fatalf("busybox-glibc's own /bin/true exits %d: %s", code, out)
	}
	alpine := extract(t, testimage.Rootfs(t, testimage.Alpine316))
	bin, err := os.ReadFile(filepath.Join(glibcRoot, "bin", "["))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(alpine, "glibc-busybox"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(alpine, loaders["glibc"])); err == nil {
		t.Fatalf("Alpine 3.16 has %s", loaders["glibc"])
	}
	cmd := exec.Command("/glibc-busybox", "true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: alpine}
	cmd.Dir = "/"
	err = cmd.Run()
	if err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("running a glibc program in Alpine 3.16: %v, want exec to fail with no such file or directory", err)
	}
	f, err := Parse("Dockerfile", []byte("FROM golang:1.15 AS build\nRUN go build -o /app .\nFROM alpine:3.16.9\nCOPY --from=build /app /app\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Check(f, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fd := res.Report.Findings[0]; fd.Subject != "/app" || fd.Severity != report.Critical || fd.RuleID != report.RuleCannotStart || !strings.Contains(fd.Message, loaders["glibc"]) {
		t.Errorf("finding %s %s %s: %s", fd.Severity, fd.RuleID, fd.Subject, fd.Message)
	}
}
