package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// Signalled is the cause of a context cancelled by a signal (see
// SignalContext). A verb that ends because of it exits 128 + the
// signal's number, as a shell reports a command killed by it (130 for
// SIGINT, 143 for SIGTERM), with a one-line reason.
type Signalled struct{ Sig syscall.Signal }

func (s Signalled) Error() string { return "stopped by " + unix.SignalName(s.Sig) }

// Is makes a Signalled cause match context.Canceled, as the context's
// own error does.
func (s Signalled) Is(target error) bool { return target == context.Canceled }

// SignalContext returns a context cancelled, with a Signalled cause, at
// the first of sigs to arrive; stop releases the handler (a second
// signal then has its default effect).
func SignalContext(parent context.Context, sigs ...os.Signal) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		select {
		case s := <-ch:
			if sig, ok := s.(syscall.Signal); ok {
				cancel(Signalled{Sig: sig})
			} else {
				cancel(fmt.Errorf("%v received", s))
			}
		case <-ctx.Done():
		}
		signal.Stop(ch)
	}()
	return ctx, func() { signal.Stop(ch); cancel(nil) }
}

// signalExit reports the exit code and reason of a verb that returned
// err after ctx was cancelled by a signal.
func signalExit(ctx context.Context, err error) (int, string, bool) {
	var s Signalled
	if err == nil || ctx.Err() == nil || !errors.As(context.Cause(ctx), &s) {
		return 0, "", false
	}
	return 128 + int(s.Sig), s.Error(), true
}
