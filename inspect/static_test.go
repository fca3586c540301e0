package inspect_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/inspect"
)

const resolverC = `#include <netdb.h>
int main(int c, char **v) { struct addrinfo *r; return getaddrinfo(v[1], 0, 0, &r); }
`

const plainC = `#include <stdio.h>
int main(void) { puts("hi"); return 0; }
`

// Static C programs are found when their C library's resolver is linked
// in, and the library is told from its code (issue 9: busybox-musl's wget
// and nslookup were graded as programs that resolve nothing).
func TestStaticCResolver(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		cc, src, libc string
		resolves      bool
	}{
		{"gcc", resolverC, "glibc", true},
		{"gcc", plainC, "glibc", false},
		{"musl-gcc", resolverC, "musl", true},
		{"musl-gcc", plainC, "", false},
	} {
		if _, err := exec.LookPath(tc.cc); err != nil {
			t.Logf("%s not installed: not compared", tc.cc)
			continue
		}
		src := filepath.Join(dir, "p.c")
		os.WriteFile(src, []byte(tc.src), 0o644)
		bin := filepath.Join(dir, tc.cc+"-"+map[bool]string{true: "r", false: "n"}[tc.resolves])
		if out, err := exec.Command(tc.cc, "-static", "-O1", "-o", bin, src).CombinedOutput(); err != nil {
			t.Logf("%s -static failed (no static library?): %v %s", tc.cc, err, out)
			continue
		}
		b, err := inspect.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		if !b.Static || b.Libc != tc.libc || b.ResolvesNames() != tc.resolves {
			t.Errorf("%s: static %v libc %q (%s) resolves %v (%s); want libc %q resolves %v",
				bin, b.Static, b.Libc, b.LibcEvidence, b.ResolvesNames(), b.StaticResolver, tc.libc, tc.resolves)
		}
		if tc.resolves && !strings.Contains(b.StaticResolver, "/etc/resolv.conf") {
			t.Errorf("%s: evidence %q", bin, b.StaticResolver)
		}
	}
}
