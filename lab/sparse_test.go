package lab

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/model"
)

// sparseTar writes a root archive holding /big, a sparse file of size
// bytes whose only data is its last byte (a PAX 1.0 sparse entry, as GNU
// tar writes them), and /big2, a hard link to it (issue 12.7: such an
// archive of a few kilobytes made the lab read 1.5 GiB into memory and
// fill 3 GiB of tmpfs).
func sparseTar(t *testing.T, size int64) []byte {
	t.Helper()
	// archive/tar writes no sparse files: the PAX headers are made here.
	var buf bytes.Buffer
	block := func(b []byte) {
		buf.Write(b)
		if pad := len(b) % 512; pad != 0 {
			buf.Write(make([]byte, 512-pad))
		}
	}
	records := ""
	for _, kv := range [][2]string{{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"}, {"GNU.sparse.name", "big"}, {"GNU.sparse.realsize", strconv.FormatInt(size, 10)}} {
		rec := " " + kv[0] + "=" + kv[1] + "\n"
		n := len(rec) + 1
		for len(strconv.Itoa(n))+len(rec) != n {
			n++
		}
		records += strconv.Itoa(n) + rec
	}
	sparseMap := make([]byte, 512)
	copy(sparseMap, "1\n"+strconv.FormatInt(size-1, 10)+"\n1\n")
	data := append(sparseMap, 'x')
	block(ustarHeader("PaxHeaders/big", 'x', int64(len(records)), ""))
	block([]byte(records))
	block(ustarHeader("GNUSparseFile.0/big", '0', int64(len(data)), ""))
	block(data)
	block(ustarHeader("big2", '1', 0, "big"))
	buf.Write(make([]byte, 1024))
	return buf.Bytes()
}

// ustarHeader is one 512-byte ustar header block.
func ustarHeader(name string, flag byte, size int64, link string) []byte {
	h := make([]byte, 512)
	copy(h[0:], name)
	copy(h[100:], "0000644\x00")
	copy(h[108:], "0000000\x00")
	copy(h[116:], "0000000\x00")
	copy(h[124:], fmt.Sprintf("%011o\x00", size))
	copy(h[136:], "00000000000\x00")
	h[156] = flag
	copy(h[157:], link)
	copy(h[257:], "ustar\x0000")
	copy(h[148:], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	return h
}

// TestSparseAndHardLinkRoot unpacks a 256 MiB sparse file and a hard link
// to it into a root whose tmpfs is bounded to 16 MiB: it fits, as a hole
// and one inode with two links. Copied whole (or linked by copy) it could
// not.
func TestSparseAndHardLinkRoot(t *testing.T) {
	requireRoot(t)
	const size = 256 << 20
	tarball := filepath.Join(t.TempDir(), "sparse.tar")
	if err := os.WriteFile(tarball, sparseTar(t, size), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(tarball)
	t.Logf("archive: %d bytes for a %d-byte file and its hard link", st.Size(), size)
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.53")}
	spec := Spec{
		Root: tarball, Nameservers: addrs, Scenario: model.Scenario{Servers: []model.Behavior{{Kind: model.NXDomain}}},
		ResolvConf: &model.File{Data: ResolvConf(addrs, "", "")}, Hosts: &model.File{Data: []byte("127.0.0.1 localhost\n")}, NSSwitch: &model.File{Missing: true},
		Add:       []Add{{Src: buildStat(t), Dst: "/bin/stat"}},
		Argv:      []string{"/bin/stat", "/big", "/big2"},
		Env:       []string{"PATH=" + DefaultPath},
		TmpfsSize: 16 << 20,
		Timeout:   2 * time.Minute,
	}
	res, err := Runner{}.Run(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range res.Output {
		lines = append(lines, l.Text)
	}
	if res.ExitCode != 0 || len(lines) != 2 {
		t.Fatalf("stat: exit %d, output %q", res.ExitCode, lines)
	}
	a, b := strings.Fields(lines[0]), strings.Fields(lines[1])
	if len(a) != 5 || len(b) != 5 {
		t.Fatalf("stat output %q", lines)
	}
	if a[1] != strconv.Itoa(size) {
		t.Errorf("/big is %s bytes, want %d", a[1], size)
	}
	if blocks, _ := strconv.Atoi(a[2]); blocks > 1024 { // 512 KiB; the whole file would be 524288
		t.Errorf("/big occupies %d blocks, want a hole (a few blocks)", blocks)
	}
	if a[3] != "2" || a[4] != b[4] {
		t.Errorf("/big and /big2: links %s, inodes %s and %s; want one inode with 2 links", a[3], a[4], b[4])
	}
}

// buildStat builds a static program that prints "name size blocks links
// inode" for each argument.
func buildStat(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := `package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	for _, p := range os.Args[1:] {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			fmt.Println(p, err)
			os.Exit(1)
		}
		fmt.Println(p, st.Size, st.Blocks, st.Nlink, st.Ino)
	}
}
`
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module stat\n\ngo 1.21\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644)
	out := filepath.Join(dir, "stat")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build stat: %v\n%s", err, b)
	}
	return out
}

// TestRootTooLargeForTmpfs: a root whose data exceeds the tmpfs bound is
// refused with an input error naming the bound and the flag.
func TestRootTooLargeForTmpfs(t *testing.T) {
	requireRoot(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := bytes.Repeat([]byte("nsscope "), 1<<18) // 2 MiB, not zeros
	tw.WriteHeader(&tar.Header{Name: "data", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))})
	tw.Write(data)
	tw.Close()
	tarball := filepath.Join(t.TempDir(), "big.tar")
	os.WriteFile(tarball, buf.Bytes(), 0o644)
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.53")}
	_, err := Runner{}.Run(context.Background(), Spec{
		Root: tarball, Nameservers: addrs, Scenario: model.Scenario{Servers: []model.Behavior{{Kind: model.NXDomain}}},
		ResolvConf: &model.File{Data: ResolvConf(addrs, "", "")},
		Argv:       []string{"/data"}, TmpfsSize: 1 << 20,
	})
	if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), "--tmpfs-size") {
		t.Errorf("error %v, want an input error naming --tmpfs-size", err)
	}
}
