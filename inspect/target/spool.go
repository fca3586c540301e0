package target

import (
	"io"
	"os"
)

// spoolBufs is the number of 1 MiB buffers a layer's spool writer cycles
// through.
const spoolBufs = 3

// spoolWriter writes a spool file on a goroutine of its own, so that the
// goroutine inflating a layer does not wait for the kernel's copies. The
// buffers come from and go back to the layer's pool, and close waits
// until every one of them has been written and returned.
type spoolWriter struct {
	f    *os.File
	ch   chan spoolChunk
	free chan []byte
	errc chan error
}

// spoolChunk is data to append, or (data nil) a seek to off.
type spoolChunk struct {
	data []byte
	off  int64
}

// newSpoolWriter starts a writer for f using the layer's buffer pool.
func newSpoolWriter(f *os.File, li *layerIndex) *spoolWriter {
	if li.pool == nil {
		li.pool = make(chan []byte, spoolBufs)
		for range spoolBufs {
			li.pool <- make([]byte, 1<<20)
		}
	}
	w := &spoolWriter{f: f, ch: make(chan spoolChunk, spoolBufs), free: li.pool, errc: make(chan error, 1)}
	go w.run()
	return w
}

func (w *spoolWriter) run() {
	var err error
	for c := range w.ch {
		if err == nil {
			if c.data == nil {
				_, err = w.f.Seek(c.off, io.SeekStart)
			} else {
				_, err = w.f.Write(c.data)
			}
		}
		if c.data != nil {
			w.free <- c.data[:cap(c.data)]
		}
	}
	w.errc <- err
}

// write queues a copy of b.
func (w *spoolWriter) write(b []byte) {
	for len(b) > 0 {
		buf := <-w.free
		n := copy(buf, b)
		w.ch <- spoolChunk{data: buf[:n]}
		b = b[n:]
	}
}

// copyN reads n bytes from r (fewer at its end) and queues them.
func (w *spoolWriter) copyN(r io.Reader, n int64) error {
	for n > 0 {
		buf := <-w.free
		m, err := io.ReadFull(r, buf[:min(int64(len(buf)), n)])
		if m > 0 {
			w.ch <- spoolChunk{data: buf[:m]}
		} else {
			w.free <- buf
		}
		n -= int64(m)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// seek queues a seek (which leaves a hole when it goes past the end).
func (w *spoolWriter) seek(off int64) { w.ch <- spoolChunk{off: off} }

// close waits for the queued writes and returns the first error.
func (w *spoolWriter) close() error {
	close(w.ch)
	return <-w.errc
}
