package dockerfile

// This file follows COPY and ADD: programs copied from build stages and
// files landing on /etc/nsswitch.conf (from stages, here-documents and the
// build context).

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// copy follows COPY and ADD: programs copied from build stages, and files
// landing on /etc/nsswitch.conf.
func (s *StageState) copy(a *Analysis, in Instr, opt Options) {
	name := a.File.Name
	where := fmt.Sprintf("%s:%d", name, in.Line)
	args := make([]string, 0, len(in.Args))
	for _, x := range in.Args {
		args = append(args, expandWord(a.File.Escape, x, s.vars()))
	}
	if len(args) < 2 {
		return
	}
	srcs, dst := args[:len(args)-1], args[len(args)-1]
	dirDst := strings.HasSuffix(dst, "/") || len(srcs) > 1
	dst = resolvePath(s.Workdir, dst)
	fromRef, fromSet := in.Flag("from")
	if fromSet {
		fromRef = expandWord(a.File.Escape, fromRef, s.vars())
	}
	var from *StageState
	if fromSet {
		from = findStage(a, fromRef)
	}
	heredoc := func(src string) (Heredoc, bool) {
		if !strings.HasPrefix(src, "<<") {
			return Heredoc{}, false
		}
		nm := strings.TrimLeft(strings.TrimPrefix(src, "<<"), "-")
		nm = strings.Trim(nm, `"'`)
		for _, h := range in.Heredocs {
			if h.Name == nm {
				return h, true
			}
		}
		return Heredoc{}, false
	}
	for _, src := range srcs {
		// Where the source lands, and which of its paths would become
		// /etc/nsswitch.conf.
		landing := dst
		if dirDst {
			landing = path.Join(dst, path.Base(src))
		}
		nssSrc := ""
		switch {
		case path.Clean(landing) == NSSwitchPath:
			nssSrc = src
		case strings.HasPrefix(NSSwitchPath, strings.TrimSuffix(path.Clean(dst), "/")+"/") || path.Clean(dst) == "/":
			// A directory copied into a parent of /etc: src/<rest>.
			rel := strings.TrimPrefix(NSSwitchPath, strings.TrimSuffix(path.Clean(dst), "/")+"/")
			nssSrc = path.Join(src, rel)
		}
		if h, ok := heredoc(src); ok {
			if path.Clean(dst) == NSSwitchPath || dirDst && path.Join(dst, h.Name) == NSSwitchPath {
				s.NSSwitch = NSSwitch{Kind: NSSPresent, Data: []byte(h.Content), Origin: fmt.Sprintf("%s: %s <<%s", where, strings.ToUpper(in.Cmd), h.Name), Line: in.Line}
			}
			continue
		}
		switch {
		case in.Cmd == "add" && !fromSet && isArchive(src) && nssSrc != "":
			// ADD unpacks a local archive: its contents are not read.
			s.NSSwitch = NSSwitch{Kind: NSSUnknown, Origin: fmt.Sprintf("%s: ADD %s unpacks an archive over %s (contents not followed)", where, src, path.Clean(dst)), Line: in.Line}
		case from != nil:
			s.copyFromStage(a, in, from, src, dst, dirDst, nssSrc)
		case fromSet:
			if nssSrc != "" && looksLikeNSSCopy(src, landing) {
				s.NSSwitch = NSSwitch{Kind: NSSUnknown, Origin: fmt.Sprintf("%s: copied from image %s (not followed)", where, fromRef), Line: in.Line}
			}
			if strings.Contains(src, "bin") {
				a.Notes = append(a.Notes, fmt.Sprintf("%s: %s copied from image %s is not followed; scan the built image", where, src, fromRef))
			}
		default:
			if nssSrc != "" && looksLikeNSSCopy(src, landing) {
				s.contextNSS(a, in, src, nssSrc, landing, opt.Context)
			}
		}
	}
}

// looksLikeNSSCopy reports whether copying src to landing can put a file at
// /etc/nsswitch.conf: the file itself, or a directory holding etc/.
func looksLikeNSSCopy(src, landing string) bool {
	return path.Clean(landing) == NSSwitchPath || !strings.Contains(path.Base(src), ".") || strings.HasSuffix(src, "/") || path.Base(src) == "etc"
}

