package dockerfile

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/nsscope/nsscope/internal/unidiff"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

// fixRun is the RUN line the nsswitch fix adds to images with a shell. It
// gives the image exactly one hosts line, `hosts: files dns`, whatever the
// base image has, and succeeds in every case (proven by
// TestFixRunsInRealImages in chroots of real Alpine and busybox roots):
//
//   - no file (Alpine before 3.16.3, busybox musl): sed fails quietly and
//     printf creates the file;
//   - a file with `hosts: files dns` (Alpine 3.16.3+, Debian): the line is
//     replaced by the same line;
//   - a file with `hosts: dns files` or `hosts: dns`: the fix is needed
//     (Go and glibc ask DNS first, so localhost waits on the nameservers),
//     and the line is replaced;
//   - several hosts lines: all go, because Go concatenates them and glibc
//     uses the first, so only one line means the same to both.
//
// The other lines of the file are kept. printf starts with a line end so
// that a file whose last line has none is not glued to the new line (a
// blank line means nothing in nsswitch.conf). The workaround the official
// images used, `[ ! -e /etc/nsswitch.conf ] && echo ... >`, is not used:
// it exits 1, failing the build, once the base image has the file (Alpine
// 3.16.3 and later), and `[ -e ... ] ||` keeps a dns-first file unfixed.
const fixRun = `RUN sed -i '/^[[:space:]]*hosts[[:space:]]*:/d' /etc/nsswitch.conf 2>/dev/null; printf '\nhosts: files dns\n' >> /etc/nsswitch.conf`

// fixCopyHeredoc is the fix for images without a shell (scratch,
// distroless): COPY needs no shell, and the here-document needs no file in
// the build context.
func fixCopyHeredoc() []string {
	return []string{"COPY <<EOF /etc/nsswitch.conf", "hosts: files dns", "EOF"}
}

// goFixed is the first Go release that reads /etc/hosts first without
// /etc/nsswitch.conf.
var goFixed = model.V(1, 16, -1)

// Edit is one change to the Dockerfile: Delete lines starting at Line
// (1-based) are replaced by Insert. A pure insertion has Delete 0 and puts
// Insert before Line (Line = len(lines)+1 appends).
type Edit = unidiff.Edit

// Apply returns src with the edits applied. Edits must not overlap.
func Apply(src []byte, edits []Edit) []byte {
	return unidiff.Apply(src, edits)
}

// addEdit appends e unless an identical edit is there.
func addEdit(es []Edit, e Edit) []Edit {
	for _, x := range es {
		if x.Line == e.Line && x.Delete == e.Delete && slices.Equal(x.Insert, e.Insert) {
			return es
		}
	}
	return append(es, e)
}

// UnifiedDiff renders the edits of the Dockerfile src, named name, as a
// unified diff with three lines of context ("" when there are no edits).
// A relative name gets git's a/ and b/ prefixes (git apply, patch -p1).
func UnifiedDiff(name string, src []byte, edits []Edit) string {
	return unidiff.Diff(name, name, src, edits)
}

// candidateFix is a Dockerfile change with its description.
type candidateFix struct {
	desc  string
	edits []Edit
	// bundle marks an earlier candidate with more changes: it is offered
	// only when it does better than every fix already found.
	bundle bool
}

