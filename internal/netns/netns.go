// Package netns runs code in another network namespace without moving the
// process: one locked OS thread joins the namespace, runs the function and
// returns. Sockets opened there stay in that namespace for their lifetime.
package netns

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs f on a thread that has joined the network namespace at path (a
// /proc/PID/ns/net file or a bind mount of one); "" runs f right here.
func Do(path string, f func() error) error {
	if path == "" {
		return f()
	}
	target, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", path, err)
	}
	defer target.Close()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("join network namespace %s: %w", path, err)
			return
		}
		err = f()
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			// Only a thread back in its own namespace may run other
			// goroutines; otherwise it ends with this one.
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}
