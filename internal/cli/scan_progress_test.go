package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/inspect/target"
)

func TestProgressLine(t *testing.T) {
	for _, c := range []struct {
		label   string
		c       counted
		elapsed time.Duration
		last    bool
		want    string
	}{
		{"", counted{files: 12345, exes: 87, bytes: 120 << 20, total: 470 << 20}, 4 * time.Second, false,
			"scanning: 12,345 files, 87 executables, 120 MB of 470 MB, 30.0 MB/s"},
		{"", counted{files: 565214, exes: 4937, bytes: 3 << 30}, 20 * time.Second, true,
			"scanned: 565,214 files, 4,937 executables, 3072 MB, 153.6 MB/s in 20.0 s"},
		{"image 2 of 5 (docker.io/library/alpine:3.19)", counted{files: 7, exes: 1, bytes: 1 << 20, total: 3 << 20}, time.Second, false,
			"scanning image 2 of 5 (docker.io/library/alpine:3.19): 7 files, 1 executables, 1 MB of 3 MB, 1.0 MB/s"},
		{"", counted{}, 0, false, "scanning: 0 files, 0 executables, 0 MB"},
	} {
		if got := progressLine(c.label, c.c, c.elapsed, c.last); got != c.want {
			t.Errorf("progressLine(%+v) =\n %q\nwant\n %q", c.c, got, c.want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -5: "-5"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// fakeCounts is a target.Counts with values set.
func fakeCounts(files, exes, bytes, total int64) *target.Counts {
	c := &target.Counts{}
	c.Files.Store(files)
	c.Executables.Store(exes)
	c.Bytes.Store(bytes)
	c.Total.Store(total)
	return c
}

func TestProgressModes(t *testing.T) {
	counts := fakeCounts(2000, 3, 10<<20, 100<<20)
	// auto on what is not a terminal: never draws.
	var b bytes.Buffer
	p := newProgress(&b, progressAuto, counts)
	p.draw(false)
	p.done()
	if b.Len() != 0 {
		t.Errorf("drew on a non-terminal: %q", b.String())
	}
	// never: nothing either.
	p = newProgress(&b, progressNever, counts)
	p.done()
	if b.Len() != 0 {
		t.Errorf("--progress never drew: %q", b.String())
	}
	// A terminal, but a short scan: nothing.
	now := time.Now()
	p = &progress{w: &b, mode: progressAuto, counts: counts, start: now, now: func() time.Time { return now.Add(progressAfter / 2) }, quit: make(chan struct{})}
	p.draw(false)
	p.stopped = true
	if b.Len() != 0 {
		t.Errorf("drew during the first second: %q", b.String())
	}
	// A long scan on a terminal: drawn in place, erased at the end,
	// nothing after.
	p = &progress{w: &b, mode: progressAuto, counts: counts, start: now, now: func() time.Time { return now.Add(2 * time.Second) }, quit: make(chan struct{})}
	p.draw(false)
	p.done()
	p.draw(false)
	want := "\r\033[Kscanning: 2,000 files, 3 executables, 10 MB of 100 MB, 5.0 MB/s\r\033[K"
	if got := b.String(); got != want {
		t.Errorf("terminal: %q, want %q", got, want)
	}
	// lines: the last line at the end, terminal or not.
	b.Reset()
	p = newProgress(&b, progressLines, counts)
	p.mu.Lock()
	p.now = func() time.Time { return p.start.Add(4 * time.Second) }
	p.mu.Unlock()
	p.setLabel("image 1 of 1 (x)")
	p.done()
	p.done()
	if got := b.String(); !strings.HasSuffix(got, "scanned image 1 of 1 (x): 2,000 files, 3 executables, 10 MB of 100 MB, 2.5 MB/s in 4.0 s\n") || strings.Count(got, "scanned") != 1 {
		t.Errorf("lines: %q", got)
	}
}
