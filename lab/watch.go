package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsscope/nsscope/model"
)

// FileEvent is the last time the program read one of the configuration
// files (it shows, for instance, the moment a resolver falls back to
// /etc/hosts).
type FileEvent struct {
	Offset model.Seconds `json:"offset_seconds"`
	Path   string        `json:"path"`
}

// watchedFiles are the files whose reads the timeline shows.
var watchedFiles = []string{"/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/hosts"}

// pinFiles puts a copy of each watched file that exists in the root into
// the run's tmpfs (mounted with strictatime: every read sets the access
// time) and binds it over the file, so reads are timed whatever the root
// is (through an overlay they would not be). It returns the copies' paths.
func pinFiles(r *rootFS, work string) ([]string, error) {
	dir := filepath.Join(work, "pinned")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	var copies []string
	for _, p := range watchedFiles {
		data, err := r.readFile(p, 1<<20)
		if err != nil {
			continue // missing or unreadable: the program gets the same
		}
		cp := filepath.Join(dir, filepath.Base(p))
		if err := os.WriteFile(cp, data, 0o644); err != nil {
			return nil, err
		}
		fd, err := r.open(p, unix.O_PATH, 0)
		if err != nil {
			return nil, err
		}
		err = unix.Mount(cp, fmt.Sprintf("/proc/self/fd/%d", fd), "", unix.MS_BIND, "")
		unix.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("bind %s: %w", p, err)
		}
		copies = append(copies, cp)
	}
	return copies, nil
}

// resetReads sets the copies' access times to the epoch just before the
// program starts, so any later access time is the program's read.
func resetReads(copies []string) {
	ts := []unix.Timespec{{Sec: 0, Nsec: 0}, {Nsec: unix.UTIME_OMIT}}
	for _, c := range copies {
		unix.UtimesNanoAt(unix.AT_FDCWD, c, ts, 0) //nolint:errcheck // then no event is shown
	}
}

// lastReads returns, for each watched file the program read, the time of
// its last read: the access time of its pinned copy, set by the kernel's
// coarse clock (a few milliseconds; a read in the program's first moments
// may show as +0.000s). Reading an access time costs nothing, where watching
// with inotify costs an RCU grace period (about 10ms) when the watch is
// torn down.
func lastReads(r *rootFS, t0 time.Time) []FileEvent {
	var evs []FileEvent
	for _, p := range watchedFiles {
		st, err := r.stat(p)
		if err != nil {
			continue
		}
		if st.Atim.Sec == 0 {
			continue // not read since the program started
		}
		at := time.Unix(st.Atim.Sec, st.Atim.Nsec)
		evs = append(evs, FileEvent{Offset: model.Seconds(max(at.Sub(t0), 0)), Path: p})
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].Offset < evs[j].Offset })
	return evs
}
