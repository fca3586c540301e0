package model

import (
	"fmt"
	"strings"
)

// AlpineMusl turns the version of Alpine's musl package, as the apk
// database names it ("1.2.3-r3", "1.2.4_git20230717-r4"), into a Libc: the
// upstream release it is built from, and the package release, which says
// which backported fixes it carries.
func AlpineMusl(pkgver string) (Libc, error) {
	up, _, ok := strings.Cut(pkgver, "-r")
	if !ok {
		return Libc{}, fmt.Errorf("musl package version %q: want UPSTREAM-rN", pkgver)
	}
	base, _, _ := strings.Cut(up, "_") // 1.2.4_git20230717: a snapshot after 1.2.4
	v, err := ParseVersion(base)
	if err != nil {
		return Libc{}, fmt.Errorf("musl package version %q: %w", pkgver, err)
	}
	return Libc{Kind: "musl", Version: v, Distro: "alpine", Release: pkgver}, nil
}

// alpineMuslPatch is what one Alpine musl package carries beyond its
// upstream release, as its APKBUILD lists it.
type alpineMuslPatch struct {
	release string // the apk package version
	carries string
}

// alpineMuslPatches are the Alpine musl packages whose resolver-related
// patches are known. None of them changes what is sent: the backports
// touch gethostbyname*_r's return value and buffer sizes. Packages not
// listed carry no known resolver patch.
var alpineMuslPatches = []alpineMuslPatch{
	{"1.2.3-r3", "backports 1.2.4's gethostbyname*_r return values for names not found (f081d533, 8f925945) and AI_ADDRCONFIG's errno (7d568410); what is sent is 1.2.3's"},
	{"1.2.4_git20230717-r4", "a snapshot after 1.2.4 with larger DNS buffers for long CNAME chains (a4ecaf89, 83b858f8); what is sent is 1.2.4's"},
}

// muslReleaseWhy says what the package release changes.
func muslReleaseWhy(l Libc) string {
	for _, p := range alpineMuslPatches {
		if p.release == l.Release {
			return "Alpine's musl package " + p.carries
		}
	}
	return "no Alpine patch known to change name resolution: upstream musl " + l.Version.String() + "'s rules apply"
}
