package sniff

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nsscope/nsscope/conf"
)

// DefaultTimeout is the resolver timeout assumed when the sender's
// resolv.conf cannot be read: the default of glibc, musl and Go
// (RES_TIMEOUT, 5 s).
const DefaultTimeout = 5 * time.Second

// maxConfFile caps what is read of a process's configuration file.
const maxConfFile = 1 << 20

// View is what a process's resolver reads: its resolv.conf timeout and
// search list, and the names its /etc/hosts answers. Files are read
// through /proc/PID/root, so a container's own files are the ones seen.
type View struct {
	Timeout time.Duration
	// TimeoutFrom cites where the timeout came from ("" for the default).
	TimeoutFrom string
	Search      []string
	// Hosts holds the names /etc/hosts answers, lower case and rooted.
	Hosts map[string]bool
}

// readView reads the view of the files under root (a /proc/PID/root, or
// "/" for this process's view).
func readView(root string) View {
	rcPath, hPath := filepath.Join(root, "etc", "resolv.conf"), filepath.Join(root, "etc", "hosts")
	rc, _ := readCapped(rcPath)
	hosts, _ := readCapped(hPath)
	return parseView(rcPath, rc, hPath, hosts)
}

// parseView reads a view from the files' contents (nil: missing).
func parseView(rcPath string, rcData []byte, hPath string, hostsData []byte) View {
	v := View{Timeout: DefaultTimeout, Hosts: map[string]bool{}}
	if rcData != nil {
		// glibc's reading: the timeout option and search list read the
		// same in all three implementations for ordinary files.
		rc := conf.ParseResolvConf(conf.Glibc, rcPath, rcData, conf.ResolvOptions{})
		if rc.Timeout.Value > 0 {
			v.Timeout = time.Duration(rc.Timeout.Value) * time.Second
			if rc.Timeout.Pos.Line > 0 {
				v.TimeoutFrom = rcPath + ":" + strconv.Itoa(rc.Timeout.Pos.Line)
			}
		}
		for _, s := range rc.Search {
			v.Search = append(v.Search, strings.ToLower(conf.EnsureRooted(s)))
		}
	}
	for _, e := range conf.ParseHosts(conf.Glibc, hPath, hostsData, conf.HostsOptions{}).Entries {
		for _, n := range e.Names {
			v.Hosts[strings.ToLower(conf.EnsureRooted(n))] = true
		}
	}
	return v
}

func readCapped(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, maxConfFile)
	n, err := f.Read(buf)
	if n > 0 {
		return buf[:n], nil
	}
	return nil, err
}

// Signature says whether a name sent to DNS looks like the incident's:
// a name /etc/hosts answers (it should never have reached DNS), or such a
// name with a search domain appended. It returns "" for neither.
func (v View) Signature(name string) string {
	n := strings.ToLower(conf.EnsureRooted(name))
	if v.Hosts[n] {
		return "in /etc/hosts, sent to DNS"
	}
	for _, s := range v.Search {
		if base, ok := strings.CutSuffix(n, s); ok && strings.HasSuffix(base, ".") && v.Hosts[base] {
			return "search-list expansion of " + strings.TrimSuffix(base, ".") + " (in /etc/hosts)"
		}
	}
	// The search list may not be the one read here (another process's,
	// a pod's): any expansion of a hosts name counts.
	for i := 0; i < len(n)-1; i++ {
		if n[i] == '.' && v.Hosts[n[:i+1]] {
			return "expansion of " + n[:i] + " (in /etc/hosts) with a domain"
		}
	}
	return ""
}
