package target

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// tmpPrefix starts the name of a target's private temporary directory,
// followed by the owner's PID: "nsscope-1234-567890".
const tmpPrefix = "nsscope-"

// lockName is the file in a temporary directory that its owner holds
// locked (flock) for as long as it runs: the kernel drops the lock when
// the process dies, however it dies, so a directory whose lock can be
// taken belongs to nobody.
const lockName = ".owner.lock"

// makeTemp creates the private temporary directory, locked, after
// removing the directories of runs that were killed before their Close.
func (t *Tree) makeTemp() error {
	dir, lock, err := lockedTemp(t.opts.TempDir)
	if err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	t.tmp, t.tmpLock = dir, lock
	return nil
}

// TempDir creates a private temporary directory under base ("": the
// system's), held locked until remove is called: a run killed before that
// leaves it to be removed by the next run that makes one (the kernel drops
// the lock with the process, however it dies). Directories of runs already
// gone are removed first.
func TempDir(base string) (dir string, remove func(), err error) {
	dir, lock, err := lockedTemp(base)
	if err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir); lock.Close() }, nil
}

// lockedTemp is TempDir's directory and the lock file held open.
func lockedTemp(base string) (string, *os.File, error) {
	if base == "" {
		base = os.TempDir()
	}
	sweepStale(base)
	dir, err := os.MkdirTemp(base, tmpPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", nil, err
	}
	// The lock file is locked under another name and only then renamed
	// into place (the lock stays with the file): a sweep that found
	// lockName created but not yet locked would take the lock and remove a
	// directory in use, as a side-by-side test run showed. Until the
	// rename, a sweep finds no lock file and asks whether the PID lives.
	pending := filepath.Join(dir, lockName+".new")
	lock, err := os.OpenFile(pending, os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o600)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err == nil {
		err = os.Rename(pending, filepath.Join(dir, lockName))
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, lock, nil
}

// sweepStale removes the temporary directories under base left by runs
// that died: their lock is free, or (a directory without a lock file, as
// between its creation and the lock's) their PID is gone.
func sweepStale(base string) {
	ms, _ := filepath.Glob(filepath.Join(base, tmpPrefix+"*-*"))
	for _, m := range ms {
		pidStr, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(m), tmpPrefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 {
			continue // not ours (nsscope-lab-…, or another name)
		}
		if st, err := os.Lstat(m); err != nil || !st.IsDir() || !ownedByMe(st) {
			continue
		}
		if ownerGone(m, pid) {
			os.RemoveAll(m)
		}
	}
}

// ownerGone reports whether the run that made dir has ended.
func ownerGone(dir string, pid int) bool {
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return false
		}
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}
	defer lock.Close()
	// Taking the lock proves the owner gone; it is released by Close.
	return syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}

// ownedByMe reports a directory of this user (never sweep another user's
// directory in a shared /tmp).
func ownedByMe(st os.FileInfo) bool {
	s, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(s.Uid) == os.Getuid()
}
