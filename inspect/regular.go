package inspect

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// OpenRegular opens path for reading only when it is a regular file
// (following symbolic links). A FIFO, socket or device is refused without
// blocking: the file is opened with O_NONBLOCK, so opening a FIFO that has
// no writer returns at once, and its type is then checked on the open
// descriptor (no window between a stat and the open).
func OpenRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := CheckRegular(path, st.Mode()); err != nil {
		f.Close()
		return nil, err
	}
	// Reads of a regular file never block; clear the flag anyway so the
	// descriptor behaves as an ordinary one.
	if err := syscall.SetNonblock(int(f.Fd()), false); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CheckRegular returns an error naming path and its type unless mode is a
// regular file's.
func CheckRegular(path string, mode fs.FileMode) error {
	if mode.IsRegular() {
		return nil
	}
	return fmt.Errorf("%s: %s, not a regular file: %w", path, FileType(mode), ErrNotRegular)
}

// ErrNotRegular marks an input that is not a regular file.
var ErrNotRegular = fmt.Errorf("not a regular file")

// FileType names the type of a file mode ("a FIFO", "a directory").
func FileType(mode fs.FileMode) string {
	switch {
	case mode.IsDir():
		return "a directory"
	case mode&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a block device"
	case mode&fs.ModeSymlink != 0:
		return "a symbolic link"
	case mode.IsRegular():
		return "a regular file"
	}
	return "an irregular file"
}
