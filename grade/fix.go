package grade

import (
	"fmt"
	"net/netip"
	"path"
	"sort"
	"strings"

	"github.com/nsscope/nsscope/internal/unidiff"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

// candidate is one possible remedy: a change to the environment, the
// program or the request, re-run through the model to predict its effect.
type candidate struct {
	description string
	diff        string
	env         model.Env
	prog        model.Program
	req         model.Request
}

// fixes returns the remedies that improve the outcome, best first, each
// with the time the model predicts once it is applied.
func (s *scanner) fixes(o outcome, name string) []report.Fix {
	var cands []candidate
	base := candidate{env: s.env, prog: o.v.Program, req: s.request(name)}
	p := o.v.Program

	// 1. Put /etc/hosts first in nsswitch.conf: read by Go (every
	// version) and by glibc, not by musl.
	if p.Impl == model.ImplGo || p.Impl == model.ImplGlibc {
		c := base
		c.description, c.diff, c.env.NSSwitch = nsswitchFix(s.env.NSSwitch)
		cands = append(cands, c)
	}
	// 2. Go before 1.16 asks DNS first when nsswitch.conf is missing.
	if p.Impl == model.ImplGo && p.Go.Version.Less(model.V(1, 16, 0)) {
		c := base
		c.prog.Go.Version = model.V(1, 16, 0)
		c.prog.Label = ""
		c.description = "rebuild with Go >= 1.16 (which reads /etc/hosts first when /etc/nsswitch.conf is missing)"
		cands = append(cands, c)
	}
	// 3. glibc before 2.35 defaults to DNS first without nsswitch.conf.
	if s.env.NSSwitch.Missing && (p.Impl == model.ImplGlibc || (p.Impl == model.ImplGo && p.Go.Cgo)) &&
		p.Libc.Kind == "glibc" && !p.Libc.Version.IsZero() && p.Libc.Version.Less(model.V(2, 35, 0)) {
		c := base
		c.prog.Libc.Version = model.V(2, 35, 0)
		c.description = "use a base image with glibc >= 2.35 (its built-in default is `files dns`)"
		cands = append(cands, c)
	}
	// 4. Dial the address /etc/hosts gives for a loopback name.
	if lit := loopbackLiteral(name); lit != "" {
		c := base
		c.req.Name = lit
		c.description = fmt.Sprintf("dial %s instead of %s (no lookup at all)", lit, name)
		cands = append(cands, c)
	}

	type scored struct {
		fix report.Fix
		sev report.Severity
	}
	var out []scored
	for _, c := range cands {
		pred, err := s.predict(c.env, c.prog, c.req, silent())
		if err != nil {
			continue
		}
		sev, _ := classify(pred, o.hostsAnswers || c.req.Name != name, s.deadline)
		if sev >= o.severity && pred.Total >= o.pred.Total {
			continue // no better: not a fix
		}
		out = append(out, scored{report.Fix{
			Description:  c.description,
			After:        pred.Total,
			AfterQueries: pred.Queries,
			Diff:         c.diff,
			Predict:      pred,
		}, sev})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].sev != out[j].sev {
			return out[i].sev < out[j].sev
		}
		return out[i].fix.After < out[j].fix.After
	})
	fixes := make([]report.Fix, len(out))
	for i, x := range out {
		fixes[i] = x.fix
	}
	return fixes
}

// nsswitchFix gives /etc/nsswitch.conf exactly one hosts line, `hosts:
// files dns`, keeping every other line: the first hosts line is replaced
// and any later one deleted, because readers disagree about a second
// hosts line (Go concatenates them, glibc uses the first; see
// conf.ParseNSSwitch), so only a single line means the same to all. A
// missing file is created. It returns the description, a unified diff
// relative to the target's root (apply it there with `git apply` or
// `patch -p1`) and the new file.
func nsswitchFix(cur model.File) (desc, diff string, next model.File) {
	const want = "hosts: files dns"
	next = model.File{Path: cur.Path, Origin: "with the fix applied"}
	if next.Path == "" {
		next.Path = "/etc/nsswitch.conf"
	}
	rel := strings.TrimPrefix(path.Clean("/"+next.Path), "/")
	if cur.Missing || cur.ReadErr != "" {
		edits := []unidiff.Edit{{Line: 1, Insert: []string{want}}}
		next.Data = unidiff.Apply(nil, edits)
		return "add `" + want + "` to /etc/nsswitch.conf (the file is missing)",
			unidiff.Diff("/dev/null", rel, nil, edits), next
	}
	var edits []unidiff.Edit
	var first string
	lines := strings.Split(string(cur.Data), "\n")
	for i, l := range lines {
		if !isHostsLine(l) {
			continue
		}
		if edits == nil {
			first = l
			edits = append(edits, unidiff.Edit{Line: i + 1, Delete: 1, Insert: []string{want}})
			continue
		}
		edits = append(edits, unidiff.Edit{Line: i + 1, Delete: 1})
	}
	switch {
	case len(edits) == 0:
		n := len(lines)
		if strings.HasSuffix(string(cur.Data), "\n") || len(cur.Data) == 0 {
			n-- // the empty string after the last line end is no line
		}
		edits = []unidiff.Edit{{Line: n + 1, Insert: []string{want}}}
		desc = "add `" + want + "` to /etc/nsswitch.conf (it has no hosts line)"
	case len(edits) == 1:
		desc = fmt.Sprintf("change line %d of /etc/nsswitch.conf from `%s` to `%s`", edits[0].Line, strings.TrimSpace(first), want)
	default:
		desc = fmt.Sprintf("change line %d of /etc/nsswitch.conf from `%s` to `%s` and delete the %d later hosts lines (Go reads them all, glibc only the first)",
			edits[0].Line, strings.TrimSpace(first), want, len(edits)-1)
	}
	next.Data = unidiff.Apply(cur.Data, edits)
	return desc, unidiff.Diff(rel, rel, cur.Data, edits), next
}

// isHostsLine reports a line that Go or glibc reads as the hosts
// database: "hosts" (glibc: in any case) before the colon, once the
// comment and surrounding white space are cut.
func isHostsLine(l string) bool {
	if i := strings.IndexByte(l, '#'); i >= 0 {
		l = l[:i]
	}
	db, _, ok := strings.Cut(l, ":")
	return ok && strings.EqualFold(strings.TrimSpace(db), "hosts")
}

// loopbackLiteral is the address to dial instead of a loopback name, or ""
// when name is not one.
func loopbackLiteral(name string) string {
	n := strings.TrimSuffix(strings.ToLower(name), ".")
	if n == "localhost" || strings.HasSuffix(n, ".localhost") {
		return "127.0.0.1"
	}
	if n == "ip6-localhost" || n == "ip6-loopback" {
		return netip.IPv6Loopback().String()
	}
	return ""
}
