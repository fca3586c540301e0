package model

// Typical returns the programs compared side by side when none is given:
// an old static Go binary (the incident's vintage), a current static Go
// binary, a current cgo Go binary calling the environment's C library, and
// C programs on musl and (when the environment's libc is glibc) glibc.
// libc is the environment's C library; zero means unknown (glibc 2.36 is
// then assumed for the cgo binary). Each program's Label is its one label,
// Describe.
func Typical(libc Libc) []Program {
	cgoLibc := libc
	if !cgoLibc.Known() {
		cgoLibc = Libc{Kind: "glibc", Version: V(2, 36, 0), Distro: "debian"}
	}
	out := []Program{
		{Impl: ImplGo, Go: GoBuild{Version: V(1, 15, 15)}},
		{Impl: ImplGo, Go: GoBuild{Version: V(1, 26, 8)}},
		{Impl: ImplGo, Go: GoBuild{Version: V(1, 26, 8), Cgo: true}, Libc: cgoLibc},
	}
	musl := Libc{Kind: "musl", Version: V(1, 2, 3)}
	if libc.Kind == "musl" {
		musl = libc
	}
	out = append(out, Program{Impl: ImplMusl, Libc: musl})
	if libc.Kind == "glibc" {
		out = append(out, Program{Impl: ImplGlibc, Libc: libc})
	}
	for i := range out {
		out[i].Label = out[i].Describe()
	}
	return out
}
