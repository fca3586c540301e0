// Package inspect reads an ELF binary and reports what decides how it
// resolves host names: for a Go program the Go version, the build settings
// and whether the cgo resolver is compiled in; for every ELF whether it is
// static or dynamic, its interpreter (glibc's or musl's loader) and the
// resolver functions it imports from the C library.
//
// Every fact carries the evidence it was read from ("build setting
// CGO_ENABLED=0", "function net._C2func_getaddrinfo in .gopclntab", ...), so
// a report can say why it believes what it says.
//
// The package reads through an [io.ReaderAt] and never loads a whole binary
// into memory: it uses debug/elf and debug/buildinfo from the standard
// library for the structure, and streams the few sections it searches.
package inspect

import (
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nsscope/nsscope/model"
)

// ErrNotELF is returned for a file that is not an ELF binary.
var ErrNotELF = errors.New("not an ELF file")

// Binary is what nsscope knows about one ELF file.
type Binary struct {
	// Size is the file size in bytes.
	Size int64 `json:"size"`
	// Class is "ELF32" or "ELF64"; Machine the target ("EM_X86_64");
	// Type the object type ("ET_EXEC" executable, "ET_DYN" PIE or shared
	// object).
	Class   string `json:"class"`
	Machine string `json:"machine"`
	Type    string `json:"type"`
	// Static reports a binary with no interpreter and no dynamic
	// dependencies (PT_INTERP absent, no DT_NEEDED).
	Static bool `json:"static"`
	// Interp is the PT_INTERP path, e.g. "/lib/ld-musl-x86_64.so.1".
	Interp string `json:"interp,omitempty"`
	// Needed lists the DT_NEEDED libraries; RunPath the directories of
	// DT_RUNPATH and DT_RPATH, as stored ("$ORIGIN/../lib").
	Needed  []string `json:"needed,omitempty"`
	RunPath []string `json:"run_path,omitempty"`
	// Libc is the C library the binary is linked against ("glibc", "musl"
	// or "" when unknown, e.g. for a static binary), and LibcEvidence says
	// how that was decided.
	Libc         string `json:"libc,omitempty"`
	LibcEvidence string `json:"libc_evidence,omitempty"`
	// Resolves lists the C resolver functions the binary imports
	// (getaddrinfo, gethostbyname, ...): a C program that imports none of
	// them does not resolve names through the C library.
	Resolves []string `json:"resolves,omitempty"`
	// StaticResolver, for a statically linked C program, says why the C
	// library's resolver is taken to be linked in (the configuration
	// files it reads are named in the binary); empty otherwise.
	StaticResolver string `json:"static_resolver,omitempty"`
	// ResolvesVia lists the shared libraries, needed directly or through
	// other libraries, that import a resolver function, as "libcurl.so.4
	// (getaddrinfo)". Read only relative to a root (package target fills
	// it); empty when Resolves is not.
	ResolvesVia []string `json:"resolves_via,omitempty"`
	// Go describes a Go binary; nil for other programs.
	Go *GoInfo `json:"go,omitempty"`
	// LibcRelease is set when the file is itself a C library (glibc's
	// libc.so.6 or musl's loader): the release it carries.
	LibcRelease *LibcRelease `json:"libc_release,omitempty"`
	// Notes are remarks about odd or damaged content (a corrupt build info
	// section, a heuristic that was needed).
	Notes []string `json:"notes,omitempty"`
}

