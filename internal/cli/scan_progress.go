package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// progress draws "scanning: 120 MB of 470 MB" on stderr while a target is
// read, only when stderr is a terminal and only once the scan has taken
// longer than progressAfter (short scans print nothing).
type progress struct {
	w       io.Writer
	tty     bool
	start   time.Time
	mu      sync.Mutex
	last    time.Time
	drawn   bool
	stopped bool
}

const (
	progressAfter = time.Second
	progressEvery = 200 * time.Millisecond
)

func newProgress(w io.Writer) *progress {
	return &progress{w: w, tty: isTerminal(w), start: time.Now()}
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

// update is target.Options.Progress: it may be called from several
// goroutines.
func (p *progress) update(done, total int64) {
	if !p.tty {
		return
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || now.Sub(p.start) < progressAfter || now.Sub(p.last) < progressEvery {
		return
	}
	p.last = now
	p.drawn = true
	if total > 0 {
		fmt.Fprintf(p.w, "\rscanning: %d MB of %d MB ", done>>20, total>>20)
	} else {
		fmt.Fprintf(p.w, "\rscanning: %d MB ", done>>20)
	}
}

// done erases the indicator; later updates are ignored.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn && !p.stopped {
		fmt.Fprint(p.w, "\r\033[K")
	}
	p.stopped = true
}
