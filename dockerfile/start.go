package dockerfile

// This file decides whether a program built in one stage can start in the
// final image: a cgo build is a dynamically linked program that needs its
// C library's loader and symbol versions where it runs.

import (
	"fmt"
	"regexp"

	"github.com/nsscope/nsscope/model"
)

// Loaders of the C libraries on x86-64: the PT_INTERP a dynamically linked
// program names, which the kernel must find to exec it.
var loaders = map[string]string{
	"glibc": "/lib64/ld-linux-x86-64.so.2",
	"musl":  "/lib/ld-musl-x86_64.so.1",
}

// glibcStartVersion is the release from which programs linked against
// glibc need the GLIBC_2.34 symbol version (__libc_start_main moved with
// libpthread's merge into libc in 2.34), so they fail on older glibc with
// "version `GLIBC_2.34' not found".
var glibcStartVersion = model.V(2, 34, 0)

// staticLink matches go build flags that link the C library statically.
var staticLink = regexp.MustCompile(`-extldflags[= ]['"]?[^'"]*-static|-linkmode[= ]external.*-static`)

// cannotStart says why program p cannot start in the final image, or ""
// when it can or nsscope cannot tell. Only cgo builds of known facts are
// judged: a program that does not link a C library starts anywhere.
func cannotStart(p *Program, final *StageState) string {
	b := p.Build
	img := final.Image
	if b == nil || !b.Cgo || b.Netgo || !b.Libc.Known() || !img.Known || staticLink.MatchString(b.Command) {
		return ""
	}
	built := fmt.Sprintf("a cgo build linked against %s (stage %s, %s)", b.Libc, b.Stage, b.CgoFrom)
	switch {
	case img.Libc.Kind == "":
		return fmt.Sprintf("%s, but %s has no C library: its loader %s is missing, so exec fails with \"no such file or directory\"", built, img.Ref, loaders[b.Libc.Kind])
	case img.Libc.Kind != b.Libc.Kind:
		return fmt.Sprintf("%s, but %s has %s: the loader %s is missing, so exec fails with \"no such file or directory\"", built, img.Ref, img.Libc, loaders[b.Libc.Kind])
	case b.Libc.Kind == "glibc" && !b.Libc.Version.IsZero() && !img.Libc.Version.IsZero() &&
		b.Libc.Version.AtLeast(2, 34, 0) && img.Libc.Version.Less(glibcStartVersion):
		return fmt.Sprintf("%s, but %s has %s: a program linked against glibc 2.34 or later needs the GLIBC_2.34 symbol version and fails with \"version `GLIBC_2.34' not found\"", built, img.Ref, img.Libc)
	}
	return ""
}
