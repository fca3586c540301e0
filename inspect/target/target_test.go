package target_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/inspect/target"
	ti "github.com/nsscope/nsscope/internal/testimage"
)

func open(t *testing.T, spec string, opts target.Options) *target.Tree {
	t.Helper()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	tg, err := target.Open(context.Background(), spec, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", spec, err)
	}
	t.Cleanup(func() {
		if err := tg.Close(); err != nil {
			t.Error(err)
		}
		// Nothing may be left behind in the temporary directory.
		left, _ := os.ReadDir(opts.TempDir)
		if len(left) != 0 {
			t.Errorf("temporary directory not empty after Close: %v", left)
		}
	})
	return tg
}

func readFile(t *testing.T, tg *target.Tree, name string) (string, error) {
	t.Helper()
	b, err := fs.ReadFile(tg.FS(), name)
	return string(b), err
}

// The four rootfs tarballs of the shared data: C library release and
// nsswitch.conf presence.
func TestRootfsTarballs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file     string
		libc     string
		nsswitch bool
		static   bool // busybox is static
	}{
		{ti.Alpine313, "musl 1.2.2", false, false},
		{ti.Alpine316, "musl 1.2.3", true, false},
		{ti.BusyboxMusl, "", false, true},
		{ti.BusyboxGlib, "glibc 2.41", true, false},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			tg := open(t, ti.Rootfs(t, c.file), target.Options{})
			d := tg.Description()
			if d.Kind != target.KindRootfsTar || d.Compression != "gzip" {
				t.Errorf("description %+v", d)
			}
			var got []string
			for _, l := range tg.Libc() {
				got = append(got, l.Kind+" "+l.Version)
			}
			if strings.Join(got, ",") != c.libc {
				t.Errorf("libc = %v, want %q", got, c.libc)
			}
			_, err := readFile(t, tg, "etc/nsswitch.conf")
			if (err == nil) != c.nsswitch {
				t.Errorf("nsswitch.conf readable = %v, want %v (%v)", err == nil, c.nsswitch, err)
			}
			e, ok := tg.Lookup("/bin/busybox")
			if !ok {
				// busybox glibc has /bin/[ as the real file
				e, ok = tg.Lookup("/bin/[")
			}
			if !ok || e.Binary == nil {
				t.Fatalf("busybox not inspected: %+v", e)
			}
			if e.Binary.Static != c.static {
				t.Errorf("busybox static = %v", e.Binary.Static)
			}
			if cfg := tg.Config(); cfg.Present {
				t.Errorf("a rootfs tarball has no config: %+v", cfg)
			}
		})
	}
}

// imageCase builds the image of the scan acceptance tests: a rootfs
// layer, a layer with the Go 1.15 esbuild as entrypoint.
func testImage(t *testing.T) v1.Image {
	t.Helper()
	base := ti.RootfsLayer(t, ti.Rootfs(t, ti.Alpine313))
	app := ti.FileLayer(t, map[string]ti.File{
		"usr/local/bin/esbuild": {FromFile: ti.Binary(t, ti.Esbuild115)},
		"usr/local/bin/app":     {Link: "esbuild"},
		"etc/motd":              {Data: []byte("changed\n")},
	})
	return ti.Image(t, ti.Config{
		Entrypoint: []string{"app"},
		Cmd:        []string{"--version"},
		Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin", "GODEBUG=netdns=go+2"},
		User:       "65534",
	}, base, app)
}

func checkImage(t *testing.T, tg *target.Tree, kind target.Kind) {
	t.Helper()
	d := tg.Description()
	if d.Kind != kind || len(d.Layers) != 2 || d.Platform != "linux/amd64" {
		t.Errorf("description %+v", d)
	}
	cfg := tg.Config()
	if v, ok := cfg.Getenv("GODEBUG"); !ok || v != "netdns=go+2" || cfg.User != "65534" {
		t.Errorf("config %+v", cfg)
	}
	m, ok := tg.Main()
	if !ok || m.Path != "/usr/local/bin/esbuild" || m.Entry == nil || m.Entry.Binary == nil || m.Entry.Binary.Go == nil {
		t.Fatalf("main %+v", m)
	}
	if v := m.Entry.Binary.Go.Version; v != "go1.15.7" {
		t.Errorf("main Go version %s", v)
	}
	if !slices.Equal(m.Argv, []string{"app", "--version"}) {
		t.Errorf("argv %v", m.Argv)
	}
	if s, err := readFile(t, tg, "etc/motd"); err != nil || s != "changed\n" {
		t.Errorf("upper layer file: %q %v", s, err)
	}
	// A file that was not kept in memory is read from its layer again.
	if s, err := readFile(t, tg, "etc/apk/world"); err != nil || !strings.Contains(s, "busybox") {
		t.Errorf("lazy read: %q %v", s, err)
	}
	if s, err := readFile(t, tg, "lib/apk/db/installed"); err != nil || !strings.Contains(s, "P:musl") {
		t.Errorf("lazy read of a non-kept file: %.40q %v", s, err)
	}
	progs, err := tg.Programs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var goProgs []string
	for _, p := range progs {
		if p.Binary != nil && p.Binary.Go != nil {
			goProgs = append(goProgs, p.Path)
		}
	}
	if !slices.Equal(goProgs, []string{"/usr/local/bin/esbuild"}) {
		t.Errorf("Go programs %v", goProgs)
	}
}

