package version

import (
	"strings"
	"testing"
)

func TestReleases(t *testing.T) {
	for _, c := range []struct {
		rel       Releases
		in        string
		err, note string
	}{
		{Go(), "1.15", "", ""},
		{Go(), "1.15.15", "", ""},
		{Go(), "1.15.16", "no such release (the last Go 1.15 release is 1.15.15)", ""},
		{Go(), "1.15.99", "no such release", ""},
		{Go(), "1.9", "not a Go release nsscope knows (Go 1.10 to 1.27.4)", ""},
		{Go(), "1.28", "not a Go release nsscope knows", ""},
		{Go(), "1.27.4", "", ""},
		{Go(), "1.27.9", "", "predicted as 1.27.4"},
		{Go(), "go1.21rc2", "", ""},
		{Glibc(), "2.36", "", ""},
		{Glibc(), "2.36.0", "", ""},
		{Glibc(), "2.36.1", "glibc releases have no patch number (want 2.36)", ""},
		{Glibc(), "9.9", "not a glibc release nsscope knows (glibc 2.0 to 2.44)", ""},
		{Glibc(), "2.45", "not a glibc release", ""},
		{Musl(), "1.2.2", "", ""},
		{Musl(), "1.1.24", "", ""},
		{Musl(), "1.1.25", "the last musl 1.1 release is 1.1.24", ""},
		{Musl(), "1.2.9", "", "predicted as 1.2.5"},
		{Musl(), "2.0", "not a musl release nsscope knows (musl 0.9.0 to 1.2.5)", ""},
	} {
		_, note, err := c.rel.ParseRelease(c.in)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s %s: %v", c.rel.Name, c.in, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s %s: error %v, want %q", c.rel.Name, c.in, err, c.err)
		case !strings.Contains(note, c.note) || (c.note == "" && note != ""):
			t.Errorf("%s %s: note %q, want %q", c.rel.Name, c.in, note, c.note)
		}
	}
	if r := Go().Range(); r != "1.10–1.27" {
		t.Errorf("Go range %q", r)
	}
}
