package inspect

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// maxLibcScan bounds the read-only data searched for a C library's
// version (glibc's libc.so.6 is about 2 MB, musl's loader under 1 MB).
const maxLibcScan = 16 << 20

var (
	// glibc prints this banner when libc.so.6 is run; it sits in .rodata:
	// "GNU C Library (Debian GLIBC 2.41-12) stable release version 2.41."
	glibcBanner = regexp.MustCompile(`GNU C Library \(([^)\x00]{0,100})\)[a-z ]{0,40} release version ([0-9]+\.[0-9]+(?:\.[0-9]+)?)`)
	// glibc's symbol version names: GLIBC_2.36.
	glibcSymver = regexp.MustCompile(`^GLIBC_([0-9]+)\.([0-9]+)(?:\.([0-9]+))?$`)
	// musl keeps its release as a bare NUL-delimited string ("1.2.2"),
	// printed by the loader as "Version %s".
	muslVersion = regexp.MustCompile(`\x00(1\.[0-9]+\.[0-9]+)\x00`)
)

// readLibcRelease fills b.LibcRelease when the ELF is itself glibc's
// libc.so.6 or musl's libc/loader, recognised by its DT_SONAME.
func readLibcRelease(f *elf.File, b *Binary) {
	d, err := readDynamic(f)
	if err != nil {
		return
	}
	sonames, err := d.strings(elf.DT_SONAME)
	if err != nil || len(sonames) == 0 {
		return
	}
	soname := sonames[0]
	switch {
	case soname == "libc.so.6":
		rel, err := glibcRelease(f)
		if err != nil {
			b.Notes = append(b.Notes, "glibc version not found: "+err.Error())
			return
		}
		b.LibcRelease = rel
	case strings.HasPrefix(soname, "libc.musl-") || soname == "libc.so":
		rel, err := muslRelease(f)
		if err != nil {
			if soname == "libc.so" {
				return // some other libc.so; not musl's
			}
			b.Notes = append(b.Notes, "musl version not found: "+err.Error())
			return
		}
		b.LibcRelease = rel
	}
}

func sectionData(f *elf.File, name string) ([]byte, error) {
	s := f.Section(name)
	if s == nil || s.Type == elf.SHT_NOBITS {
		return nil, fmt.Errorf("no %s section", name)
	}
	if s.Size > maxLibcScan {
		return nil, fmt.Errorf("%s larger than %d bytes", name, maxLibcScan)
	}
	return io.ReadAll(io.LimitReader(s.Open(), maxLibcScan))
}

func glibcRelease(f *elf.File) (*LibcRelease, error) {
	if ro, err := sectionData(f, ".rodata"); err == nil {
		if m := glibcBanner.FindSubmatch(ro); m != nil {
			vendor := ""
			if w := strings.Fields(string(m[1])); len(w) > 1 && w[1] == "GLIBC" {
				vendor = w[0]
			}
			return &LibcRelease{Kind: "glibc", Version: string(m[2]), Vendor: vendor,
				Evidence: strings.TrimSpace(string(m[0]))}, nil
		}
	}
	// No banner: the highest GLIBC_2.N version this library defines.
	dynstr, err := sectionData(f, ".dynstr")
	if err != nil {
		return nil, err
	}
	best := [3]int{-1, -1, -1}
	bestText := ""
	for _, str := range bytes.Split(dynstr, []byte{0}) {
		m := glibcSymver.FindSubmatch(str)
		if m == nil {
			continue
		}
		var v [3]int
		for i := range 3 {
			v[i] = -1
			if len(m[i+1]) > 0 {
				v[i], _ = strconv.Atoi(string(m[i+1]))
			}
		}
		if v[0] > best[0] || (v[0] == best[0] && (v[1] > best[1] || (v[1] == best[1] && v[2] > best[2]))) {
			best, bestText = v, string(m[0])
		}
	}
	if best[0] < 0 {
		return nil, errors.New("no release banner and no GLIBC_ symbol versions")
	}
	ver := fmt.Sprintf("%d.%d", best[0], best[1])
	if best[2] >= 0 {
		ver += fmt.Sprintf(".%d", best[2])
	}
	return &LibcRelease{Kind: "glibc", Version: ver, Evidence: "highest symbol version " + bestText}, nil
}

func muslRelease(f *elf.File) (*LibcRelease, error) {
	ro, err := sectionData(f, ".rodata")
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(ro, []byte("musl libc")) {
		return nil, errors.New(`no "musl libc" string in .rodata`)
	}
	m := muslVersion.FindSubmatch(ro)
	if m == nil {
		return nil, errors.New("no version string in .rodata")
	}
	return &LibcRelease{Kind: "musl", Version: string(m[1]),
		Evidence: fmt.Sprintf("version string %q next to \"musl libc\" in the loader's .rodata", m[1])}, nil
}

// Candidate paths of the C libraries, in the order they are tried.
var (
	glibcPaths = []string{
		"lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libc.so.6",
		"lib/aarch64-linux-gnu/libc.so.6", "usr/lib/aarch64-linux-gnu/libc.so.6",
		"lib64/libc.so.6", "usr/lib64/libc.so.6", "lib/libc.so.6", "usr/lib/libc.so.6",
	}
	muslGlobs = []string{"lib/ld-musl-*.so.1", "usr/lib/ld-musl-*.so.1", "lib/libc.musl-*.so.1", "usr/lib/libc.musl-*.so.1"}
)