// contextNSS reads a build-context file that lands on /etc/nsswitch.conf.
func (s *StageState) contextNSS(a *Analysis, in Instr, src, nssSrc, landing string, ctx fs.FS) {
	where := fmt.Sprintf("%s:%d", a.File.Name, in.Line)
	candidates := []string{}
	if path.Clean(landing) == NSSwitchPath {
		candidates = append(candidates, src)
	}
	candidates = append(candidates, nssSrc)
	if strings.Contains(src, "://") {
		s.NSSwitch = NSSwitch{Kind: NSSUnknown, Origin: where + ": ADD from a URL (not followed)", Line: in.Line}
		return
	}
	if ctx == nil {
		if path.Clean(landing) == NSSwitchPath {
			s.NSSwitch = NSSwitch{Kind: NSSUnknown, Origin: where + ": " + src + " from the build context (not read)", Line: in.Line}
		}
		return
	}
	for _, c := range candidates {
		p := strings.TrimPrefix(path.Clean("/"+c), "/")
		if p == "" || !fs.ValidPath(p) {
			continue
		}
		matches := []string{p}
		if strings.ContainsAny(p, "*?[") {
			m, err := fs.Glob(ctx, p)
			if err != nil || len(m) == 0 {
				continue
			}
			matches = m
		}
		// Only a regular file of sane size is read (no FIFOs, devices).
		st, err := fs.Stat(ctx, matches[0])
		if err != nil || !st.Mode().IsRegular() || st.Size() > 1<<20 {
			continue
		}
		data, err := fs.ReadFile(ctx, matches[0])
		if err != nil {
			continue
		}
		s.NSSwitch = NSSwitch{Kind: NSSPresent, Data: data, Origin: fmt.Sprintf("%s: %s %s (build context file %s)", where, strings.ToUpper(in.Cmd), src, matches[0]), Line: in.Line}
		return
	}
	if path.Clean(landing) == NSSwitchPath {
		s.NSSwitch = NSSwitch{Kind: NSSUnknown, Origin: fmt.Sprintf("%s: %s is not in the build context next to the Dockerfile", where, src), Line: in.Line}
	}
}

// copyFromStage follows COPY --from=<stage>.
func (s *StageState) copyFromStage(a *Analysis, in Instr, from *StageState, src, dst string, dirDst bool, nssSrc string) {
	where := fmt.Sprintf("%s:%d", a.File.Name, in.Line)
	srcAbs := resolvePath(from.Workdir, src)
	if nssSrc != "" && path.Clean(resolvePath(from.Workdir, nssSrc)) == NSSwitchPath {
		s.copyNSSwitch(a, in, from, srcAbs, where)
	}
	landing := dst
	if dirDst {
		landing = path.Join(dst, path.Base(srcAbs))
	}
	copied := fmt.Sprintf("%s: COPY --from=%s %s %s", where, from.Stage.Label(), src, dst)
	if s.copyPrograms(in, from, srcAbs, landing, copied) {
		return
	}
	match, reason := from.builtAt(a, src, srcAbs)
	if match == nil {
		return
	}
	p := &Program{Path: landing, Line: in.Line, Build: match, FromStage: from.Stage.Label()}
	if path.Clean(dst) != path.Clean(landing) && !dirDst {
		p.Path = dst
	}
	p.Reasons = append(p.Reasons, copied+reason)
	s.addProgram(p)
}

// copyNSSwitch carries the source stage's /etc/nsswitch.conf into s, which
// a COPY --from of it (or of a directory holding it) does.
func (s *StageState) copyNSSwitch(a *Analysis, in Instr, from *StageState, srcAbs, where string) {
	n := from.NSSwitch
	if n.Kind == NSSMissing {
		// Copying a missing file fails the build, unless it came with a
		// whole directory; either way the file is not created.
		if path.Clean(srcAbs) == NSSwitchPath {
			a.Notes = append(a.Notes, fmt.Sprintf("%s: stage %s has no %s, so this COPY fails", where, from.Stage.Label(), NSSwitchPath))
		}
		return
	}
	n.Origin = fmt.Sprintf("%s: COPY --from=%s (%s)", where, from.Stage.Label(), n.Origin)
	n.Line = in.Line
	s.NSSwitch = n
}

// copyPrograms copies the programs the source stage already holds (copied
// there from further up) under srcAbs to landing, and reports whether
// there were any.
func (s *StageState) copyPrograms(in Instr, from *StageState, srcAbs, landing, copied string) bool {
	found := false
	for _, p := range from.Programs {
		if p.Build == nil {
			continue
		}
		rel, ok := under(p.Path, srcAbs)
		if !ok {
			continue
		}
		q := *p
		q.Path = path.Join(landing, rel)
		if rel == "" {
			q.Path = landing
		}
		q.Line = in.Line
		q.FromStage = from.Stage.Label()
		q.Reasons = append(append([]string(nil), p.Reasons...), copied)
		s.addProgram(&q)
		found = true
	}
	return found
}

