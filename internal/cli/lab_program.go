package cli

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
)

// programFlags describe, for lab --check, the program run and the lookup
// it makes (the model cannot see inside the run).
type programFlags struct {
	goVersion, cgo, tags, libc, godebug string
	preferGo, strictErrors              bool
	name, network, op                   string
	port                                int
	deadline                            time.Duration
}

func (p *programFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.goVersion, "go", "", "--check: the program is a Go binary of this version (e.g. 1.15.7)")
	fs.StringVar(&p.cgo, "cgo", "off", "--check: on if the Go binary has the cgo resolver compiled in")
	fs.StringVar(&p.tags, "tags", "", "--check: Go build tags that matter (netgo, netcgo), comma-separated")
	fs.StringVar(&p.libc, "libc", "", "--check: the C library (glibc-2.36, musl-1.2.3); without --go the program is a C program calling getaddrinfo")
	fs.StringVar(&p.godebug, "default-godebug", "", "--check: the Go binary's DefaultGODEBUG build setting")
	fs.BoolVar(&p.preferGo, "prefer-go", false, "--check: the program's net.Resolver sets PreferGo")
	fs.BoolVar(&p.strictErrors, "strict-errors", false, "--check: the program's net.Resolver sets StrictErrors")
	fs.StringVar(&p.name, "name", "", "--check: the name the program resolves")
	fs.StringVar(&p.network, "network", "ip", "--check: the network of the lookup: ip, ip4, ip6, tcp, tcp4, tcp6, udp, udp4, udp6")
	fs.StringVar(&p.op, "op", "", "--check: dial, listen, lookup-ip or lookup-host (default: dial for tcp/udp, lookup-ip for ip)")
	fs.IntVar(&p.port, "port", 0, "--check: the port dialled (display only)")
	fs.DurationVar(&p.deadline, "deadline", 0, "--check: the caller's deadline for the lookup (dial timeout, context timeout)")
}

// program builds the model's description of the program.
func (p *programFlags) program() (model.Program, error) {
	var prog model.Program
	if p.libc != "" {
		kind, ver, ok := strings.Cut(p.libc, "-")
		if !ok || (kind != "glibc" && kind != "musl") {
			return prog, fmt.Errorf("--libc %q: want glibc-VERSION or musl-VERSION", p.libc)
		}
		v, err := model.ParseVersion(ver)
		if err != nil {
			return prog, fmt.Errorf("--libc: %w", err)
		}
		prog.Libc = model.Libc{Kind: kind, Version: v}
	}
	switch {
	case p.goVersion != "":
		v, err := model.ParseVersion(p.goVersion)
		if err != nil {
			return prog, fmt.Errorf("--go: %w", err)
		}
		prog.Impl = model.ImplGo
		prog.Go.Version = v
		switch p.cgo {
		case "on":
			prog.Go.Cgo = true
		case "off":
		default:
			return prog, fmt.Errorf("--cgo %q: want on or off", p.cgo)
		}
		for _, t := range strings.Split(p.tags, ",") {
			switch strings.TrimSpace(t) {
			case "":
			case "netgo":
				prog.Go.NetgoTag = true
				prog.Go.Cgo = false
			case "netcgo":
				prog.Go.NetcgoTag = true
			default:
				return prog, fmt.Errorf("--tags: %q does not change name resolution (want netgo or netcgo)", t)
			}
		}
		prog.Go.DefaultGODEBUG = p.godebug
		prog.Go.PreferGo = p.preferGo
		prog.Go.StrictErrors = p.strictErrors
		prog.Label = "Go " + v.String()
	case prog.Libc.Known():
		prog.Impl = model.Impl(prog.Libc.Kind)
		prog.Label = "C program, " + prog.Libc.String()
	default:
		return prog, errNoDescription
	}
	return prog, nil
}

// errNoDescription means no flag describes the program: it is read from
// the binary after the run.
var errNoDescription = errors.New("the program is not described")

// inspectProgram describes the program that ran by reading its binary, for
// --check without --go or --libc. The binary is read where the host can
// see it: an --add source, the host's own root, or inside a directory
// root; a program inside a tarball must be described by flags.
func inspectProgram(spec lab.Spec, res *lab.Result) (model.Program, error) {
	var (
		bin  *inspect.Binary
		err  error
		fsys fs.FS
	)
	found := false
	for _, a := range spec.Add {
		if a.Dst == res.Program {
			bin, err = inspect.Open(a.Src)
			found = true
		}
	}
	switch {
	case found:
	case spec.Root == "":
		fsys = os.DirFS("/")
		bin, err = inspect.Open(res.Program)
	default:
		st, serr := os.Stat(spec.Root)
		if serr != nil || !st.IsDir() {
			return model.Program{}, fmt.Errorf("--check: %s is inside the tarball %s; describe it with --go VERSION or --libc", res.Program, spec.Root)
		}
		fsys = lab.DirFS(spec.Root)
		f, oerr := fsys.Open(strings.TrimPrefix(res.Program, "/"))
		if oerr != nil {
			return model.Program{}, fmt.Errorf("--check: read %s: %w", res.Program, oerr)
		}
		defer f.Close()
		osf := f.(*os.File)
		st, serr = osf.Stat()
		if serr != nil {
			return model.Program{}, serr
		}
		bin, err = inspect.Read(osf, st.Size())
	}
	if err != nil {
		return model.Program{}, fmt.Errorf("--check: cannot read %s (%w); describe it with --go VERSION or --libc", res.Program, err)
	}
	var libc model.Libc
	if fsys != nil {
		if rels, _ := inspect.RootLibc(fsys); len(rels) > 0 {
			if r := inspect.LibcFor(bin, rels); r != nil {
				libc = r.Model()
			}
		}
	}
	prog, ok := bin.Program(libc)
	if !ok {
		return model.Program{}, fmt.Errorf("--check: %s is not a program the model covers (no Go version, no known libc); describe it with --go VERSION or --libc", res.Program)
	}
	return prog, nil
}

// check prepares a --check for spec.
func (p *programFlags) check(spec lab.Spec) (*labCheck, error) {
	prog, err := p.program()
	if err != nil && err != errNoDescription {
		return nil, err
	}
	fromBinary := err == errNoDescription
	if p.name == "" {
		return nil, errors.New("--check needs --name: the name the program resolves")
	}
	if p.deadline < 0 {
		return nil, fmt.Errorf("--deadline %s: want a positive duration", p.deadline)
	}
	op := p.op
	if op == "" {
		// As explain: a tcp or udp network means a dial, ip a LookupIP.
		op = model.OpLookupIP
		if strings.HasPrefix(p.network, "tcp") || strings.HasPrefix(p.network, "udp") {
			op = model.OpDial
		}
	}
	switch op {
	case model.OpDial, model.OpListen, model.OpLookupIP, model.OpLookupHost:
	default:
		return nil, fmt.Errorf("--op %q: want dial, listen, lookup-ip or lookup-host", p.op)
	}
	return &labCheck{
		fromBinary: fromBinary,
		prog:       prog,
		req:        model.Request{Name: p.name, Network: p.network, Op: op, Dial: op == model.OpDial, Port: p.port, Deadline: p.deadline},
		scenario:   spec.Scenario,
	}, nil
}
