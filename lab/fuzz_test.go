package lab

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func FuzzNameservers(f *testing.F) {
	for _, s := range []string{"nameserver 10.0.0.1\nnameserver ::1\n", "nameserver fe80::1%eth0\n", "nameserver\n", "nameserver bogus\n# nameserver 1.1.1.1\n", "\x00nameserver 1.2.3.4"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, a := range Nameservers(b) {
			if !a.IsValid() || !strings.Contains(string(b), "nameserver") {
				t.Fatalf("invalid address %v from %q", a, b)
			}
		}
	})
}

// FuzzParseUDP feeds packets to both packet parsers of the sniffer.
func FuzzParseUDP(f *testing.F) {
	q := new(dns.Msg)
	q.SetQuestion("localhost.", dns.TypeA)
	payload, _ := q.Pack()
	v4 := append([]byte{0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 53, 0x30, 0x39, 0, 53, 0, byte(8 + len(payload)), 0, 0}, payload...)
	f.Add(v4)
	f.Add([]byte{0x60})
	f.Add([]byte{})
	f.Add(append([]byte{0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 53}, make([]byte, 20)...))
	f.Fuzz(func(t *testing.T, p []byte) {
		dst, _, payload, ok := parseUDP(p)
		if ok && (!dst.IsValid() || len(payload) > len(p)) {
			t.Fatalf("bad parse of %x", p)
		}
		if dst, _, ok := parseTCPSyn(p); ok && !dst.IsValid() {
			t.Fatalf("bad TCP parse of %x", p)
		}
	})
}

// FuzzExtractTar feeds arbitrary bytes (seeded with small archives) to the
// extractor: it must never panic nor write outside its root.
func FuzzExtractTar(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "etc/hosts", Mode: 0o644, Size: 5, Typeflag: tar.TypeReg})
	tw.Write([]byte("hello"))
	tw.WriteHeader(&tar.Header{Name: "etc/link", Typeflag: tar.TypeSymlink, Linkname: "../../.."})
	tw.WriteHeader(&tar.Header{Name: "etc/link/x", Mode: 0o644, Typeflag: tar.TypeReg})
	tw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte{0x1f, 0x8b, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		// The whole tree around the root: a sentinel beside it, and every
		// path of the test's temporary area, compared before and after.
		base := t.TempDir()
		root := filepath.Join(base, "root")
		os.Mkdir(root, 0o755)
		os.WriteFile(filepath.Join(base, "sentinel"), []byte("x"), 0o644)
		outside := filepath.Dir(base)
		before := treeOutside(outside, root)
		r, err := openRootFS(root)
		if err != nil {
			t.Fatal(err)
		}
		defer r.close()
		extractTar(r, bytes.NewReader(b), 64<<20) //nolint:errcheck // only safety matters
		if after := treeOutside(outside, root); after != before {
			t.Fatalf("the tree outside the root changed:\n--- before\n%s--- after\n%s", before, after)
		}
	})
}

// treeOutside lists every path under dir except those under root, with
// its type, size and link target.
func treeOutside(dir, root string) string {
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if p == root {
			return fs.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		link, _ := os.Readlink(p)
		fmt.Fprintf(&b, "%s %v %d %s\n", p, info.Mode(), info.Size(), link)
		return nil
	})
	return b.String()
}
