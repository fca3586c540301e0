package lab

import (
	"bytes"
	"io"
	"os/exec"
	"syscall"
)

func newInitCmd(exe string, args []string, stdin []byte, stdout, stderr io.Writer, attr *syscall.SysProcAttr) *exec.Cmd {
	cmd := exec.Command(exe, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.Env = []string{"PATH=" + DefaultPath}
	cmd.SysProcAttr = attr
	return cmd
}