func TestImageFormats(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	t.Run("docker-save", func(t *testing.T) {
		t.Parallel()
		p := ti.DockerSave(t, img, t.TempDir(), "example.com/app:1")
		tg := open(t, p, target.Options{})
		checkImage(t, tg, target.KindDockerSave)
		if tg.Description().Ref != "example.com/app:1" {
			t.Errorf("ref %q", tg.Description().Ref)
		}
	})
	t.Run("oci-dir", func(t *testing.T) {
		t.Parallel()
		checkImage(t, open(t, ti.OCILayout(t, t.TempDir(), img), target.Options{}), target.KindOCILayout)
	})
	t.Run("oci-tar", func(t *testing.T) {
		t.Parallel()
		checkImage(t, open(t, ti.OCIArchive(t, t.TempDir(), img), target.Options{}), target.KindOCIArchive)
	})
	t.Run("registry", func(t *testing.T) {
		t.Parallel()
		host := ti.Registry(t)
		ti.Push(t, img, host+"/app:1")
		checkImage(t, open(t, host+"/app:1", target.Options{Insecure: true}), target.KindRegistry)
		ref := ti.Push(t, img, host+"/app:2")
		tg := open(t, ref, target.Options{Insecure: true})
		checkImage(t, tg, target.KindRegistry)
		if d, _ := img.Digest(); tg.Description().Digest != d.String() {
			t.Errorf("digest %s, want %s", tg.Description().Digest, d)
		}
	})
}

// A multi-platform index: --platform picks the image.
func TestPlatform(t *testing.T) {
	t.Parallel()
	mk := func(arch, marker string) v1.Image {
		return ti.Image(t, ti.Config{Arch: arch, Cmd: []string{"/x"}},
			ti.FileLayer(t, map[string]ti.File{"etc/arch": {Data: []byte(marker)}}))
	}
	amd, arm := mk("amd64", "A"), mk("arm64", "B")
	host := ti.Registry(t)
	ti.PushIndex(t, host+"/multi:1", arm, amd)
	layoutDir := ti.OCILayout(t, t.TempDir(), arm, amd)
	for _, spec := range []string{host + "/multi:1", layoutDir} {
		for _, c := range []struct{ plat, want string }{{"", "A"}, {"linux/amd64", "A"}, {"linux/arm64", "B"}} {
			tg := open(t, spec, target.Options{Platform: c.plat, Insecure: true})
			if s, err := readFile(t, tg, "etc/arch"); err != nil || s != c.want {
				t.Errorf("%s platform %q: got %q %v, want %s", spec, c.plat, s, err, c.want)
			}
		}
		_, err := target.Open(context.Background(), spec, target.Options{Platform: "linux/s390x", Insecure: true, TempDir: t.TempDir()})
		if err == nil {
			t.Errorf("%s: a platform not in the index must fail", spec)
		}
	}
}

