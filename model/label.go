package model

// Describe is the one label of a program in every verb: Label when the
// caller named it, otherwise built from what is known of its build — "Go
// 1.15.7 static", "Go 1.21.3 cgo (glibc-2.36)", "Go 1.22.1 static netgo",
// "C program (musl-1.2.3)".
func (p Program) Describe() string {
	if p.Label != "" {
		return p.Label
	}
	if p.Impl != ImplGo {
		return "C program (" + p.Libc.String() + ")"
	}
	s := "Go " + p.Go.Version.String()
	switch {
	case p.Go.Cgo && p.Libc.Known():
		s += " cgo (" + p.Libc.String() + ")"
	case p.Go.Cgo:
		s += " cgo"
	default:
		s += " static"
	}
	if p.Go.NetgoTag {
		s += " netgo"
	}
	return s
}
