package cli

import (
	"errors"
	"flag"
	"strings"

	"github.com/nsscope/nsscope/model"
)

// buildFlags describe a program by its build, for explain and lab --check:
// a Go binary (--go, --cgo, --tags, --default-godebug, --prefer-go,
// --strict-errors) or a C program (--libc alone). With --go --cgo on,
// --libc names the library the cgo resolver calls.
type buildFlags struct {
	goVersion, cgo, tags, libc, godebug string
	preferGo, strictErrors              bool
}

func (p *buildFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.goVersion, "go", "", "a Go binary built with this Go (1.10 to 1.27), e.g. 1.15 or 1.21.3")
	fs.StringVar(&p.cgo, "cgo", "", "on if the Go binary has the cgo resolver compiled in (default off)")
	fs.StringVar(&p.tags, "tags", "", "Go build tags, comma-separated (netgo and netcgo matter)")
	fs.StringVar(&p.libc, "libc", "", "the C library, glibc-2.36 or musl-1.2.3; without --go the program is a C program calling getaddrinfo")
	fs.StringVar(&p.godebug, "default-godebug", "", "the Go binary's DefaultGODEBUG build setting (Go 1.21+)")
	fs.BoolVar(&p.preferGo, "prefer-go", false, "the program's net.Resolver sets PreferGo")
	fs.BoolVar(&p.strictErrors, "strict-errors", false, "the program's net.Resolver sets StrictErrors")
}

// errNoDescription means no flag describes the program.
var errNoDescription = errors.New("the program is not described")

// program builds the model's description of the program; errNoDescription
// when no flag was given. Other errors are usage errors.
func (p *buildFlags) program() (model.Program, error) {
	var l model.Libc
	if p.libc != "" {
		kind, ver, _ := strings.Cut(p.libc, "-")
		if kind != "glibc" && kind != "musl" {
			return model.Program{}, usageErrorf("--libc %q: want glibc-VERSION or musl-VERSION", p.libc)
		}
		l.Kind = kind
		if ver != "" {
			v, err := model.ParseVersion(ver)
			if err != nil {
				return model.Program{}, usageErrorf("--libc %q: %v", p.libc, err)
			}
			l.Version = v
		}
	}
	if p.goVersion == "" {
		for f, v := range map[string]string{"--cgo": p.cgo, "--tags": p.tags, "--default-godebug": p.godebug} {
			if v != "" {
				return model.Program{}, usageErrorf("%s needs --go VERSION", f)
			}
		}
		if p.preferGo || p.strictErrors {
			return model.Program{}, usageErrorf("--prefer-go and --strict-errors need --go VERSION")
		}
		if l.Known() {
			return model.Program{Impl: model.Impl(l.Kind), Libc: l, Label: "C program (" + l.String() + ")"}, nil
		}
		return model.Program{}, errNoDescription
	}
	v, err := model.ParseVersion(p.goVersion)
	if err != nil {
		return model.Program{}, usageErrorf("--go: %v", err)
	}
	if v.Less(model.MinGo) || model.MaxGo.Less(v) {
		return model.Program{}, usageErrorf("--go %s: outside the modelled range 1.10–1.27", v)
	}
	b := model.GoBuild{Version: v, DefaultGODEBUG: p.godebug, PreferGo: p.preferGo, StrictErrors: p.strictErrors}
	switch p.cgo {
	case "", "off", "0", "false":
	case "on", "1", "true":
		b.Cgo = true
	default:
		return model.Program{}, usageErrorf("--cgo %q: want on or off", p.cgo)
	}
	for _, t := range strings.FieldsFunc(p.tags, func(r rune) bool { return r == ',' || r == ' ' }) {
		switch t {
		case "netgo":
			b.NetgoTag = true
		case "netcgo":
			b.NetcgoTag = true
		}
		// Other tags do not change name resolution.
	}
	switch {
	case b.NetgoTag && b.Cgo:
		return model.Program{}, usageErrorf("--tags netgo and --cgo on contradict each other: the netgo tag compiles the cgo resolver out")
	case b.NetcgoTag && !b.Cgo:
		return model.Program{}, usageErrorf("--tags netcgo needs --cgo on")
	case l.Known() && !b.Cgo:
		return model.Program{}, usageErrorf("--libc with --go needs --cgo on (a Go binary without cgo never calls the C library)")
	}
	return model.Program{Impl: model.ImplGo, Go: b, Libc: l}, nil
}

// defaultOp is the operation a lookup flag set implies: a dial for tcp and
// udp networks, LookupIP for ip ones.
func defaultOp(op, network string) string {
	if op != "" {
		return op
	}
	if strings.HasPrefix(network, "ip") {
		return model.OpLookupIP
	}
	return model.OpDial
}

// checkOp validates an --op value.
func checkOp(op string) error {
	switch op {
	case model.OpDial, model.OpListen, model.OpLookupIP, model.OpLookupHost:
		return nil
	}
	return usageErrorf("--op %q: want dial, listen, lookup-ip or lookup-host", op)
}
