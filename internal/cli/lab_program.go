package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
)

// programFlags describe, for lab --check, the program run (as in
// explain) and the lookup it makes (the model cannot see inside the run).
type programFlags struct {
	buildFlags
	name, network, op string
	port              int
	deadline          time.Duration
}

// registerLookup adds the lookup flags; the build flags are a group of
// their own (buildFlags.register).
func (p *programFlags) registerLookup(fs *pflag.FlagSet) {
	fs.StringVar(&p.name, "name", "", "the host `NAME` the program resolves")
	fs.StringVar(&p.network, "network", "ip", "the `NET`work of the lookup: ip, ip4, ip6, tcp, tcp4, tcp6, udp, udp4, udp6")
	fs.StringVar(&p.op, "op", "", "`OP`: dial, listen, lookup-ip or lookup-host (default: dial for tcp/udp, lookup-ip for ip)")
	fs.IntVar(&p.port, "port", 0, "the `PORT` dialled (display only)")
	fs.DurationVar(&p.deadline, "deadline", 0, "the caller's deadline for the lookup (dial timeout, context timeout)")
}

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
	if err := checkNetwork(p.network); err != nil {
		return nil, err
	}
	if p.deadline < 0 {
		return nil, fmt.Errorf("--deadline %s: want a positive duration", p.deadline)
	}
	op := defaultOp(p.op, p.network)
	if err := checkOp(op); err != nil {
		return nil, err
	}
	return &labCheck{
		fromBinary: fromBinary,
		prog:       prog,
		req:        model.Request{Name: p.name, Network: p.network, Op: op, Dial: op == model.OpDial, Port: p.port, Deadline: model.Seconds(p.deadline)},
		scenario:   spec.Scenario,
	}, nil
}
