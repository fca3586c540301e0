package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgress(t *testing.T) {
	var b bytes.Buffer
	// Not a terminal: never draws.
	p := newProgress(&b)
	p.start = time.Now().Add(-time.Hour)
	p.update(10<<20, 100<<20)
	p.done()
	if b.Len() != 0 {
		t.Errorf("drew on a non-terminal: %q", b.String())
	}
	// A terminal, but a short scan: nothing either.
	p = &progress{w: &b, tty: true, start: time.Now()}
	p.update(10<<20, 100<<20)
	p.done()
	if b.Len() != 0 {
		t.Errorf("drew during the first second: %q", b.String())
	}
	// A long scan on a terminal: drawn, then erased; nothing after done.
	p = &progress{w: &b, tty: true, start: time.Now().Add(-2 * progressAfter)}
	p.update(10<<20, 100<<20)
	p.update(20<<20, 100<<20) // within progressEvery: skipped
	p.done()
	p.update(30<<20, 100<<20)
	if got, want := b.String(), "\rscanning: 10 MB of 100 MB \r\033[K"; got != want {
		t.Errorf("drew %q, want %q", got, want)
	}
	if strings.Contains(b.String(), "20 MB") {
		t.Error("redrew within the interval")
	}
}