// nssFix is the change that gives the final image `hosts: files dns`.
func nssFix(a *Analysis) candidateFix {
	final := a.Final
	st := final.Stage
	after := st.From.EndLine
	where := fmt.Sprintf("after line %d (the final stage's FROM)", after)
	n := final.NSSwitch
	if n.Line > st.From.Line {
		for _, in := range st.Instrs {
			if in.Line == n.Line {
				after = in.EndLine
				where = fmt.Sprintf("after line %d, which sets /etc/nsswitch.conf", after)
			}
		}
	}
	e := Edit{Line: after + 1}
	// RUN runs as the USER in effect there; writing /etc needs root.
	user := final.FromUser
	for _, in := range st.Instrs {
		if in.Line <= after && in.Cmd == "user" && len(in.Args) > 0 {
			user = in.Args[0]
		}
	}
	var desc string
	switch {
	case !final.Shell:
		e.Insert = fixCopyHeredoc()
		desc = fmt.Sprintf("write /etc/nsswitch.conf with `hosts: files dns` %s using a COPY here-document: %s has no shell for RUN, COPY needs none and the file needs no place in the build context (here-documents need BuildKit: Docker 23+, or `# syntax=docker/dockerfile:1.4`; without it, commit an nsswitch.conf holding that line next to the Dockerfile and COPY it)",
			where, final.Image.Ref)
	default:
		e.Insert = []string{fixRun}
		desc = fmt.Sprintf("make `hosts: files dns` the only hosts line of /etc/nsswitch.conf %s: `%s` (it works whether or not the base image has the file, and keeps its other lines)", where, fixRun)
	}
	if final.Shell && !isRoot(user) {
		e.Insert = append(append([]string{"USER root"}, e.Insert...), "USER "+user)
		desc += fmt.Sprintf(" (as root: USER %s is in effect there)", user)
	}
	return candidateFix{desc: desc, edits: []Edit{e}}
}

// isRoot reports whether a USER value is root (or the image default).
func isRoot(user string) bool {
	name, _, _ := strings.Cut(user, ":")
	return name == "" || name == "root" || name == "0"
}

// goBumpFix is the change that builds the program with Go 1.16, when the
// version is written in a FROM tag or an ARG default.
func goBumpFix(a *Analysis, b *GoBuild) (candidateFix, bool) {
	s := b.VersionEdit
	if s == nil || b.Version.IsZero() || !b.Version.Less(goFixed) || s.Line < 1 || s.Line > len(a.File.Lines) {
		return candidateFix{}, false
	}
	line := a.File.Lines[s.Line-1]
	var old, repl string
	switch s.Kind {
	case "from-tag":
		// 1.15-alpine → 1.16-alpine, 1.15.7-buster → 1.16-buster.
		ver, rest, _ := strings.Cut(s.Old, "-")
		if _, err := model.ParseVersion(ver); err != nil {
			return candidateFix{}, false
		}
		old = ":" + s.Old
		repl = ":" + goFixed.String()
		if rest != "" {
			repl += "-" + rest
		}
	case "arg-default":
		k, _, _ := strings.Cut(s.Old, "=")
		old, repl = s.Old, k+"="+goFixed.String()
	default:
		return candidateFix{}, false
	}
	if strings.Count(line, old) != 1 {
		return candidateFix{}, false
	}
	newLine := strings.Replace(line, old, repl, 1)
	return candidateFix{
		desc:  fmt.Sprintf("build with Go %s or later (it reads /etc/hosts first when /etc/nsswitch.conf is missing): line %d `%s` → `%s`", goFixed, s.Line, strings.TrimSpace(line), strings.TrimSpace(newLine)),
		edits: []Edit{{Line: s.Line, Delete: 1, Insert: []string{newLine}}},
	}, true
}

// candidates are the Dockerfile changes that may fix program p's
// findings, in the order they are tried.
func candidates(a *Analysis, p *Program) []candidateFix {
	var cands []candidateFix
	if p.CannotStart != "" {
		// The program must start first; where nsswitch.conf then
		// matters, the nsswitch fix goes with it.
		c, ok := cgoOffFix(a, p)
		if !ok {
			return nil
		}
		cands = append(cands, c)
		if nss := nssFix(a); len(nss.edits) > 0 {
			cands = append(cands, candidateFix{desc: c.desc + "; and " + nss.desc, edits: append(slices.Clone(c.edits), nss.edits...), bundle: true})
		}
		return cands
	}
	if p.Build != nil || p.Libc.Kind == "glibc" {
		cands = append(cands, nssFix(a))
	}
	if p.Build != nil {
		if c, ok := goBumpFix(a, p.Build); ok {
			cands = append(cands, c)
		}
	}
	return cands
}

