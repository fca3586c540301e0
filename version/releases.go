package version

import (
	"fmt"
	"strings"
)

// Series is one release series (a minor version: Go 1.15, glibc 2.36, musl
// 1.2) and the last patch release of it that nsscope knows. Open marks a
// series still receiving releases when the table was written: a later
// patch may exist, and is taken to behave as Last.
type Series struct {
	Major, Minor int
	// Last is the last known patch release of the series (Go 1.15.15:
	// 15). For glibc, whose releases carry no patch number, 0.
	Last int
	Open bool
}

// Releases is what nsscope knows of a program or library's releases.
type Releases struct {
	// Name is how the releases are called in messages ("Go", "glibc").
	Name   string
	Series []Series
	// NoPatch: releases are MAJOR.MINOR only (glibc).
	NoPatch bool
}

// goReleases: every Go minor release from 1.10, with its last patch
// release. Source: the Go release history (go.dev/doc/devel/release) and
// the golang.org/toolchain module's versions on the module proxy, read
// December 2026; 1.26 and 1.27 were still supported then.
var goReleases = []Series{
	{1, 10, 8, false}, {1, 11, 13, false}, {1, 12, 17, false}, {1, 13, 15, false},
	{1, 14, 15, false}, {1, 15, 15, false}, {1, 16, 15, false}, {1, 17, 13, false},
	{1, 18, 10, false}, {1, 19, 13, false}, {1, 20, 14, false}, {1, 21, 13, false},
	{1, 22, 12, false}, {1, 23, 12, false}, {1, 24, 13, false}, {1, 25, 14, false},
	{1, 26, 11, true}, {1, 27, 4, true},
}

// Go returns the Go releases nsscope knows (1.10 to 1.27).
func Go() Releases { return Releases{Name: "Go", Series: goReleases} }

// Glibc returns the glibc releases nsscope knows: 2.0 to 2.44 (one release
// each February and August since 2.17; 2.44 is August 2026). glibc
// versions have no patch number; a third number (2.36.0) is accepted when
// it is 0.
func Glibc() Releases {
	s := make([]Series, 0, 45)
	for m := 0; m <= 44; m++ {
		s = append(s, Series{2, m, 0, m == 44})
	}
	return Releases{Name: "glibc", Series: s, NoPatch: true}
}

// Musl returns the musl releases nsscope knows: 0.9.0–0.9.15,
// 1.0.0–1.0.5, 1.1.0–1.1.24, 1.2.0–1.2.5 (musl.libc.org's release list).
func Musl() Releases {
	return Releases{Name: "musl", Series: []Series{{0, 9, 15, false}, {1, 0, 5, false}, {1, 1, 24, false}, {1, 2, 5, true}}}
}

// Check reports whether v is a release: its series is known and its patch
// (when given) is no later than the series' last. For an open series a
// later patch is accepted and note says which release is assumed. An
// error says what is known.
func (r Releases) Check(v Version) (note string, err error) {
	first, last := r.Series[0], r.Series[len(r.Series)-1]
	for _, s := range r.Series {
		if s.Major != v.Major || s.Minor != v.Minor {
			continue
		}
		switch {
		case v.Patch <= s.Last:
			return "", nil
		case s.Open:
			return fmt.Sprintf("%s %s is newer than the last %s %d.%d release nsscope knows (%s); predicted as %s",
				r.Name, v, r.Name, s.Major, s.Minor, r.release(s), r.release(s)), nil
		case r.NoPatch:
			return "", fmt.Errorf("%s %s: %s releases have no patch number (want %d.%d)", r.Name, v, r.Name, s.Major, s.Minor)
		default:
			return "", fmt.Errorf("%s %s: no such release (the last %s %d.%d release is %s)", r.Name, v, r.Name, s.Major, s.Minor, r.release(s))
		}
	}
	return "", fmt.Errorf("%s %s: not a %s release nsscope knows (%s %s to %s)", r.Name, v, r.Name, r.Name, r.first(first), r.release(last))
}

// Range renders the known releases as "1.10–1.27".
func (r Releases) Range() string {
	f, l := r.Series[0], r.Series[len(r.Series)-1]
	return fmt.Sprintf("%d.%d–%d.%d", f.Major, f.Minor, l.Major, l.Minor)
}

func (r Releases) release(s Series) string {
	if r.NoPatch {
		return fmt.Sprintf("%d.%d", s.Major, s.Minor)
	}
	return fmt.Sprintf("%d.%d.%d", s.Major, s.Minor, s.Last)
}

// first names a series' first release: Go before 1.21 and glibc wrote it
// without a patch number (1.20, 2.36), later Go and musl with one (1.21.0).
func (r Releases) first(s Series) string {
	if r.NoPatch || r.Name == "Go" && s.Minor < 21 {
		return fmt.Sprintf("%d.%d", s.Major, s.Minor)
	}
	return fmt.Sprintf("%d.%d.0", s.Major, s.Minor)
}

// ParseRelease parses v and checks it against r in one step.
func (r Releases) ParseRelease(s string) (Version, string, error) {
	v, err := Parse(strings.TrimSpace(s))
	if err != nil {
		return Version{}, "", err
	}
	note, err := r.Check(v)
	return v, note, err
}
