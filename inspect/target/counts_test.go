package target_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/nsscope/nsscope/inspect/target"
	ti "github.com/nsscope/nsscope/internal/testimage"
)

// Counts tell what was read, the same for a tarball and the directory it
// unpacks to: the files that are not directories, the ELF files read, and
// the bytes (stored bytes of the tarball; inspected files' sizes in the
// directory).
func TestCounts(t *testing.T) {
	t.Parallel()
	tarball := ti.Rootfs(t, ti.Alpine316)
	var tc target.Counts
	tg := open(t, tarball, target.Options{Counts: &tc})
	progs, err := tg.Programs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(tarball)
	if tc.Bytes.Load() != st.Size() || tc.Total.Load() != st.Size() {
		t.Errorf("tarball bytes %d of %d; file %d", tc.Bytes.Load(), tc.Total.Load(), st.Size())
	}
	out, err := exec.Command("tar", "-tzf", tarball).Output()
	if err != nil {
		t.Skipf("tar: %v", err)
	}
	entries, dirs := 0, 0
	for _, l := range splitLines(string(out)) {
		entries++
		if l[len(l)-1] == '/' {
			dirs++
		}
	}
	if got := tc.Files.Load(); got != int64(entries-dirs) {
		t.Errorf("tarball: %d files counted, tar lists %d entries of which %d directories", got, entries, dirs)
	}
	if tc.Executables.Load() == 0 || tc.Executables.Load() < int64(len(progs)) {
		t.Errorf("tarball: %d executables read, %d programs", tc.Executables.Load(), len(progs))
	}

	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xzf", tarball, "-C", dir).CombinedOutput(); err != nil {
		t.Skipf("tar -x: %v %s", err, out)
	}
	var dc target.Counts
	dt := open(t, dir, target.Options{Counts: &dc})
	dprogs, err := dt.Programs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if dc.Files.Load() != tc.Files.Load() {
		t.Errorf("directory: %d files, tarball %d", dc.Files.Load(), tc.Files.Load())
	}
	if dc.Executables.Load() == 0 || dc.Executables.Load() < int64(len(dprogs)) || dc.Bytes.Load() == 0 || dc.Total.Load() != 0 {
		t.Errorf("directory: %d executables for %d programs, %d bytes, total %d", dc.Executables.Load(), len(dprogs), dc.Bytes.Load(), dc.Total.Load())
	}
	t.Logf("tarball: %d files, %d executables; directory: %d files, %d executables, %d bytes",
		tc.Files.Load(), tc.Executables.Load(), dc.Files.Load(), dc.Executables.Load(), dc.Bytes.Load())
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