// RootLibc finds the C libraries present in a root filesystem and returns
// the release of each, glibc first. fsys is rooted at the root ("/" of the
// image or host) and must resolve symbolic links inside it. A root with
// no C library returns an empty slice and no error.
func RootLibc(fsys fs.FS) ([]LibcRelease, error) {
	var out []LibcRelease
	try := func(name string) (bool, error) {
		f, err := fsys.Open(name)
		if err != nil {
			return false, nil
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return false, nil
		}
		ra, ok := f.(io.ReaderAt)
		if !ok {
			return false, fmt.Errorf("%s: file does not support random access", name)
		}
		b, err := Read(ra, st.Size())
		if err != nil {
			return false, fmt.Errorf("%s: %w", name, err)
		}
		if b.LibcRelease == nil {
			return false, nil
		}
		rel := *b.LibcRelease
		rel.Evidence = "/" + name + ": " + rel.Evidence
		out = append(out, rel)
		return true, nil
	}
	for _, p := range glibcPaths {
		if ok, err := try(p); err != nil {
			return out, err
		} else if ok {
			break
		}
	}
	for _, g := range muslGlobs {
		matches, _ := fs.Glob(fsys, g)
		done := false
		for _, m := range matches {
			ok, err := try(m)
			if err != nil {
				return out, err
			}
			if ok {
				done = true
				break
			}
		}
		if done {
			break
		}
	}
	return out, nil
}

// LibcFor picks, among the libraries of a root, the one the binary uses:
// the one of its kind. It returns nil when the root has none of that kind,
// when the binary's kind is unknown, and for a static binary (which
// carries its own copy).
func LibcFor(b *Binary, root []LibcRelease) *LibcRelease {
	if b.Static {
		return nil
	}
	for i := range root {
		if b.Libc != "" && root[i].Kind == b.Libc {
			return &root[i]
		}
	}
	return nil
}

// LibcLocations returns where C libraries are looked for in a root, in
// the order RootLibc tries them: exact paths of glibc's libc.so.6 and glob
// patterns of musl's loader (slash-separated, relative to the root).
func LibcLocations() (glibc, muslPatterns []string) {
	return slices.Clone(glibcPaths), slices.Clone(muslGlobs)
}

// isLibcPath reports whether name (slash-separated, no leading slash)
// is where a C library this package reads a release from usually lives.
func isLibcPath(name string) bool {
	base := path.Base(name)
	return base == "libc.so.6" || strings.HasPrefix(base, "ld-musl-") || strings.HasPrefix(base, "libc.musl-")
}

// IsLibcPath reports whether the slash-separated path names a C library
// whose release [Read] reports (libc.so.6, ld-musl-*.so.1,
// libc.musl-*.so.1). Image readers use it to decide which non-executable
// ELF files to inspect.
func IsLibcPath(name string) bool { return isLibcPath(name) }

// staticMarker is a string a C library leaves in the read-only data of a
// program it is linked into statically: libc names the library it proves,
// resolver marks a configuration file only the resolver reads.
type staticMarker struct {
	pattern  string
	libc     string
	resolver bool
}

// staticMarkers: glibc's tunables variable, its fatal-error prefix and
// the NSS configuration only glibc reads; musl's strerror text for errno 0 ("No error information"; glibc says
// "Success"); the files the resolver of either library opens
// (res_init reads /etc/resolv.conf, the hosts lookup /etc/hosts).
var staticMarkers = []staticMarker{
	{pattern: "GLIBC_TUNABLES", libc: "glibc"},
	{pattern: "Fatal glibc error", libc: "glibc"},
	{pattern: "/etc/nsswitch.conf\x00", libc: "glibc"},
	{pattern: "No error information\x00", libc: "musl"},
	{pattern: "/etc/resolv.conf\x00", resolver: true},
	{pattern: "/etc/hosts\x00", resolver: true},
}

// readStaticLibc recognises the C library linked statically into a binary,
// and its resolver, by strings of their own in .rodata.
func readStaticLibc(f *elf.File, b *Binary) {
	s := f.Section(".rodata")
	if s == nil || s.Type == elf.SHT_NOBITS {
		return
	}
	pats := make([][]byte, len(staticMarkers))
	for i, m := range staticMarkers {
		pats[i] = []byte(m.pattern)
	}
	found, err := searchStream(io.LimitReader(s.Open(), maxLibcScan), pats)
	if err != nil {
		return
	}
	var conf []string
	for i, ok := range found {
		m := staticMarkers[i]
		switch {
		case !ok:
		case m.resolver:
			conf = append(conf, strings.TrimSuffix(m.pattern, "\x00"))
		case b.Libc == "":
			b.Libc = m.libc
			b.LibcEvidence = fmt.Sprintf("statically linked; %q in .rodata", strings.TrimSuffix(m.pattern, "\x00"))
		}
	}
	if len(conf) > 0 && b.Go == nil {
		b.StaticResolver = fmt.Sprintf("the C library's resolver is linked in (%s in .rodata)", strings.Join(conf, " and "))
		if b.Libc == "" {
			// A resolver without glibc's marks: musl, the other C
			// library programs are linked statically with on Linux,
			// whose resolver reads no nsswitch.conf.
			b.Libc = "musl"
			b.LibcEvidence = "statically linked; a resolver but none of glibc's marks (GLIBC_TUNABLES, /etc/nsswitch.conf): musl's"
		}
	}
}