// GoInfo describes a Go binary.
type GoInfo struct {
	// Version is the Go toolchain that built the binary ("go1.15.7"), and
	// VersionEvidence where it was read: "build info", "symbol
	// runtime.buildVersion", or "go1.x string in .rodata (heuristic)".
	Version         string `json:"version"`
	VersionEvidence string `json:"version_evidence"`
	// Path is the main package path; Main the main module.
	Path string `json:"path,omitempty"`
	Main Module `json:"main,omitempty"`
	// Deps counts the dependency modules recorded in the build info.
	Deps int `json:"deps,omitempty"`
	// Settings are the build settings in the order recorded (Go 1.18+);
	// empty for older binaries, which do not record them.
	Settings []Setting `json:"settings,omitempty"`
	// CgoEnabled is the CGO_ENABLED build setting: "0", "1" or "" when
	// not recorded.
	CgoEnabled string `json:"cgo_enabled,omitempty"`
	// Tags are the -tags build setting, split at commas.
	Tags []string `json:"tags,omitempty"`
	// Ldflags is the -ldflags build setting.
	Ldflags string `json:"ldflags,omitempty"`
	// DefaultGODEBUG is the build setting of that name (Go 1.21+).
	DefaultGODEBUG string `json:"default_godebug,omitempty"`
	// Stripped reports a binary without a symbol table (-ldflags=-s).
	Stripped bool `json:"stripped"`
	// Net reports whether package net is linked in at all: a program
	// without it never resolves names through Go.
	Net Fact `json:"net"`
	// CgoResolver reports whether the cgo resolver (getaddrinfo through
	// the C library) is compiled in: cgo enabled and no netgo tag.
	CgoResolver Fact `json:"cgo_resolver"`
}

// Module is a Go module path and version.
type Module struct {
	Path    string `json:"path,omitempty"`
	Version string `json:"version,omitempty"`
	Sum     string `json:"sum,omitempty"`
}

// Setting is one build setting ("CGO_ENABLED" = "1").
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Fact is a yes/no answer with the evidence that decided it. Known is
// false when nothing in the binary decides it.
type Fact struct {
	Value    bool     `json:"value"`
	Known    bool     `json:"known"`
	Evidence []string `json:"evidence,omitempty"`
}

func (f Fact) String() string {
	v := "unknown"
	if f.Known {
		v = "no"
		if f.Value {
			v = "yes"
		}
	}
	if len(f.Evidence) == 0 {
		return v
	}
	return v + " (" + strings.Join(f.Evidence, "; ") + ")"
}

// LibcRelease is the release of a C library read from the library itself.
// Its JSON is the one shape of a libc everywhere, model.Libc's (kind,
// version when known, distro) plus the evidence: see MarshalJSON.
type LibcRelease struct {
	Kind    string // "glibc" or "musl"
	Version string // "2.36", "1.2.2"; empty when unknown
	// Vendor is the distribution named in glibc's banner ("Debian",
	// "Ubuntu"), empty when none. JSON writes it as the model's distro,
	// in lower case.
	Vendor string
	// Evidence quotes what was read ("GNU C Library (Debian GLIBC
	// 2.41-12) stable release version 2.41", "GLIBC_2.36 symbol version").
	Evidence string
}

// libcJSON is a LibcRelease as JSON: the model's libc and the evidence.
type libcJSON struct {
	model.Libc
	Evidence string `json:"evidence,omitempty"`
}

// MarshalJSON writes the release as every nsscope document writes a libc
// (model.Libc: kind, version, distro), with its evidence. A version that
// is unknown, or not a release number, is left out (the evidence quotes
// what was read).
func (r LibcRelease) MarshalJSON() ([]byte, error) {
	return json.Marshal(libcJSON{Libc: r.Model(), Evidence: r.Evidence})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *LibcRelease) UnmarshalJSON(b []byte) error {
	var j libcJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = LibcRelease{Kind: j.Kind, Version: j.Version.String(), Vendor: j.Distro, Evidence: j.Evidence}
	return nil
}

// Model converts the release to the model's Libc: the vendor is the
// distro, in lower case.
func (r *LibcRelease) Model() model.Libc {
	if r == nil {
		return model.Libc{}
	}
	l := model.Libc{Kind: r.Kind, Distro: strings.ToLower(r.Vendor)}
	if v, err := model.ParseVersion(r.Version); err == nil {
		l.Version = v
	}
	return l
}