// cgoOffFix builds the program without cgo: it then links no C library
// and starts in any image. CGO_ENABLED=1 on the build line is changed
// there; otherwise ENV CGO_ENABLED=0 goes right before the build's RUN,
// where it overrides earlier ENV and ARG values.
func cgoOffFix(a *Analysis, p *Program) (candidateFix, bool) {
	b := p.Build
	if b == nil || b.Line < 1 || b.Line > len(a.File.Lines) {
		return candidateFix{}, false
	}
	line := a.File.Lines[b.Line-1]
	e := Edit{Line: b.Line, Insert: []string{"ENV CGO_ENABLED=0"}}
	where := fmt.Sprintf("add `ENV CGO_ENABLED=0` before line %d", b.Line)
	if strings.Count(line, "CGO_ENABLED=1") == 1 {
		e = Edit{Line: b.Line, Delete: 1, Insert: []string{strings.Replace(line, "CGO_ENABLED=1", "CGO_ENABLED=0", 1)}}
		where = fmt.Sprintf("set CGO_ENABLED=0 on line %d", b.Line)
	}
	return candidateFix{
		desc: fmt.Sprintf("build %s without cgo: %s, so it links no C library and starts in %s (if it needs cgo for other packages, build it in a stage with the image's C library instead)",
			p.Path, where, a.Final.Image.Ref),
		edits: []Edit{e},
	}, true
}

// dockerfileFixes returns the fixes for one finding, best first: the
// Dockerfile changes, each checked by analysing the patched Dockerfile
// again, then scan's fixes that need no Dockerfile change (dial the
// address literal, a newer glibc).
func dockerfileFixes(f *File, a *Analysis, p *Program, fd *report.Finding, opt CheckOptions, cache map[string]*report.Report) []report.Fix {
	type scored struct {
		fix report.Fix
		sev report.Severity
	}
	var out []scored
	for _, c := range candidates(a, p) {
		after, ok := predictPatched(f, c.edits, fd, opt, cache)
		if !ok || !(after.Severity < fd.Severity || after.Time < fd.Time) {
			continue
		}
		if c.bundle && slices.ContainsFunc(out, func(x scored) bool { return x.sev <= after.Severity }) {
			continue
		}
		out = append(out, scored{report.Fix{
			Description:  c.desc,
			After:        after.Time,
			AfterQueries: after.Queries,
			Diff:         UnifiedDiff(f.Name, f.Source, c.edits),
		}, after.Severity})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].sev < out[j].sev })
	fixes := make([]report.Fix, 0, len(out)+len(fd.Fixes))
	for _, x := range out {
		fixes = append(fixes, x.fix)
	}
	for _, fx := range fd.Fixes {
		// scan's nsswitch.conf and Go rebuild fixes are replaced by the
		// Dockerfile changes above.
		if fx.Diff != "" || strings.HasPrefix(fx.Description, "rebuild with Go") || strings.Contains(fx.Description, "/etc/nsswitch.conf") {
			continue
		}
		fixes = append(fixes, fx)
	}
	return fixes
}

// fixEdits returns the edits of the fix with the given description.
func fixEdits(f *File, a *Analysis, p *Program, desc string) []Edit {
	for _, c := range candidates(a, p) {
		if c.desc == desc {
			return c.edits
		}
	}
	return nil
}

// predictPatched checks the Dockerfile with edits applied and returns the
// finding for the same program and name. The reports of patched files are
// cached by edit, so each distinct fix is checked once however many
// findings it serves (a nil entry records a patch that did not check).
func predictPatched(f *File, edits []Edit, fd *report.Finding, opt CheckOptions, cache map[string]*report.Report) (report.Finding, bool) {
	key := fmt.Sprintf("%#v", edits)
	rep, seen := cache[key]
	if !seen {
		if g, err := Parse(f.Name, Apply(f.Source, edits)); err == nil {
			o := opt
			o.noFixes = true
			if res, err := Check(g, o); err == nil {
				rep = res.Report
			}
		}
		cache[key] = rep
	}
	if rep == nil {
		return report.Finding{}, false
	}
	for _, x := range rep.Findings {
		if x.Subject == fd.Subject && x.Name == fd.Name {
			return x, true
		}
	}
	return report.Finding{}, false
}
