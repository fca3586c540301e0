package sniff

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nsscope/nsscope/lab"
)

// needRoot skips tests that make namespaces and packet sockets.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces and packet sockets")
	}
}

// sniffedRun is a lab run watched by the sniffer from outside its network
// namespace.
type sniffedRun struct {
	res       *lab.Result
	exchanges []Exchange
	sum       *Summary
}

// sniffLab runs spec in a lab and sniffs its network namespace with o.
// The program must wait for goFile to be non-empty before its first
// query: the test writes it once the capture is running, so no query
// can be missed for a late start.
// With release set, the file is written once want exchanges are reported.
func sniffLab(t *testing.T, spec lab.Spec, goFile, release string, want int, o Options) sniffedRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if spec.Root == "" {
		// The host's root is seen read-only with a private /tmp: the
		// test's directory must be shared to carry the go and release files.
		spec.Share = append(spec.Share, filepath.Dir(goFile))
	}
	var run sniffedRun
	var labErr error
	labDone := make(chan struct{})
	started := make(chan int, 1)
	go func() {
		defer close(labDone)
		run.res, labErr = lab.Runner{Started: func(pid int) { started <- pid }}.Run(ctx, spec)
	}()
	var pid int
	select {
	case pid = <-started:
	case <-labDone:
		t.Fatalf("the lab ended before it started: %v", labErr)
	}
	o.Netns = filepath.Join("/proc", strconv.Itoa(pid), "ns", "net")
	o.Ready = func() {
		if err := os.WriteFile(goFile, []byte("go\n"), 0o644); err != nil {
			t.Error(err)
		}
	}
	sctx, stop := context.WithCancel(ctx)
	var mu sync.Mutex
	var sniffErr error
	sniffDone := make(chan struct{})
	go func() {
		defer close(sniffDone)
		run.sum, sniffErr = Run(sctx, o, func(x Exchange) {
			mu.Lock()
			run.exchanges = append(run.exchanges, x)
			n := len(run.exchanges)
			mu.Unlock()
			if release != "" && n == want {
				os.WriteFile(release, []byte("done\n"), 0o644) //nolint:errcheck
			}
		})
	}()
	<-labDone
	stop()
	<-sniffDone
	if labErr != nil {
		t.Fatalf("lab: %v", labErr)
	}
	if sniffErr != nil {
		t.Fatalf("sniff: %v", sniffErr)
	}
	return run
}

// testBinary is this test binary's path, to run as a probe in a lab on
// the host's root.
func testBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}