// Whiteouts and opaque directories hide lower content; a later layer
// overrides an earlier one.
func TestWhiteouts(t *testing.T) {
	t.Parallel()
	l1 := ti.FileLayer(t, map[string]ti.File{
		"etc/nsswitch.conf": {Data: []byte("hosts: files dns\n")},
		"etc/hosts":         {Data: []byte("old\n")},
		"opt/d/a":           {Data: []byte("a")},
		"opt/d/b":           {Data: []byte("b")},
		"opt/keep":          {Data: []byte("k")},
	})
	l2 := ti.FileLayer(t, map[string]ti.File{
		"etc/.wh.nsswitch.conf": {},
		"etc/hosts":             {Data: []byte("new\n")},
		"opt/d/.wh..wh..opq":    {},
		"opt/d/c":               {Data: []byte("c")},
	})
	img := ti.Image(t, ti.Config{}, l1, l2)
	tg := open(t, ti.OCILayout(t, t.TempDir(), img), target.Options{})
	if _, err := readFile(t, tg, "etc/nsswitch.conf"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("whited-out file: %v", err)
	}
	if s, _ := readFile(t, tg, "etc/hosts"); s != "new\n" {
		t.Errorf("hosts %q", s)
	}
	ents, err := fs.ReadDir(tg.FS(), "opt/d")
	if err != nil || len(ents) != 1 || ents[0].Name() != "c" {
		t.Errorf("opaque dir: %v %v", ents, err)
	}
	if _, err := readFile(t, tg, "opt/keep"); err != nil {
		t.Errorf("sibling of opaque dir: %v", err)
	}
}

// Symbolic links resolve inside the root: absolute targets restart at the
// root, ".." stops there, loops are reported.
func TestSymlinks(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("host file"), 0o644)
	rootfs := writeTar(t, ti.TarBytes(t, map[string]ti.File{
		"etc/resolv.conf":            {Link: "../run/resolvconf/resolv.conf"},
		"run/resolvconf/resolv.conf": {Data: []byte("nameserver 10.0.0.1\n")},
		"etc/hosts":                  {Link: "/../../../../.." + secret},
		"etc/abs":                    {Link: "/run/resolvconf/resolv.conf"},
		"etc/up":                     {Link: "../../../../../run/resolvconf/resolv.conf"},
		"etc/loop1":                  {Link: "loop2"},
		"etc/loop2":                  {Link: "/etc/loop1"},
		"etc/self":                   {Link: "self"},
		"bin/sh":                     {Data: []byte("#!/bin/busybox\n"), Mode: 0o755},
	}))
	tg := open(t, rootfs, target.Options{})
	for _, name := range []string{"etc/resolv.conf", "etc/abs", "etc/up"} {
		if s, err := readFile(t, tg, name); err != nil || s != "nameserver 10.0.0.1\n" {
			t.Errorf("%s: %q %v", name, s, err)
		}
	}
	if s, err := readFile(t, tg, "etc/hosts"); err == nil {
		t.Errorf("a link out of the root reached %q", s)
	}
	for _, name := range []string{"etc/loop1", "etc/self"} {
		if _, err := readFile(t, tg, name); !errors.Is(err, target.ErrLoop) {
			t.Errorf("%s: %v, want a loop error", name, err)
		}
	}
	if r, err := tg.Resolve("/etc/resolv.conf"); err != nil || r != "/run/resolvconf/resolv.conf" {
		t.Errorf("Resolve: %q %v", r, err)
	}
	if l, err := fs.ReadLink(tg.FS(), "etc/resolv.conf"); err != nil || l != "../run/resolvconf/resolv.conf" {
		t.Errorf("ReadLink: %q %v", l, err)
	}
	if e, ok := tg.Lookup("/bin/sh"); !ok || e.Shebang != "/bin/busybox" {
		t.Errorf("shebang: %+v", e)
	}
}

func writeTar(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A directory target: the extracted rootfs, read in place.
func TestDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.MkdirAll(filepath.Join(dir, "run"), 0o755)
	os.WriteFile(filepath.Join(dir, "run", "r.conf"), []byte("nameserver 1.1.1.1\n"), 0o644)
	os.Symlink("/run/r.conf", filepath.Join(dir, "etc", "resolv.conf"))
	os.Symlink("/etc/passwd", filepath.Join(dir, "etc", "group")) // would be the host's
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	data, _ := os.ReadFile(ti.Binary(t, ti.Esbuild116))
	os.WriteFile(filepath.Join(dir, "bin", "esbuild"), data, 0o755)
	os.WriteFile(filepath.Join(dir, "bin", "script"), []byte("#!/bin/sh\necho\n"), 0o755)
	tg := open(t, dir, target.Options{})
	if s, err := readFile(t, tg, "etc/resolv.conf"); err != nil || s != "nameserver 1.1.1.1\n" {
		t.Errorf("resolv.conf %q %v", s, err)
	}
	if _, err := readFile(t, tg, "etc/group"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a link to a file missing in the root must not reach the host: %v", err)
	}
	progs, err := tg.Programs(context.Background())
	if err != nil || len(progs) != 1 || progs[0].Binary.Go == nil || progs[0].Binary.Go.Version != "go1.16.3" {
		t.Fatalf("programs %+v %v", progs, err)
	}
}

