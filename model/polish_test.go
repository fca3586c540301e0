package model

import (
	"strings"
	"testing"
)

// The program step names what a missing nsswitch.conf means only when it
// is missing (issue 15.5).
func TestEraReasonOnlyWhereItApplies(t *testing.T) {
	prog := Program{Impl: ImplGo, Go: GoBuild{Version: V(1, 18, 3)}}
	for _, tc := range []struct {
		nsswitch File
		mention  bool
	}{
		{File{Missing: true}, true},
		{File{Data: []byte("hosts: files dns\n")}, false},
	} {
		p, err := Predict(Env{NSSwitch: tc.nsswitch}, prog, Request{Name: "localhost"}, Scenario{})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(p.Steps[0].Reason, "missing nsswitch.conf"); got != tc.mention {
			t.Errorf("nsswitch missing=%v: program step %q", tc.nsswitch.Missing, p.Steps[0].Reason)
		}
	}
}

// glibc versions are written without a patch number (issue 15.5).
func TestLibcStringOneWay(t *testing.T) {
	for _, l := range []Libc{{Kind: "glibc", Version: V(2, 36, 0)}, {Kind: "glibc", Version: V(2, 36, -1)}} {
		if l.String() != "glibc-2.36" {
			t.Errorf("%#v.String() = %q, want glibc-2.36", l, l.String())
		}
	}
	if s := (Libc{Kind: "musl", Version: V(1, 2, 3)}).String(); s != "musl-1.2.3" {
		t.Errorf("musl: %q", s)
	}
}

func TestGoModelled(t *testing.T) {
	for v, want := range map[Version]bool{V(1, 9, 7): false, V(1, 10, 0): true, V(1, 27, 99): true, V(1, 28, 0): false, V(1, 21, -1): true} {
		if GoModelled(v) != want {
			t.Errorf("GoModelled(%s) = %v", v, !want)
		}
	}
	if GoRange() != "1.10–1.27" {
		t.Errorf("GoRange() = %q", GoRange())
	}
}
