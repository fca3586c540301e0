package grade

import (
	"fmt"
	"strings"

	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/model"
)

// FromBinary describes an inspected binary for the verdicts. root lists
// the C libraries of the binary's root (inspect.RootLibc). ok is false for
// a binary that never resolves names (a Go program without package net, a
// C program importing no resolver function); such binaries get no finding.
func FromBinary(path string, main bool, b *inspect.Binary, root []inspect.LibcRelease) (p Program, ok bool) {
	if b == nil || !b.ResolvesNames() {
		return Program{}, false
	}
	p = Program{Path: path, Main: main}
	libcRel := inspect.LibcFor(b, root)
	libc := libcRel.Model()
	p.Facts = binaryFacts(b, libcRel)

	if b.Go != nil {
		v, err := model.ParseVersion(b.Go.Version)
		if err != nil {
			p.Unknown = fmt.Sprintf("the Go version could not be read (%s)", or(b.Go.Version, "no version found"))
			return p, true
		}
		base, _ := b.Program(libc)
		base.Go.Version = v
		if base.Go.Cgo && !base.Libc.Known() && len(root) > 0 {
			// A cgo binary whose libc the ELF does not name (static):
			// the root's C library is the best guess.
			base.Libc = root[0].Model()
			p.Facts = append(p.Facts, "the cgo resolver is assumed to call the root's "+base.Libc.String())
		}
		if b.Go.CgoResolver.Known {
			p.Variants = []Variant{{Program: base}}
			return p, true
		}
		noCgo := base
		noCgo.Go.Cgo = false
		withCgo := base
		withCgo.Go.Cgo = true
		withCgo.Libc = libc
		switch {
		case !libc.Known() && b.Libc != "":
			withCgo.Libc = model.Libc{Kind: b.Libc}
		case !libc.Known() && len(root) > 0:
			withCgo.Libc = root[0].Model()
		}
		p.Variants = []Variant{
			{Assume: "the cgo resolver is not compiled in", Program: noCgo},
			{Assume: "the cgo resolver is compiled in (" + or(withCgo.Libc.String(), "libc") + ")", Program: withCgo},
		}
		return p, true
	}

	prog, known := b.Program(libc)
	if !known {
		p.Unknown = "a C program whose C library is unknown (static, or an unrecognised loader)"
		return p, true
	}
	if prog.Libc.Kind == "glibc" && prog.Libc.Version.IsZero() {
		// The built-in nsswitch default changed in glibc 2.35: without
		// the version both readings are possible.
		why := "libc.so.6 not found in the root"
		if b.Static {
			why = "statically linked; the version is not recorded"
		}
		old, cur := prog, prog
		old.Libc.Version = model.V(2, 34, 0)
		cur.Libc.Version = model.V(2, 35, 0)
		p.Variants = []Variant{
			{Assume: "glibc older than 2.35 (" + why + ")", Program: old},
			{Assume: "glibc 2.35 or later (" + why + ")", Program: cur},
		}
		return p, true
	}
	p.Variants = []Variant{{Program: prog}}
	return p, true
}

// binaryFacts are the inspection results worth citing, with evidence.
func binaryFacts(b *inspect.Binary, libc *inspect.LibcRelease) []string {
	var out []string
	if g := b.Go; g != nil {
		out = append(out, fmt.Sprintf("Go program built with %s (%s)", or(g.Version, "an unknown Go version"), or(g.VersionEvidence, "no evidence")))
		if g.Main.Path != "" {
			out = append(out, "main module "+g.Main.Path+" "+g.Main.Version)
		}
		out = append(out, "package net linked: "+g.Net.String())
		out = append(out, "cgo resolver compiled in: "+g.CgoResolver.String())
		if len(g.Tags) > 0 {
			out = append(out, "build tags: "+strings.Join(g.Tags, ","))
		}
		if g.DefaultGODEBUG != "" {
			out = append(out, "DefaultGODEBUG="+g.DefaultGODEBUG)
		}
	} else {
		switch {
		case len(b.Resolves) > 0:
			out = append(out, "C program importing "+strings.Join(b.Resolves, ", "))
		case len(b.ResolvesVia) > 0:
			out = append(out, "C program resolving names through "+strings.Join(b.ResolvesVia, ", "))
		case b.StaticResolver != "":
			out = append(out, "statically linked C program: "+b.StaticResolver)
		}
	}
	switch {
	case b.Static:
		out = append(out, "statically linked")
	case b.Interp != "":
		out = append(out, "dynamically linked, loader "+b.Interp)
	}
	if b.Libc != "" {
		ev := b.LibcEvidence
		if ev != "" {
			ev = " (" + ev + ")"
		}
		out = append(out, "uses "+b.Libc+ev)
	}
	if libc != nil {
		out = append(out, fmt.Sprintf("C library in the root: %s (%s)", libc.Model(), libc.Evidence))
	}
	out = append(out, b.Notes...)
	return out
}
