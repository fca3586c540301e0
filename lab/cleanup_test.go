package lab

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsscope/nsscope/model"
)

// requireRoot skips tests that create namespaces unless running as root
// (CI runs as root; the rootless path is tested from root too).
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create namespaces (CI runs as root)")
	}
}

// proc is one process as /proc shows it.
type proc struct {
	pid, ppid int
	state     string
}

func procs(t testing.TB) []proc {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		out = append(out, proc{pid: pid, ppid: ppid, state: f[0]})
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}

// inNetns lists live processes whose network namespace is ns.
func inNetns(ns string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/net"); err == nil && l == ns {
			pid, _ := strconv.Atoi(e.Name())
			if alive(pid) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

func netnsNames() string {
	ents, _ := os.ReadDir("/run/netns")
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// TestNothingOutlivesLab kills a lab mid-run (SIGKILL, which it cannot
// catch, and SIGINT) and checks that its init, the program, the network
// namespace and every mount are gone, and no named netns appeared.
func TestNothingOutlivesLab(t *testing.T) {
	requireRoot(t)
	for _, c := range []struct {
		sig      syscall.Signal
		rootless bool
	}{{syscall.SIGKILL, false}, {syscall.SIGINT, false}, {syscall.SIGKILL, true}} {
		sig := c.sig
		t.Run(fmt.Sprintf("%s/rootless=%v", unixSignalName(sig), c.rootless), func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			spec := Spec{
				Nameservers: DefaultNameservers(3),
				Scenario:    model.Scenario{Servers: []model.Behavior{{Kind: model.Silent}}},
				Hosts:       &model.File{Data: []byte("127.0.0.1 localhost\n")},
				NSSwitch:    &model.File{Missing: true},
				Argv:        []string{"/bin/sleep", "60"},
				TempDir:     tmp,
				Rootless:    c.rootless,
			}
			spec.ResolvConf = &model.File{Data: ResolvConf(spec.Nameservers, "", "timeout:30")}
			js, _ := json.Marshal(spec)
			mountsBefore, _ := os.ReadFile("/proc/self/mounts")
			netnsBefore := netnsNames()

			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), envRunSpec+"="+string(js))
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lab := cmd.Process.Pid
			var initPid, progPid int
			deadline := time.Now().Add(10 * time.Second)
			for progPid == 0 && time.Now().Before(deadline) {
				for _, p := range procs(t) {
					if p.ppid == lab {
						initPid = p.pid
					}
				}
				for _, p := range procs(t) {
					if initPid != 0 && p.ppid == initPid {
						progPid = p.pid
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
			if progPid == 0 {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatal("the lab's program never started")
			}
			ns, err := os.Readlink("/proc/" + strconv.Itoa(initPid) + "/ns/net")
			if err != nil {
				t.Fatal(err)
			}
			if host, _ := os.Readlink("/proc/self/ns/net"); host == ns {
				t.Fatalf("the init runs in the host's network namespace %s", ns)
			}
			if got := inNetns(ns); len(got) < 2 {
				t.Fatalf("processes in the lab's netns %s: %v, want the init and the program", ns, got)
			}
			cmd.Process.Signal(sig)
			cmd.Wait()

			var leftovers []string
			for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				leftovers = nil
				if alive(initPid) {
					leftovers = append(leftovers, "init process "+strconv.Itoa(initPid))
				}
				if alive(progPid) {
					leftovers = append(leftovers, "program process "+strconv.Itoa(progPid))
				}
				if ps := inNetns(ns); len(ps) > 0 {
					leftovers = append(leftovers, "processes in the lab's network namespace")
				}
				if len(leftovers) == 0 {
					break
				}
			}
			if len(leftovers) > 0 {
				t.Fatalf("left behind after %s: %s", unixSignalName(sig), strings.Join(leftovers, ", "))
			}
			if m, _ := os.ReadFile("/proc/self/mounts"); string(m) != string(mountsBefore) {
				t.Errorf("host mounts changed:\nbefore:\n%s\nafter:\n%s", mountsBefore, m)
			}
			if n := netnsNames(); n != netnsBefore {
				t.Errorf("named network namespaces changed: %q -> %q", netnsBefore, n)
			}
			ents, _ := os.ReadDir(tmp)
			for _, e := range ents {
				sub, _ := os.ReadDir(filepath.Join(tmp, e.Name()))
				if len(sub) > 0 {
					t.Errorf("temp dir %s has files after the run: %v", e.Name(), sub)
				}
			}
			if sig == syscall.SIGINT && len(ents) > 0 {
				t.Errorf("after SIGINT the lab left %d entries in its temp dir", len(ents))
			}
			if sig == syscall.SIGKILL {
				// An empty mount point may remain; the next run sweeps it.
				sweepStale(tmp)
				if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
					t.Errorf("stale empty directories not swept: %v", ents)
				}
			}
		})
	}
}

func unixSignalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGINT:
		return "SIGINT"
	}
	return s.String()
}
