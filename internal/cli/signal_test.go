package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLabStopsOnSignal runs a lab whose program would sleep for minutes,
// signals the process, and sees the verb stop within seconds with 128 +
// the signal's number and one line naming it, leaving no run directory.
// (SIGUSR1 stands in for SIGINT and SIGTERM, which would stop the test
// binary's other tests' children too.)
func TestLabStopsOnSignal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create namespaces")
	}
	tmp := t.TempDir()
	ctx, stop := SignalContext(context.Background(), syscall.SIGUSR1)
	defer stop()
	go func() {
		time.Sleep(500 * time.Millisecond)
		syscall.Kill(os.Getpid(), syscall.SIGUSR1) //nolint:errcheck
	}()
	var out, errb bytes.Buffer
	start := time.Now()
	code := Main(ctx, []string{"lab", "--tmp", tmp, "--", "/bin/sleep", "600"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, nil)
	if took := time.Since(start); took > time.Minute {
		t.Errorf("took %s to stop", took)
	}
	if want := 128 + int(syscall.SIGUSR1); code != want {
		t.Errorf("exit %d, want %d; stderr %q", code, want, errb.String())
	}
	if msg := errb.String(); msg != "nsscope lab: stopped by SIGUSR1\n" {
		t.Errorf("stderr %q, want one line naming the signal", msg)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("left in --tmp: %v", ents)
	}
}
