package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/nsscope/nsscope/inspect"

	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/scan"
	"github.com/nsscope/nsscope/sysenv"
)

// scanInput reads what scan needs from an opened target: the programs
// that resolve names (the main process marked), the root's C libraries,
// the image environment, and notes on what was skipped.
func scanInput(ctx context.Context, t *target.Target, spec string) (scan.Input, error) {
	entries, err := t.Programs(ctx)
	if err != nil {
		return scan.Input{}, err
	}
	libc := t.Libc()
	cfg := t.Config()
	main, hasMain := t.Main()
	in := scan.Input{
		Target: describeTarget(t.Description(), spec),
		Root:   sysenv.FromTarget(t, ""),
		Env:    cfg.Env,
	}
	mainSeen := false
	silent, libs := 0, 0
	for _, g := range groupLinks(entries, main.Path) {
		e := g[0]
		if e.Binary == nil {
			in.Notes = append(in.Notes, fmt.Sprintf("%s: not inspected: %s", e.Path, e.InspectErr))
			continue
		}
		if isSharedLibrary(e) {
			libs++ // its resolver calls are its programs' calls
			continue
		}
		isMain := hasMain && main.Path == e.Path
		p, resolves := scan.FromBinary(e.Path, isMain, e.Binary, libc)
		if !resolves {
			silent++
			continue
		}
		if len(g) > 1 {
			p.Facts = append(p.Facts, linksFact(g))
		}
		mainSeen = mainSeen || isMain
		in.Programs = append(in.Programs, p)
	}
	if silent > 0 {
		in.Notes = append(in.Notes, fmt.Sprintf("%d other ELF programs show no name resolution (no package net, no resolver import; static C programs cannot be told): no finding", silent))
	}
	if libs > 0 {
		in.Notes = append(in.Notes, fmt.Sprintf("%d executable shared libraries skipped: they resolve names only on behalf of the programs that load them", libs))
	}
	switch {
	case !hasMain:
	case main.Path == "":
		in.Notes = append(in.Notes, fmt.Sprintf("main process %q: %s", main.Argv, main.Via))
	case !mainSeen:
		in.Notes = append(in.Notes, fmt.Sprintf("main process %s (%s) does not resolve host names itself, or is not an ELF program", main.Path, main.Via))
	}
	if len(libc) == 0 {
		in.Notes = append(in.Notes, "no C library found in the root")
	}
	in.Notes = append(in.Notes, t.Notes()...)
	return in, nil
}

// groupLinks groups the entries that are one file under several names
// (hard links share their inspection result), in path order; the main
// process's path, else the first path, leads its group.
func groupLinks(entries []target.Entry, mainPath string) [][]target.Entry {
	var groups [][]target.Entry
	index := map[*inspect.Binary]int{}
	for _, e := range entries {
		if e.Binary == nil {
			groups = append(groups, []target.Entry{e})
			continue
		}
		i, ok := index[e.Binary]
		if !ok {
			index[e.Binary] = len(groups)
			groups = append(groups, []target.Entry{e})
			continue
		}
		if e.Path == mainPath {
			groups[i] = append([]target.Entry{e}, groups[i]...)
		} else {
			groups[i] = append(groups[i], e)
		}
	}
	return groups
}

// linksFact names the other paths of a hard-linked file.
func linksFact(g []target.Entry) string {
	var names []string
	for _, e := range g[1:] {
		if len(names) == 5 {
			names = append(names, "...")
			break
		}
		names = append(names, e.Path)
	}
	return fmt.Sprintf("the same file is also at %d other path(s) (hard links): %s", len(g)-1, strings.Join(names, ", "))
}

// isSharedLibrary reports a C shared object (position-independent, no
// loader of its own): executable bits on a library do not make it a
// program. Go binaries are always programs.
func isSharedLibrary(e target.Entry) bool {
	b := e.Binary
	return b.Go == nil && b.Type == "ET_DYN" && b.Interp == "" && !b.Static
}

// describeTarget names the target for the report.
func describeTarget(d target.Description, spec string) string {
	s := spec
	if d.Kind != "" {
		s += " (" + string(d.Kind)
		if d.Platform != "" {
			s += ", " + d.Platform
		}
		if d.Digest != "" {
			s += ", " + d.Digest
		}
		s += ")"
	}
	return s
}
