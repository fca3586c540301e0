package grade_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/grade"
	"github.com/nsscope/nsscope/inspect/target"
	ti "github.com/nsscope/nsscope/internal/testimage"
	"github.com/nsscope/nsscope/report"
)

func scanSpec(t *testing.T, spec string, rt grade.Runtime) *report.Report {
	t.Helper()
	tg, err := target.Open(context.Background(), spec, target.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	in, err := grade.FromTarget(context.Background(), tg, spec)
	if err != nil {
		t.Fatal(err)
	}
	in.Runtime = rt
	rep, err := grade.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func finding(rep *report.Report, subject string) *report.Finding {
	for i := range rep.Findings {
		if rep.Findings[i].Subject == subject {
			return &rep.Findings[i]
		}
	}
	return nil
}

// busybox-musl is one static musl binary under 400 names: it is found (its
// resolver is linked in), named after itself, graded as musl, and its
// wget and nslookup names are listed (issue 9.5, 15.3).
func TestStaticBusybox(t *testing.T) {
	rep := scanSpec(t, ti.Rootfs(t, ti.BusyboxMusl), grade.Runtime{Kind: grade.Kubernetes})
	f := finding(rep, "/bin/busybox")
	if f == nil {
		t.Fatalf("no finding for /bin/busybox: %+v notes %q", rep.Findings, rep.Notes)
	}
	why := strings.Join(f.Reasons, "\n")
	for _, want := range []string{"/bin/wget", "/bin/nslookup", "musl", "resolver is linked in"} {
		if !strings.Contains(why, want) {
			t.Errorf("reasons lack %q:\n%s", want, why)
		}
	}
	if f.Predict == nil || f.Predict.Resolver != "musl" {
		t.Errorf("resolver %+v", f.Predict)
	}
	if grade.NoneFound(rep) {
		t.Error("NoneFound with a finding")
	}
}

// A program that cannot start in its image is critical with the reason:
// a glibc program in a musl image, a program whose library is missing.
func TestCannotStart(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "p.c")
	os.WriteFile(src, []byte("#include <netdb.h>\nint main(int c,char**v){struct addrinfo*r;return getaddrinfo(v[1],0,0,&r);}\n"), 0o644)
	bin := filepath.Join(dir, "p")
	if out, err := exec.Command("gcc", "-o", bin, src).CombinedOutput(); err != nil {
		t.Skipf("gcc: %v %s", err, out)
	}
	alpine := ti.RootfsLayer(t, ti.Rootfs(t, ti.Alpine313))
	app := ti.FileLayer(t, map[string]ti.File{"usr/local/bin/app": {FromFile: bin, Mode: 0o755}})
	img := ti.Image(t, ti.Config{Entrypoint: []string{"/usr/local/bin/app"}}, alpine, app)
	rep := scanSpec(t, ti.DockerSave(t, img, t.TempDir(), "glibc-on-musl:1"), grade.Runtime{Kind: grade.Kubernetes})
	f := finding(rep, "/usr/local/bin/app")
	if f == nil || f.Severity != report.Critical || f.RuleID != report.RuleCannotStart ||
		!strings.Contains(f.Message, "loader /lib64/ld-linux-x86-64.so.2") || !strings.Contains(f.Message, "a glibc program in a musl root") {
		t.Errorf("glibc program on Alpine: %+v", f)
	}

	// The loader is there, libc.so.6 is not.
	ld := filepath.Join(dir, "ld")
	os.WriteFile(ld, []byte("\x7fELF"), 0o755)
	root := ti.FileLayer(t, map[string]ti.File{
		"lib64/ld-linux-x86-64.so.2": {FromFile: ld, Mode: 0o755},
		"etc/hosts":                  {Data: []byte("127.0.0.1 localhost\n")},
		"usr/local/bin/app":          {FromFile: bin, Mode: 0o755},
	})
	img = ti.Image(t, ti.Config{Entrypoint: []string{"/usr/local/bin/app"}}, root)
	rep = scanSpec(t, ti.DockerSave(t, img, t.TempDir(), "nolib:1"), grade.Runtime{Kind: grade.Kubernetes})
	if f := finding(rep, "/usr/local/bin/app"); f == nil || f.RuleID != report.RuleCannotStart || !strings.Contains(f.Message, "needed libc.so.6 not found") {
		t.Errorf("libc.so.6 missing: %+v", f)
	}
}

// A target with no program that resolves names says so: NoneFound, for
// a gate that treats "nothing graded" as a failure.
func TestNoneFound(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc", "hosts"), []byte("127.0.0.1 localhost\n"), 0o644)
	rep := scanSpec(t, dir, grade.Runtime{Kind: grade.None})
	if !grade.NoneFound(rep) || grade.NoneFoundMessage(dir) != "no program that resolves host names found in "+dir {
		t.Errorf("findings %+v", rep.Findings)
	}
}

// A damaged ELF program is named (a warning: its resolver cannot be read),
// never dropped; a directory that is not a root filesystem says so.
func TestDamagedAndNotRoot(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(ti.Binary(t, ti.Esbuild115))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "trunc"), data[:1<<20], 0o755)
	os.WriteFile(filepath.Join(dir, "corrupt"), append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 4096)...), 0o755)
	rep := scanSpec(t, dir, grade.Runtime{Kind: grade.Kubernetes})
	for _, p := range []string{"/trunc", "/corrupt"} {
		if f := finding(rep, p); f == nil || f.Severity != report.Warning || !strings.Contains(f.Message, "cannot read") {
			t.Errorf("%s: %+v", p, f)
		}
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "is not a root filesystem") {
		t.Errorf("notes %q", rep.Notes)
	}
}
