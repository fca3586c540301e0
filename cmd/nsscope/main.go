// Command nsscope tells how a program will resolve host names in the
// environment it actually runs in. See the README and `nsscope help`.
package main

import (
	"context"
	"os"
	"syscall"

	"github.com/nsscope/nsscope/internal/cli"
)

func main() {
	ctx, stop := cli.SignalContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Environ())
	stop()
	os.Exit(code)
}
