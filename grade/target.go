package grade

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/sysenv"
)

// FromTarget reads what Run needs from an opened target: the programs
// that resolve names (the main process marked, hard links folded into one
// program), the root's C libraries, the image environment, and notes on
// what was skipped. spec is the target as the user named it.
func FromTarget(ctx context.Context, t *target.Tree, spec string) (Input, error) {
	entries, err := t.Programs(ctx)
	if err != nil {
		return Input{}, err
	}
	libc := t.Libc()
	cfg := t.Config()
	main, hasMain := t.Main()
	desc := t.Description()
	in := Input{
		Target: describeTarget(desc, spec),
		Root:   sysenv.FromTarget(t, ""),
		Env:    cfg.Env,
	}
	mainSeen := false
	silent, libs := 0, 0
	for _, g := range groupLinks(entries, main.Path) {
		e := g[0]
		isMain := hasMain && main.Path == e.Path
		if e.Binary == nil {
			// A damaged ELF program: what it does cannot be read, which
			// is not the same as doing nothing.
			in.Programs = append(in.Programs, Program{Path: e.Path, Main: isMain,
				Unknown: "the file is an ELF program nsscope cannot read (" + e.InspectErr + ")"})
			mainSeen = mainSeen || isMain
			continue
		}
		if isSharedLibrary(e) {
			libs++ // its resolver calls are its programs' calls
			continue
		}
		p, resolves := FromBinary(e.Path, isMain, e.Binary, libc)
		if !resolves {
			silent++
			continue
		}
		if len(g) > 1 {
			p.Facts = append(p.Facts, linksFact(g))
		}
		if why := t.StartProblem(e); why != "" {
			p.CannotStart = why
		}
		mainSeen = mainSeen || isMain
		in.Programs = append(in.Programs, p)
	}
	if silent > 0 {
		in.Notes = append(in.Notes, fmt.Sprintf("%d other ELF programs show no name resolution (no package net, no resolver import, no resolver linked in): no finding", silent))
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
	switch {
	case desc.NotRoot:
		in.Notes = append(in.Notes, fmt.Sprintf("%s is not a root filesystem (no /etc, /usr, /bin, /sbin or /lib): its programs are graded, but the C library and /etc files they will see are not in it", spec))
	case len(libc) == 0:
		in.Notes = append(in.Notes, "no C library found in the root")
	}
	in.Notes = append(in.Notes, t.Notes()...)
	return in, nil
}

// NoneFound reports a scan that found no program resolving host names:
// nothing was graded, which a CI gate may want to treat as a failure
// rather than as clean.
func NoneFound(rep *report.Report) bool { return len(rep.Findings) == 0 }

// NoneFoundMessage is the line said when NoneFound.
func NoneFoundMessage(target string) string {
	return "no program that resolves host names found in " + target
}

// multiCall are programs installed once under many names (applets as
// hard links): the group of links is named after the program itself.
var multiCall = []string{"busybox", "toybox"}

// groupLinks groups the entries that are one file under several names
// (hard links share their inspection result), in path order. The main
// process's path leads its group; else a multi-call binary's own name
// (/bin/busybox rather than /bin/[); else the first path.
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
		groups[i] = append(groups[i], e)
	}
	for _, g := range groups {
		lead := slices.IndexFunc(g, func(e target.Entry) bool { return e.Path == mainPath })
		if lead < 0 {
			lead = slices.IndexFunc(g, func(e target.Entry) bool { return slices.Contains(multiCall, path.Base(e.Path)) })
		}
		if lead > 0 {
			e := g[lead]
			copy(g[1:lead+1], g[:lead])
			g[0] = e
		}
	}
	return groups
}

// maxLinksListed bounds the other names listed for a hard-linked file.
const maxLinksListed = 400

// linksFact names the other paths of a hard-linked file.
func linksFact(g []target.Entry) string {
	var names []string
	for _, e := range g[1:] {
		if len(names) == maxLinksListed {
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
