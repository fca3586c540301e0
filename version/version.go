// Package version parses and compares dotted release numbers (Go 1.15.7,
// glibc 2.31, musl 1.2.3) and knows which releases exist (releases.go).
package version

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a dotted release number such as Go 1.15.7, glibc 2.31 or musl
// 1.2.3. Patch is -1 when the version was given without one ("1.15").
type Version struct {
	Major int `json:"major"`
	Minor int `json:"minor"`
	Patch int `json:"patch"`
}

// New builds a version.
func New(major, minor, patch int) Version { return Version{major, minor, patch} }

// Parse parses "1.15", "1.21.3", "go1.16.3", "go1.21rc2" (pre-release
// suffixes count as the release), "2.31".
func Parse(s string) (Version, error) {
	orig := s
	s = strings.TrimPrefix(strings.TrimSpace(s), "go")
	// Strip pre-release or build suffixes: go1.21rc2, 1.20.1-X:boringcrypto.
	for i, r := range s {
		if !(r == '.' || (r >= '0' && r <= '9')) {
			s = s[:i]
			break
		}
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("version %q: want MAJOR.MINOR[.PATCH]", orig)
	}
	v := Version{Patch: -1}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 100000 {
			return Version{}, fmt.Errorf("version %q: %q is not a number", orig, p)
		}
		switch i {
		case 0:
			v.Major = n
		case 1:
			v.Minor = n
		case 2:
			v.Patch = n
		}
	}
	return v, nil
}

// IsZero reports whether v is unset.
func (v Version) IsZero() bool { return v == Version{} }

// Compare returns -1, 0 or 1. A missing patch compares as 0.
func (v Version) Compare(w Version) int {
	a := [3]int{v.Major, v.Minor, max(v.Patch, 0)}
	b := [3]int{w.Major, w.Minor, max(w.Patch, 0)}
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}

// AtLeast reports v >= (major.minor.patch).
func (v Version) AtLeast(major, minor, patch int) bool {
	return v.Compare(Version{major, minor, patch}) >= 0
}

// Less reports v < w.
func (v Version) Less(w Version) bool { return v.Compare(w) < 0 }

func (v Version) String() string {
	if v.IsZero() {
		return ""
	}
	if v.Patch < 0 {
		return fmt.Sprintf("%d.%d", v.Major, v.Minor)
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// MarshalText renders the version as "1.15.7".
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText parses what MarshalText wrote.
func (v *Version) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*v = Version{}
		return nil
	}
	w, err := Parse(string(b))
	if err != nil {
		return err
	}
	*v = w
	return nil
}
