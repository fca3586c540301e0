package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
)

// programFlags describe, for lab --check, the program run and the lookup
// it makes (the model cannot see inside the run).
type programFlags struct {
	goVersion, cgo, tags, libc, godebug string
	name, network                       string
	dial                                bool
	port                                int
	deadline                            time.Duration
}

func (p *programFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.goVersion, "go", "", "--check: the program is a Go binary of this version (e.g. 1.15.7)")
	fs.StringVar(&p.cgo, "cgo", "off", "--check: on if the Go binary has the cgo resolver compiled in")
	fs.StringVar(&p.tags, "tags", "", "--check: Go build tags that matter (netgo, netcgo), comma-separated")
	fs.StringVar(&p.libc, "libc", "", "--check: the C library (glibc-2.36, musl-1.2.3); without --go the program is a C program calling getaddrinfo")
	fs.StringVar(&p.godebug, "default-godebug", "", "--check: the Go binary's DefaultGODEBUG build setting")
	fs.StringVar(&p.name, "name", "", "--check: the name the program resolves")
	fs.StringVar(&p.network, "net", "ip", "--check: the network of the lookup: ip, ip4, ip6, tcp, tcp4, tcp6, udp...")
	fs.BoolVar(&p.dial, "dial", false, "--check: the lookup is part of a Dial")
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
		prog.Label = "Go " + v.String()
	case prog.Libc.Known():
		prog.Impl = model.Impl(prog.Libc.Kind)
		prog.Label = "C program, " + prog.Libc.String()
	default:
		return prog, errors.New("--check needs the program described: --go VERSION [--cgo on] [--tags netgo], or --libc glibc-VERSION|musl-VERSION for a C program")
	}
	return prog, nil
}

// check prepares a --check for spec.
func (p *programFlags) check(spec lab.Spec) (*labCheck, error) {
	prog, err := p.program()
	if err != nil {
		return nil, err
	}
	if p.name == "" {
		return nil, errors.New("--check needs --name: the name the program resolves")
	}
	if p.deadline < 0 {
		return nil, fmt.Errorf("--deadline %s: want a positive duration", p.deadline)
	}
	return &labCheck{
		prog:     prog,
		req:      model.Request{Name: p.name, Network: p.network, Dial: p.dial, Port: p.port, Deadline: p.deadline},
		scenario: spec.Scenario,
	}, nil
}