// builtAt is the go build of stage s whose output srcAbs is (the last
// one, when no -o matches and srcAbs does not look like data), or for a
// golang stage with no go build line an assumed build by its toolchain;
// reason says what was assumed. Nil means srcAbs is no Go binary built
// here.
func (s *StageState) builtAt(a *Analysis, src, srcAbs string) (*GoBuild, string) {
	var match *GoBuild
	for _, b := range s.Builds {
		for _, o := range b.Outputs {
			if outputHolds(o, srcAbs) {
				match = b
			}
		}
	}
	if match != nil || looksLikeData(srcAbs) {
		return match, ""
	}
	if len(s.Builds) > 0 {
		match = s.Builds[len(s.Builds)-1]
		return match, fmt.Sprintf(" (no -o path matches %s; assumed to be the binary of the go build at line %d)", src, match.Line)
	}
	if s.Go.IsZero() {
		return nil, ""
	}
	return s.unseenBuild(a, src), ""
}

// outputHolds reports whether a COPY of srcAbs takes the output o of a
// go build: the file itself or a directory above it, or for an output
// directory ("dir/") a file in it or a directory above it.
func outputHolds(o, srcAbs string) bool {
	if dir, isDir := strings.CutSuffix(o, "/"); isDir {
		if _, ok := under(srcAbs, dir); ok && path.Clean(srcAbs) != path.Clean(o) {
			return true
		}
		_, ok := under(dir, srcAbs)
		return ok
	}
	_, ok := under(o, srcAbs)
	return ok
}

// unseenBuild is the build of a golang stage whose go build runs in a
// script nsscope cannot see (make, build.sh): the toolchain's version is
// all there is, and cgo is ENV's CGO_ENABLED or Go's default.
func (s *StageState) unseenBuild(a *Analysis, src string) *GoBuild {
	b := &GoBuild{Stage: s.Stage.Label(), Line: s.Stage.From.Line, Command: "(no go build line found)",
		Version: s.Go, VersionFrom: s.GoFrom, VersionEdit: rootFromVersionSite(a, s)}
	b.Assumed = append(b.Assumed, "no go build line found in stage "+s.Stage.Label()+"; assuming "+src+" is a Go binary built by its toolchain")
	if v, ok := s.Env["CGO_ENABLED"]; ok {
		b.Cgo = strings.TrimSpace(v) == "1"
		b.CgoFrom = "CGO_ENABLED=" + v + " (ENV)"
	} else {
		s.defaultCgo(b)
	}
	if b.Cgo {
		b.Libc = s.Image.Libc
	}
	return b
}

// addProgram records a program, replacing one copied to the same path
// before (the later COPY overwrites the file).
func (s *StageState) addProgram(p *Program) {
	s.Programs = slices.DeleteFunc(slices.Clone(s.Programs), func(q *Program) bool { return q.Path == p.Path })
	s.Programs = append(s.Programs, p)
}

// under reports whether p is dir or inside it, and the rest of the path.
func under(p, dir string) (string, bool) {
	p, dir = path.Clean(p), path.Clean(dir)
	if p == dir {
		return "", true
	}
	if dir == "/" {
		return strings.TrimPrefix(p, "/"), true
	}
	if strings.HasPrefix(p, dir+"/") {
		return p[len(dir)+1:], true
	}
	return "", false
}

// looksLikeData reports paths that are clearly not programs: certificates,
// time zones, configuration, web assets.
func looksLikeData(p string) bool {
	for _, prefix := range []string{"/etc/", "/usr/share/", "/usr/local/share/"} {
		if strings.HasPrefix(p, prefix) || p == strings.TrimSuffix(prefix, "/") {
			return true
		}
	}
	switch path.Ext(p) {
	case ".crt", ".pem", ".conf", ".json", ".yaml", ".yml", ".toml", ".html", ".js", ".css", ".txt", ".md", ".sql", ".tmpl", ".zip", ".tar", ".gz", ".key", ".ini", ".env", ".png", ".svg":
		return true
	}
	return false
}

// matchesEntry reports whether the ENTRYPOINT/CMD program is the file at p.
func matchesEntry(p, entry, workdir string) bool {
	if strings.Contains(entry, "/") {
		return path.Clean(resolvePath(workdir, entry)) == path.Clean(p)
	}
	return path.Base(p) == entry
}

// isArchive reports a source ADD unpacks (a local tar, possibly
// compressed).
func isArchive(src string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst"} {
		if strings.HasSuffix(strings.ToLower(src), ext) {
			return !strings.Contains(src, "://")
		}
	}
	return false
}
