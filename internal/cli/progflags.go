package cli

import (
	"errors"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/version"
)

// buildFlags describe a program by its build, for explain and lab --check:
// a Go binary (--go, --cgo, --tags, --default-godebug, --prefer-go,
// --strict-errors) or a C program (--libc alone). With --go --cgo on,
// --libc names the library the cgo resolver calls.
type buildFlags struct {
	goVersion, cgo, tags, libc, godebug string
	preferGo, strictErrors              bool
	// notes say which release is assumed for a version newer than the
	// table (version.Releases); the verb prints them.
	notes []string
}

// programGroup is the help title of the program flags.
const programGroup = "Program (default: typical programs side by side)"

func (p *buildFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&p.goVersion, "go", "", "a Go program built with Go `VERSION` ("+version.Go().Range()+"), e.g. 1.15 or 1.21.3")
	fs.StringVar(&p.cgo, "cgo", "", "`on|off`: the cgo resolver compiled in (default off: CGO_ENABLED=0)")
	fs.StringVar(&p.tags, "tags", "", "Go build `TAGS`, comma-separated (netgo and netcgo matter)")
	fs.StringVar(&p.libc, "libc", "", "the C library, `KIND-VERSION`: glibc-2.36 or musl-1.2.3 (alone: a C program calling getaddrinfo; with --go --cgo on: the library the cgo resolver calls)")
	fs.StringVar(&p.godebug, "default-godebug", "", "the Go binary's DefaultGODEBUG build `SETTING` (Go 1.21+)")
	fs.BoolVar(&p.preferGo, "prefer-go", false, "the program's net.Resolver sets PreferGo")
	fs.BoolVar(&p.strictErrors, "strict-errors", false, "the program's net.Resolver sets StrictErrors")
}

// parseLibc parses --libc KIND-VERSION against the releases nsscope knows.
func parseLibc(s string) (model.Libc, string, error) {
	var l model.Libc
	kind, ver, _ := strings.Cut(s, "-")
	var rels version.Releases
	switch kind {
	case "glibc":
		rels = version.Glibc()
	case "musl":
		rels = version.Musl()
	default:
		return l, "", usageErrorf("--libc %q: want glibc-VERSION or musl-VERSION", s)
	}
	l.Kind = kind
	if ver == "" {
		return l, "", nil
	}
	v, note, err := rels.ParseRelease(ver)
	if err != nil {
		return l, "", usageErrorf("--libc %s: %v", s, err)
	}
	l.Version = v
	return l, note, nil
}

// errNoDescription means no flag describes the program.
var errNoDescription = errors.New("the program is not described")

// program builds the model's description of the program; errNoDescription
// when no flag was given. Other errors are usage errors.
func (p *buildFlags) program() (model.Program, error) {
	var l model.Libc
	p.notes = nil
	if p.libc != "" {
		var note string
		var err error
		if l, note, err = parseLibc(p.libc); err != nil {
			return model.Program{}, err
		}
		if note != "" {
			p.notes = append(p.notes, note)
		}
	}
	if p.goVersion == "" {
		for _, f := range []struct{ name, v string }{{"--cgo", p.cgo}, {"--tags", p.tags}, {"--default-godebug", p.godebug}} {
			if f.v != "" {
				return model.Program{}, usageErrorf("%s needs --go VERSION", f.name)
			}
		}
		if p.preferGo || p.strictErrors {
			return model.Program{}, usageErrorf("--prefer-go and --strict-errors need --go VERSION")
		}
		if l.Known() {
			prog := model.Program{Impl: model.Impl(l.Kind), Libc: l}
			prog.Label = prog.Describe()
			return prog, nil
		}
		return model.Program{}, errNoDescription
	}
	v, note, err := version.Go().ParseRelease(p.goVersion)
	if err != nil {
		return model.Program{}, usageErrorf("--go %s: %v", p.goVersion, err)
	}
	if !model.GoModelled(v) {
		return model.Program{}, usageErrorf("--go %s: outside the modelled range %s", v, model.GoRange())
	}
	if note != "" {
		p.notes = append(p.notes, note)
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
	if slices.Contains(model.Operations(), op) {
		return nil
	}
	return usageErrorf("--op %q: want %s", op, strings.Join(model.Operations(), ", "))
}

// checkNetwork validates a --network value.
func checkNetwork(n string) error {
	switch n {
	case "ip", "ip4", "ip6", "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
		return nil
	}
	return usageErrorf("--network %q: want ip, ip4, ip6, tcp, tcp4, tcp6, udp, udp4 or udp6", n)
}