// Compressions: gzip, zstd and none give the same tree.
func TestCompressions(t *testing.T) {
	t.Parallel()
	raw := ti.TarBytes(t, map[string]ti.File{"etc/hosts": {Data: []byte("127.0.0.1 localhost\n")}})
	for _, c := range []struct{ name, comp string }{{"none", ""}, {"gzip", "gzip"}, {"zstd", "zstd"}} {
		data := raw
		switch c.comp {
		case "gzip":
			data = gzipBytes(t, raw)
		case "zstd":
			data = zstdBytes(t, raw)
		}
		tg := open(t, writeTar(t, data), target.Options{})
		if got := tg.Description().Compression; got != c.name {
			t.Errorf("compression %q, want %q", got, c.name)
		}
		if s, err := readFile(t, tg, "etc/hosts"); err != nil || !strings.HasPrefix(s, "127.0.0.1") {
			t.Errorf("%s: %q %v", c.name, s, err)
		}
	}
}

func TestConfigGetenv(t *testing.T) {
	c := target.Config{Env: []string{"A=1", "B", "A=2", "C="}}
	for _, tc := range []struct {
		key, val string
		ok       bool
	}{{"A", "2", true}, {"B", "", true}, {"C", "", true}, {"D", "", false}} {
		if v, ok := c.Getenv(tc.key); v != tc.val || ok != tc.ok {
			t.Errorf("Getenv(%s) = %q %v", tc.key, v, ok)
		}
	}
	if got := (target.Config{Entrypoint: []string{"a"}, Cmd: []string{"b"}}).Argv(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Argv %v", got)
	}
}

func TestProgress(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var last, total int64
	calls := 0
	tg := open(t, ti.Rootfs(t, ti.Alpine316), target.Options{Progress: func(done, tot int64) {
		mu.Lock()
		defer mu.Unlock()
		if done < last {
			t.Errorf("progress went back: %d after %d", done, last)
		}
		last, total = done, tot
		calls++
	}})
	st, _ := os.Stat(ti.Rootfs(t, ti.Alpine316))
	if calls == 0 || last != st.Size() || total != st.Size() {
		t.Errorf("progress: %d calls, last %d of %d; file %d", calls, last, total, st.Size())
	}
	_ = tg
}

// A C program that resolves names through a library it needs: the
// library's import is found in the root.
func TestResolvesVia(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not found")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "res.c"), []byte("#include <netdb.h>\nint res(const char *h) { struct addrinfo *r; return getaddrinfo(h, 0, 0, &r); }\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.c"), []byte("int res(const char *);\nint main(int c, char **v) { return res(v[1]); }\n"), 0o644)
	for _, args := range [][]string{
		{"-shared", "-fPIC", "-o", "libres.so", "res.c"},
		{"-o", "prog", "main.c", "-L.", "-lres"},
		{"-o", "plain", "main.c", "res.c"},
	} {
		cmd := exec.Command("gcc", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("gcc %v: %v %s", args, err, out)
		}
	}
	tg := open(t, writeTar(t, ti.TarBytes(t, map[string]ti.File{
		"usr/lib/libres.so": {FromFile: filepath.Join(dir, "libres.so"), Mode: 0o644},
		"usr/bin/prog":      {FromFile: filepath.Join(dir, "prog")},
		"usr/bin/plain":     {FromFile: filepath.Join(dir, "plain")},
	})), target.Options{})
	progs, err := tg.Programs(context.Background())
	if err != nil || len(progs) != 2 {
		t.Fatalf("programs %+v %v", progs, err)
	}
	plain, prog := progs[0].Binary, progs[1].Binary
	if len(plain.Resolves) != 1 || len(plain.ResolvesVia) != 0 {
		t.Errorf("plain: %v %v", plain.Resolves, plain.ResolvesVia)
	}
	if len(prog.Resolves) != 0 || len(prog.ResolvesVia) != 1 || prog.ResolvesVia[0] != "libres.so (getaddrinfo)" || !prog.ResolvesNames() {
		t.Errorf("prog: %v %v", prog.Resolves, prog.ResolvesVia)
	}
}

