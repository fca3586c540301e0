package lab

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
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
// extractor: it must never panic nor write outside its root. As root, each
// input is extracted by a child in its own mount namespace where every
// mount of this machine is read-only and only the root (a fresh tmpfs) can
// be written: any attempt to create, link or write a file anywhere outside
// it, whatever path it takes, fails with EROFS, and the child reports it.
// Without root, the tree around the root is compared before and after.
func FuzzExtractTar(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "etc/hosts", Mode: 0o644, Size: 5, Typeflag: tar.TypeReg})
	tw.Write([]byte("hello"))
	tw.WriteHeader(&tar.Header{Name: "etc/link", Typeflag: tar.TypeSymlink, Linkname: "../../.."})
	tw.WriteHeader(&tar.Header{Name: "etc/link/x", Mode: 0o644, Typeflag: tar.TypeReg})
	tw.WriteHeader(&tar.Header{Name: "abs", Typeflag: tar.TypeSymlink, Linkname: "/tmp"})
	tw.WriteHeader(&tar.Header{Name: "abs/nsscope-fuzz-escape", Mode: 0o644, Typeflag: tar.TypeReg})
	tw.WriteHeader(&tar.Header{Name: "hard", Typeflag: tar.TypeLink, Linkname: "/etc/hostname"})
	tw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte{0x1f, 0x8b, 0, 0})
	readOnlyWorld := os.Geteuid() == 0
	f.Fuzz(func(t *testing.T, b []byte) {
		base := t.TempDir()
		root := filepath.Join(base, "root")
		os.Mkdir(root, 0o755)
		if readOnlyWorld {
			extractReadOnly(t, root, b)
			return
		}
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

// envExtractReadOnly makes the test binary extract its standard input
// into the directory the variable names, in a read-only world (see
// extractInReadOnlyWorld).
const envExtractReadOnly = "NSSCOPE_LAB_TEST_EXTRACT_READONLY"

// extractReadOnly runs the extraction of b into root in a child with its
// own mount namespace and fails the test when the child saw a write
// outside the root.
func extractReadOnly(t *testing.T, root string, b []byte) {
	t.Helper()
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), envExtractReadOnly+"="+root)
	cmd.Stdin = bytes.NewReader(b)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		t.Fatalf("the extractor wrote outside its root: %s", out.String())
	default:
		t.Fatalf("extractor child: %v: %s", err, out.String())
	}
}

// extractInReadOnlyWorld is the child's body: in its private mount
// namespace it remounts every mount read-only, mounts a tmpfs at root,
// extracts standard input there, and exits 1 if the extraction met a
// read-only file system (it tried to write outside the root), 2 if the
// world could not be made read-only, 0 otherwise.
func extractInReadOnlyWorld(root string, in io.Reader, out io.Writer) int {
	data, err := io.ReadAll(in)
	if err != nil {
		fmt.Fprintln(out, err)
		return 2
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Fprintln(out, "make mounts private:", err)
		return 2
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		fmt.Fprintln(out, err)
		return 2
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountPath(fields[4])
		var st unix.Statfs_t
		if unix.Statfs(mp, &st) != nil {
			continue // gone, or hidden under a later mount
		}
		flags := uintptr(unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY) | uintptr(st.Flags)&(unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_NOATIME|unix.MS_NODIRATIME|unix.MS_RELATIME)
		if err := unix.Mount("", mp, "", flags, ""); err != nil && (mp == "/" || strings.HasPrefix(root, mp+"/")) {
			fmt.Fprintf(out, "remount %s read-only: %v\n", mp, err)
			return 2
		}
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(root), "probe"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		fmt.Fprintf(out, "the world is not read-only: writing beside the root gave %v\n", err)
		return 2
	}
	if err := unix.Mount("tmpfs", root, "tmpfs", 0, "size=96m"); err != nil {
		fmt.Fprintln(out, "tmpfs:", err)
		return 2
	}
	r, err := openRootFS(root)
	if err != nil {
		fmt.Fprintln(out, err)
		return 2
	}
	defer r.close()
	err = extractTar(r, bytes.NewReader(data), 64<<20)
	if err != nil && (errors.Is(err, unix.EROFS) || strings.Contains(err.Error(), unix.EROFS.Error())) {
		fmt.Fprintln(out, err)
		return 1
	}
	return 0
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
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
