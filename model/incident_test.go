package model

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sharedData returns ../shared/data relative to the module root, or skips.
func sharedData(t testing.TB) string {
	t.Helper()
	d := filepath.Join("..", "..", "shared", "data")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("shared data not found at %s", d)
	}
	return d
}

// tarFile reads one file from a .tar.gz.
func tarFile(t testing.TB, tgz, name string) []byte {
	t.Helper()
	f, err := os.Open(tgz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s not in %s", name, tgz)
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "./") == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

const (
	nodeResolv   = "nameserver 10.222.0.3\nnameserver 10.222.0.4\nnameserver 10.222.0.5\n"
	nodeResolv2  = "nameserver 10.222.0.3\nnameserver 10.222.0.4\n"
	searchResolv = "search kube-system.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.222.0.3\nnameserver 10.222.0.4\nnameserver 10.222.0.5\noptions ndots:5\n"
)

func alpine313(t testing.TB, resolv string) Env {
	hosts := tarFile(t, filepath.Join(sharedData(t), "rootfs", "alpine-minirootfs-3.13.12-x86_64.tar.gz"), "etc/hosts")
	return Env{
		ResolvConf: File{Path: PathResolvConf, Origin: "node:/etc/resolv.conf", Data: []byte(resolv)},
		NSSwitch:   File{Path: PathNSSwitch, Missing: true, Origin: "alpine-minirootfs-3.13.12:/etc/nsswitch.conf"},
		Hosts:      File{Path: PathHosts, Origin: "alpine-minirootfs-3.13.12:/etc/hosts", Data: hosts},
	}
}

func goStatic(v string) Program {
	ver, _ := ParseVersion(v)
	return Program{Impl: ImplGo, Go: GoBuild{Version: ver}}
}

var allSilent = Scenario{Servers: []Behavior{{Kind: Silent}}}

func TestIncidentByModel(t *testing.T) {
	dial30 := Request{Name: "localhost", Network: "tcp", Dial: true, Deadline: Seconds(30 * time.Second)}
	cases := []struct {
		name      string
		env       Env
		prog      Program
		req       Request
		order     string
		queries   int
		cands     int
		dns, tot  time.Duration
		from, err string
	}{
		{"go1.15 3 silent servers, dial 30s", alpine313(t, nodeResolv), goStatic("1.15"), dial30,
			"dns,files", 12, 1, 30 * time.Second, 30 * time.Second, "none", "dial tcp: i/o timeout"},
		{"go1.15 2 silent servers, dial 30s", alpine313(t, nodeResolv2), goStatic("1.15"), dial30,
			"dns,files", 8, 1, 20 * time.Second, 20 * time.Second, "hosts", ""},
		{"go1.15 search+ndots:5, no deadline", alpine313(t, searchResolv), goStatic("1.15"), Request{Name: "localhost", Network: "tcp", Dial: true},
			"dns,files", 48, 4, 120 * time.Second, 120 * time.Second, "hosts", ""},
		{"go1.16 no nsswitch", alpine313(t, searchResolv), goStatic("1.16"), dial30,
			"files,dns", 0, 4, 0, 0, "hosts", ""},
		{"go1.18 3 silent, dial 30s", alpine313(t, nodeResolv), goStatic("1.18"), dial30,
			"files,dns", 0, 1, 0, 0, "hosts", ""},
		{"glibc 2.31 search list, absent name", alpine313(t, searchResolv), Program{Impl: ImplGlibc, Libc: Libc{Kind: "glibc", Version: V(2, 31, 0)}}, Request{Name: "kubernetes.default", Network: "tcp"},
			"dns [!UNAVAIL=return] files", 24, 2, 56 * time.Second, 56 * time.Second, "none", `getaddrinfo("kubernetes.default"): Name or service not known`},
		{"musl search list, absent name", alpine313(t, searchResolv), Program{Impl: ImplMusl, Libc: Libc{Kind: "musl", Version: V(1, 2, 3)}}, Request{Name: "kubernetes.default", Network: "tcp"},
			"files,dns", 12, 1, 5 * time.Second, 5 * time.Second, "none", `getaddrinfo("kubernetes.default"): Try again`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Predict(c.env, c.prog, c.req, allSilent)
			if err != nil {
				t.Fatal(err)
			}
			if p.Order != c.order || p.Queries != c.queries || len(p.Candidates) != c.cands || p.DNS.Duration() != c.dns || p.Total.Duration() != c.tot || p.AnsweredFrom != c.from || p.Error != c.err {
				t.Errorf("got order=%q queries=%d cands=%d dns=%s total=%s from=%s err=%q\nwant order=%q queries=%d cands=%d dns=%s total=%s from=%s err=%q",
					p.Order, p.Queries, len(p.Candidates), p.DNS, p.Total, p.AnsweredFrom, p.Error,
					c.order, c.queries, c.cands, c.dns, c.tot, c.from, c.err)
				for _, s := range p.Steps {
					t.Logf("step %s=%s: %s", s.Key, s.Value, s.Reason)
				}
			}
		})
	}
}
