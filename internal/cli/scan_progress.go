package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/nsscope/nsscope/inspect/target"
)

// Progress modes (--progress).
const (
	// progressAuto draws on stderr when it is a terminal.
	progressAuto = "auto"
	// progressLines writes a line per interval and a last line when the
	// reading ends, terminal or not (logs, tests).
	progressLines = "lines"
	// progressNever draws nothing.
	progressNever = "never"
)

var progressModes = []string{progressAuto, progressLines, progressNever}

// progress shows what reading a target has done so far: files seen,
// executables read, bytes and rate ("scanning: 12,345 files, 87
// executables, 120 MB of 470 MB, 35 MB/s"). On a terminal the line is
// redrawn in place once the scan has taken longer than progressAfter
// (short scans print nothing) and erased at the end; in lines mode a line
// is written per interval and a last one at the end.
type progress struct {
	w      io.Writer
	mode   string // progressAuto on a terminal, progressLines, or "" (off)
	counts *target.Counts
	start  time.Time
	now    func() time.Time

	mu      sync.Mutex
	label   string
	drawn   bool
	stopped bool
	quit    chan struct{}
	wg      sync.WaitGroup
}

const (
	progressAfter = time.Second
	progressEvery = 200 * time.Millisecond
	linesEvery    = 5 * time.Second
)

// newProgress starts showing counts on w as mode says; done stops it.
func newProgress(w io.Writer, mode string, counts *target.Counts) *progress {
	p := &progress{w: w, counts: counts, start: time.Now(), now: time.Now, quit: make(chan struct{})}
	switch {
	case mode == progressLines:
		p.mode = progressLines
	case mode == progressAuto && isTerminal(w):
		p.mode = progressAuto
	}
	if p.mode != "" {
		p.wg.Add(1)
		go p.run()
	}
	return p
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func (p *progress) run() {
	defer p.wg.Done()
	every := progressEvery
	if p.mode == progressLines {
		every = linesEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-tick.C:
			p.draw(false)
		}
	}
}

// setLabel names what is read now ("image 2 of 5: REF").
func (p *progress) setLabel(s string) {
	p.mu.Lock()
	p.label = s
	p.mu.Unlock()
}

// draw writes the line; last is the line at the end.
func (p *progress) draw(last bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	elapsed := p.now().Sub(p.start)
	line := progressLine(p.label, snapshot(p.counts), elapsed, last)
	switch p.mode {
	case progressAuto:
		if elapsed < progressAfter {
			return
		}
		p.drawn = true
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	case progressLines:
		fmt.Fprintln(p.w, line)
	}
}

// counted is one reading of target.Counts.
type counted struct{ files, exes, bytes, total int64 }

func snapshot(c *target.Counts) counted {
	if c == nil {
		return counted{}
	}
	return counted{c.Files.Load(), c.Executables.Load(), c.Bytes.Load(), c.Total.Load()}
}

// progressLine renders the counts: "scanning: 12,345 files, 87
// executables, 120 MB of 470 MB, 35.0 MB/s" ("scanned: …" at the end).
func progressLine(label string, c counted, elapsed time.Duration, last bool) string {
	var b strings.Builder
	b.WriteString("scanning")
	if last {
		b.Reset()
		b.WriteString("scanned")
	}
	if label != "" {
		b.WriteString(" " + label)
	}
	fmt.Fprintf(&b, ": %s files, %s executables, %s", thousands(c.files), thousands(c.exes), megabytes(c.bytes))
	if c.total > 0 {
		fmt.Fprintf(&b, " of %s", megabytes(c.total))
	}
	if s := elapsed.Seconds(); s > 0 {
		fmt.Fprintf(&b, ", %.1f MB/s", float64(c.bytes)/(1<<20)/s)
	}
	if last {
		fmt.Fprintf(&b, " in %.1f s", elapsed.Seconds())
	}
	return b.String()
}

func megabytes(n int64) string { return fmt.Sprintf("%d MB", n>>20) }

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// done stops the indicator: on a terminal the line is erased, in lines
// mode the last line is written. Later calls do nothing.
func (p *progress) done() {
	p.mu.Lock()
	if p.stopped || p.mode == "" {
		p.stopped = true
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	close(p.quit)
	p.wg.Wait()
	if p.mode == progressLines {
		p.draw(true)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn && p.mode == progressAuto {
		fmt.Fprint(p.w, "\r\033[K")
	}
	p.stopped = true
}

// registerProgress adds --progress.
func registerProgress(fs *pflag.FlagSet, mode *string) {
	fs.StringVar(mode, "progress", progressAuto, "progress on stderr, `MODE`: auto (on a terminal), lines (a line every 5 s and at the end, terminal or not) or never")
}

func checkProgress(mode string) error {
	if !slices.Contains(progressModes, mode) {
		return usageErrorf("--progress %q: want %s", mode, orList(progressModes))
	}
	return nil
}
