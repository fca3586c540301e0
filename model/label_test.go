package model

import "testing"

func TestDescribe(t *testing.T) {
	glibc := Libc{Kind: "glibc", Version: V(2, 36, 0)}
	for _, tt := range []struct {
		p    Program
		want string
	}{
		{Program{Impl: ImplGo, Go: GoBuild{Version: V(1, 15, 7)}}, "Go 1.15.7 static"},
		{Program{Impl: ImplGo, Go: GoBuild{Version: V(1, 21, 3), Cgo: true}, Libc: glibc}, "Go 1.21.3 cgo (glibc-2.36)"},
		{Program{Impl: ImplGo, Go: GoBuild{Version: V(1, 21, 3), Cgo: true}}, "Go 1.21.3 cgo"},
		{Program{Impl: ImplGo, Go: GoBuild{Version: V(1, 22, 1), NetgoTag: true}}, "Go 1.22.1 static netgo"},
		{Program{Impl: ImplMusl, Libc: Libc{Kind: "musl", Version: V(1, 2, 3)}}, "C program (musl-1.2.3)"},
		{Program{Impl: ImplGlibc, Libc: Libc{Kind: "glibc"}}, "C program (glibc)"},
		{Program{Label: "kube-apiserver", Impl: ImplGo}, "kube-apiserver"},
	} {
		if got := tt.p.Describe(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.p, got, tt.want)
		}
	}
}