// IsGo reports whether the binary is a Go program.
func (b *Binary) IsGo() bool { return b.Go != nil }

// ResolvesNames reports whether the binary can resolve host names: a Go
// binary with package net linked (or unknown), or a C program importing a
// resolver function.
func (b *Binary) ResolvesNames() bool {
	if b.Go != nil {
		return !b.Go.Net.Known || b.Go.Net.Value || len(b.Resolves) > 0
	}
	return len(b.Resolves) > 0 || len(b.ResolvesVia) > 0 || b.StaticResolver != ""
}

// Program converts the binary to the model's description of a program.
// libc is the C library present in the binary's root (see [RootLibc]); it
// is used when the binary links against it. ok is false for a binary that
// the model does not cover (a static C program with an unknown libc, a Go
// binary without a readable version).
func (b *Binary) Program(libc model.Libc) (p model.Program, ok bool) {
	if b.Libc != "" && (libc.Kind != b.Libc || b.Static) {
		// The root's library is another one than the binary uses (a
		// glibc binary on Alpine, or a static binary carrying its own
		// copy): keep only the kind.
		libc = model.Libc{Kind: b.Libc}
	}
	if b.Go != nil {
		v, err := model.ParseVersion(b.Go.Version)
		if err != nil {
			return model.Program{}, false
		}
		p = model.Program{Impl: model.ImplGo}
		p.Go.Version = v
		p.Go.Cgo = b.Go.CgoResolver.Known && b.Go.CgoResolver.Value
		for _, t := range b.Go.Tags {
			switch t {
			case "netgo":
				p.Go.NetgoTag = true
			case "netcgo":
				p.Go.NetcgoTag = true
			}
		}
		p.Go.DefaultGODEBUG = b.Go.DefaultGODEBUG
		if p.Go.Cgo && b.Libc != "" {
			p.Libc = libc
		}
		p.Label = p.Describe()
		return p, true
	}
	switch b.Libc {
	case "glibc", "musl":
		p = model.Program{Impl: model.Impl(b.Libc), Libc: libc}
		p.Label = p.Describe()
		return p, true
	}
	return model.Program{}, false
}

// Open inspects the ELF file at path.
func Open(path string) (*Binary, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b, err := Read(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// IsELF reports whether head, the first bytes of a file, start with the ELF
// magic number.
func IsELF(head []byte) bool {
	return len(head) >= 4 && string(head[:4]) == elf.ELFMAG
}

// Read inspects an ELF binary of the given size. It returns an error
// wrapping [ErrNotELF] when the content is not ELF, and a "malformed ELF"
// error when the structure cannot be read. Damage inside optional parts
// (build info, symbol tables) is reported in Notes, not as an error.
func Read(r io.ReaderAt, size int64) (b *Binary, err error) {
	var head [4]byte
	if _, err := r.ReadAt(head[:], 0); err != nil || !IsELF(head[:]) {
		return nil, ErrNotELF
	}
	// debug/elf and debug/buildinfo are hardened against hostile input,
	// but a binary from an untrusted image must never crash the tool:
	// turn a panic into an error about this file.
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("malformed ELF: %v", p)
		}
	}()
	sr := io.NewSectionReader(r, 0, size)
	f, err := elf.NewFile(sr)
	if err != nil {
		return nil, fmt.Errorf("malformed ELF: %w", err)
	}
	defer f.Close()
	b = &Binary{
		Size:    size,
		Class:   strings.TrimPrefix(f.Class.String(), "ELFCLASS"),
		Machine: f.Machine.String(),
		Type:    f.Type.String(),
	}
	b.Class = "ELF" + b.Class
	readLinking(f, sr, b)
	readGo(f, sr, size, b)
	if b.Static && b.Libc == "" && (b.Go == nil || b.Go.CgoResolver.Value) {
		readStaticLibc(f, b)
	}
	readLibcRelease(f, b)
	return b, nil
}
