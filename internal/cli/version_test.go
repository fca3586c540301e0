package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	for _, c := range []struct {
		name  string
		bi    *debug.BuildInfo
		short string
		long  []string
	}{
		{"no build info", nil, "devel", []string{"revision: unknown"}},
		{"go run", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel", []string{"revision: unknown (built by 'go run'"}},
		{"go install @v1.2.0", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, "v1.2.0", []string{"nsscope v1.2.0\n"}},
		{"go build in a clone", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201110228-107c1cce8716+dirty"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "107c1cce8716d05cfd17693f0ad96893e423c5a9"}, {Key: "vcs.time", Value: "2026-12-01T11:02:28Z"}, {Key: "vcs.modified", Value: "true"}}},
			"v0.0.0-20261201110228-107c1cce8716+dirty", []string{"revision: 107c1cce8716d05cfd17693f0ad96893e423c5a9 (2026-12-01T11:02:28Z), with uncommitted changes"}},
		{"stamped revision, no module version", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "107c1cce8716d05cfd17693f0ad96893e423c5a9"}}},
			"devel-107c1cce8716", []string{"revision: 107c1cce8716d05cfd17693f0ad96893e423c5a9\n"}},
	} {
		ti := buildVersion(c.bi)
		if ti.Short() != c.short {
			t.Errorf("%s: Short %q, want %q", c.name, ti.Short(), c.short)
		}
		for _, w := range c.long {
			if !strings.Contains(ti.Long(), w) {
				t.Errorf("%s: Long %q lacks %q", c.name, ti.Long(), w)
			}
		}
	}
}

// A binary built by `go build` from a git clone prints the commit it was
// built from. (A git worktree is not recognised by the go command's VCS
// stamping, so from one the test builds a fresh clone of HEAD.)
func TestVersionFromClone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nsscope")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	dir := strings.TrimSpace(string(top))
	if st, err := os.Stat(filepath.Join(dir, ".git")); err != nil || !st.IsDir() {
		clone := filepath.Join(t.TempDir(), "clone")
		if out, err := exec.Command("git", "clone", "-q", "--no-hardlinks", dir, clone).CombinedOutput(); err != nil {
			t.Fatalf("git clone: %v\n%s", err, out)
		}
		dir = clone
	}
	head, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "nsscope")
	build := exec.Command("go", "build", "-o", bin, "./cmd/nsscope")
	build.Dir = dir
	// This environment sets GOFLAGS=-buildvcs=false; a user's go build
	// stamps by default (-buildvcs=auto).
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=auto")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "revision: "+strings.TrimSpace(string(head))) || strings.Contains(string(out), "nsscope devel\n") {
		t.Errorf("version of a binary built from %s:\n%s", dir, out)
	}
}

// Every verb registered (the one list of verbs is newRoot's) has help on
// stdout with its exit codes, and the overview lists it.
func TestEveryVerbHelp(t *testing.T) {
	root := newRoot(&app{})
	overview, _, code := runCLI(t, "help")
	if code != ExitOK {
		t.Fatalf("help: exit %d", code)
	}
	n := 0
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		n++
		if !strings.Contains(overview, "\n  "+c.Name()+" ") {
			t.Errorf("help does not list %s", c.Name())
		}
		out, stderr, code := runCLI(t, c.Name(), "-h")
		if code != ExitOK || stderr != "" || !strings.HasPrefix(out, "Usage: nsscope "+c.Name()) || !strings.Contains(out, "\nExit codes:\n  0  ") {
			t.Errorf("%s -h: exit %d, stderr %q\n%s", c.Name(), code, stderr, out)
		}
	}
	if n < 9 {
		t.Errorf("%d verbs, want at least the 9 of the README", n)
	}
}