// Inspecting a binary while its layer streams by (with the machine code
// of Go binaries left out of the spool file) gives the same result as
// inspecting the file itself.
func TestStreamedInspectionMatchesFile(t *testing.T) {
	t.Parallel()
	files := map[string]ti.File{}
	paths := map[string]string{
		"bin/esbuild115": ti.Binary(t, ti.Esbuild115),
		"bin/esbuild116": ti.Binary(t, ti.Esbuild116),
		"bin/cgo":        ti.GoBuild(t, "", []string{"CGO_ENABLED=1"}),
		"bin/stripped":   ti.GoBuild(t, "", []string{"CGO_ENABLED=0"}, "-ldflags=-s -w"),
		"bin/pie":        ti.GoBuild(t, "", []string{"CGO_ENABLED=0"}, "-buildmode=pie"),
	}
	for p, src := range paths {
		files[p] = ti.File{FromFile: src}
	}
	tg := open(t, writeTar(t, gzipBytes(t, ti.TarBytes(t, files))), target.Options{})
	for p, src := range paths {
		e, ok := tg.Lookup("/" + p)
		if !ok || e.Binary == nil {
			t.Fatalf("%s not inspected: %+v", p, e)
		}
		want, err := inspect.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(e.Binary)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s: streamed\n%s\nfile\n%s", p, g, w)
		}
	}
}

// An OCI layout whose index points at another index (as `docker buildx`
// writes them) is followed to the image for the platform.
func TestNestedIndex(t *testing.T) {
	t.Parallel()
	mk := func(arch, marker string) v1.Image {
		return ti.Image(t, ti.Config{Arch: arch}, ti.FileLayer(t, map[string]ti.File{"etc/arch": {Data: []byte(marker)}}))
	}
	var inner v1.ImageIndex = empty.Index
	for _, img := range []v1.Image{mk("arm64", "B"), mk("amd64", "A")} {
		cf, _ := img.ConfigFile()
		inner = mutate.AppendManifests(inner, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: cf.Architecture}}})
	}
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(inner); err != nil {
		t.Fatal(err)
	}
	for plat, want := range map[string]string{"linux/amd64": "A", "linux/arm64": "B"} {
		tg := open(t, dir, target.Options{Platform: plat})
		if s, err := readFile(t, tg, "etc/arch"); err != nil || s != want {
			t.Errorf("%s: %q %v", plat, s, err)
		}
	}
}

// Entries below a link to a directory land where the link leads, as when
// a runtime unpacks the layer (merged /usr: /lib → usr/lib).
func TestEntriesThroughLinkedDirectory(t *testing.T) {
	t.Parallel()
	l1 := ti.FileLayer(t, map[string]ti.File{
		"usr/lib/x/libc.so.6": {Data: []byte("libc")},
		"usr/lib/x/old":       {Data: []byte("old")},
		"lib":                 {Link: "usr/lib"},
	})
	l2 := ti.FileLayer(t, map[string]ti.File{
		"lib/x/new":     {Data: []byte("new")},
		"lib/x/.wh.old": {},
	})
	tg := open(t, ti.OCILayout(t, t.TempDir(), ti.Image(t, ti.Config{}, l1, l2)), target.Options{})
	if e, ok := tg.Lookup("/lib"); !ok || e.Link != "usr/lib" {
		t.Errorf("/lib is no longer a link: %+v", e)
	}
	for name, want := range map[string]string{"usr/lib/x/new": "new", "lib/x/new": "new", "lib/x/libc.so.6": "libc"} {
		if s, err := readFile(t, tg, name); err != nil || s != want {
			t.Errorf("%s: %q %v", name, s, err)
		}
	}
	if _, err := readFile(t, tg, "usr/lib/x/old"); err == nil {
		t.Error("a whiteout through a linked directory was ignored")
	}
}

// A shell-form command names the program of its simple command; anything
// more complex names the shell.
func TestMainShellForm(t *testing.T) {
	t.Parallel()
	base := ti.RootfsLayer(t, ti.Rootfs(t, ti.Alpine316))
	app := ti.FileLayer(t, map[string]ti.File{"usr/local/bin/app": {FromFile: ti.Binary(t, ti.Esbuild116)}})
	for _, c := range []struct {
		cmd  string
		want string
	}{
		{"exec app --version", "/usr/local/bin/app"},
		{"FOO=1 app", "/usr/local/bin/app"},
		{"app | tee /tmp/log", "/bin/busybox"},
		{"exec missing", ""},
	} {
		img := ti.Image(t, ti.Config{Cmd: []string{"/bin/sh", "-c", c.cmd}}, base, app)
		tg := open(t, ti.OCILayout(t, t.TempDir(), img), target.Options{})
		m, ok := tg.Main()
		if !ok || m.Path != c.want || !strings.Contains(m.Via, "/bin/sh -c") {
			t.Errorf("%q: %+v", c.cmd, m)
		}
	}
}
