package inspect

import (
	"debug/elf"
	"io"
	"path"
	"slices"
	"strings"
)

// maxInterp caps the PT_INTERP string read: a real one is a short path.
const maxInterp = 4096

// resolverFuncs are the C library functions that resolve host names
// forward (name to address). A C program importing none of them does not
// look names up through the C library's resolver.
var resolverFuncs = []string{
	"getaddrinfo", "getaddrinfo_a",
	"gethostbyname", "gethostbyname2", "gethostbyname_r", "gethostbyname2_r",
	"res_query", "res_search", "res_nquery", "res_nsearch",
	"__res_query", "__res_search",
}

// readLinking fills the static/dynamic facts: interpreter, needed
// libraries, imported resolver functions and the C library kind.
func readLinking(f *elf.File, r io.ReaderAt, b *Binary) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		n := p.Filesz
		if n > maxInterp {
			b.Notes = append(b.Notes, "PT_INTERP longer than 4096 bytes; ignored")
			break
		}
		buf := make([]byte, n)
		if _, err := p.ReadAt(buf, 0); err != nil {
			b.Notes = append(b.Notes, "PT_INTERP unreadable: "+err.Error())
			break
		}
		b.Interp = strings.TrimRight(string(buf), "\x00")
	}
	d, err := readDynamic(f)
	if err != nil {
		b.Notes = append(b.Notes, "dynamic section unreadable: "+err.Error())
		d = &dynTable{f: f}
	}
	if libs, err := d.strings(elf.DT_NEEDED); err == nil {
		b.Needed = libs
	}
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		if vals, err := d.strings(tag); err == nil {
			for _, v := range vals {
				b.RunPath = append(b.RunPath, strings.Split(v, ":")...)
			}
		}
	}
	b.Static = b.Interp == "" && len(b.Needed) == 0
	if imported, err := importsAny(f, resolverFuncs); err == nil {
		b.Resolves = imported
		slices.Sort(b.Resolves)
	}
	b.Libc, b.LibcEvidence = libcKind(b.Interp, b.Needed)
}

// libcKind names the C library from the interpreter, else from the needed
// libraries.
func libcKind(interp string, needed []string) (kind, evidence string) {
	base := path.Base(interp)
	switch {
	case strings.HasPrefix(base, "ld-musl-"):
		return "musl", "interpreter " + interp + " is musl's loader"
	case strings.HasPrefix(base, "ld-linux") || base == "ld.so.1" || strings.HasPrefix(base, "ld64.so"):
		return "glibc", "interpreter " + interp + " is glibc's loader"
	}
	for _, n := range needed {
		switch {
		case n == "libc.so.6":
			return "glibc", "needs libc.so.6 (DT_NEEDED)"
		case strings.HasPrefix(n, "libc.musl-"):
			return "musl", "needs " + n + " (DT_NEEDED)"
		}
	}
	return "", ""
}
