package dockerfile

import (
	"fmt"
	"strings"
	"time"

	"github.com/nsscope/nsscope/grade"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/sysenv"
)

// CheckOptions steer Check.
type CheckOptions struct {
	Analyze Options
	// Runtime is what will run the image (default: Kubernetes,
	// ClusterFirst).
	Runtime grade.Runtime
	// Names are the host names checked (default localhost).
	Names []string
	// Deadline is the caller's deadline for one dial (default 30 s).
	Deadline time.Duration
	// Predict replaces the model (tests); nil means model.Predict.
	Predict model.PredictFunc
	// noFixes skips fix evaluation (used when predicting a fix's effect).
	noFixes bool
}

// Result is the outcome of Check.
type Result struct {
	Analysis *Analysis
	Report   *report.Report
	// Edits are the Dockerfile changes of the first fix of every finding
	// at warning or above, deduplicated: what --diff shows and --fix
	// writes.
	Edits []Edit
}

// Diff returns the unified diff of r.Edits ("" when there are none).
func (r *Result) Diff() string {
	return UnifiedDiff(r.Analysis.File.Name, r.Analysis.File.Source, r.Edits)
}

// Check analyses f, grades every program of the final
// image with the resolver model (through scan, so severities, reasons and
// rule IDs are the same as nsscope scan's), and attaches Dockerfile fixes
// whose effect is predicted by checking the patched Dockerfile again.
func Check(f *File, opt CheckOptions) (*Result, error) {
	if opt.Runtime.Kind == "" {
		opt.Runtime.Kind = grade.Kubernetes
	}
	if opt.Deadline <= 0 {
		opt.Deadline = grade.DefaultDeadline
	}
	if len(opt.Names) == 0 {
		opt.Names = grade.DefaultNames()
	}
	a, err := Analyze(f, opt.Analyze)
	if err != nil {
		return nil, err
	}
	final := a.Final
	progs := make([]grade.Program, 0, len(a.Programs))
	for _, p := range a.Programs {
		progs = append(progs, scanProgram(p))
	}
	run := func(nss NSSwitch) (*report.Report, error) {
		var root sysenv.Files
		if nss.Kind == NSSPresent {
			root = sysenv.Files{{Path: model.PathNSSwitch, Data: nss.Data}}
		}
		return grade.Run(grade.Input{
			Target:   f.Name,
			Root:     root,
			Programs: progs,
			Env:      envList(final.Env),
			Runtime:  opt.Runtime,
			Names:    opt.Names,
			Deadline: opt.Deadline,
			Predict:  opt.Predict,
		})
	}
	var rep *report.Report
	switch final.NSSwitch.Kind {
	case NSSUnknown:
		// Grade both states an image can plausibly be in; when they
		// disagree the verdict depends on the unknown base.
		missing, err := run(NSSwitch{Kind: NSSMissing})
		if err != nil {
			return nil, err
		}
		present, err := run(NSSwitch{Kind: NSSPresent, Data: []byte("hosts: files dns\n")})
		if err != nil {
			return nil, err
		}
		rep = mergeUnknown(missing, present, final)
	default:
		rep, err = run(final.NSSwitch)
		if err != nil {
			return nil, err
		}
	}
	rep.Assumptions = dockerfileAssumptions(rep.Assumptions, a)
	rep.Notes = append(rep.Notes, a.Notes...)
	if !final.Image.Known {
		rep.Notes = append(rep.Notes, fmt.Sprintf("base image %s is not in nsscope's table (%s): build the image and run `nsscope scan` on it", final.Image.Ref, final.Image.Reason))
	}
	res := &Result{Analysis: a, Report: rep}
	patched := map[string]*report.Report{}
	for i := range rep.Findings {
		fd := &rep.Findings[i]
		p := programFor(a, fd.Subject)
		locate(fd, a, p)
		if p != nil && p.CannotStart != "" {
			markCannotStart(fd, p)
		}
		if opt.noFixes || fd.Severity == report.Info || p == nil {
			continue
		}
		fd.Fixes = dockerfileFixes(f, a, p, fd, opt, patched)
		if len(fd.Fixes) > 0 {
			for _, e := range fixEdits(f, a, p, fd.Fixes[0].Description) {
				res.Edits = addEdit(res.Edits, e)
			}
		}
	}
	return res, nil
}

// envList renders the final stage's ENV for scan (GODEBUG and friends
// reach the programs).
func envList(env map[string]string) []string {
	var out []string
	for _, k := range []string{"GODEBUG", "LOCALDOMAIN", "RES_OPTIONS", "HOSTALIASES"} {
		if v, ok := env[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// subject names a program in findings.
func subject(p *Program) string {
	if p.Build == nil {
		return fmt.Sprintf("C programs using %s", p.Libc)
	}
	return p.Path
}

func programFor(a *Analysis, subj string) *Program {
	for _, p := range a.Programs {
		if subject(p) == subj {
			return p
		}
	}
	return nil
}

// scanProgram describes a program for scan.
func scanProgram(p *Program) grade.Program {
	sp := grade.Program{Path: subject(p), Main: p.Main}
	if p.Build == nil {
		impl := model.ImplMusl
		if p.Libc.Kind == "glibc" {
			impl = model.ImplGlibc
		}
		sp.Facts = append(sp.Facts, p.Reasons...)
		sp.Variants = []grade.Variant{{Program: model.Program{Impl: impl, Libc: p.Libc}}}
		return sp
	}
	b := p.Build
	sp.Facts = append(sp.Facts, p.Reasons...)
	if b.VersionFrom != "" {
		sp.Facts = append(sp.Facts, fmt.Sprintf("Go %s (%s)", b.Version, b.VersionFrom))
	}
	cgo := b.Cgo && !b.Netgo
	switch {
	case b.Netgo:
		sp.Facts = append(sp.Facts, "no cgo resolver: netgo tag ("+b.NetgoFrom+")")
	case b.Cgo:
		sp.Facts = append(sp.Facts, "cgo resolver compiled in: "+b.CgoFrom)
	default:
		sp.Facts = append(sp.Facts, "no cgo resolver: "+b.CgoFrom)
	}
	for _, x := range b.Assumed {
		sp.Facts = append(sp.Facts, "assumed: "+x)
	}
	prog := model.Program{Impl: model.ImplGo, Go: model.GoBuild{Version: b.Version, Cgo: cgo, NetgoTag: b.Netgo}}
	if cgo {
		prog.Libc = b.Libc
	}
	if b.Version.IsZero() {
		// Go's own default changed in 1.16: grade both sides of it.
		old, cur := prog, prog
		old.Go.Version, cur.Go.Version = model.V(1, 15, -1), latestGo
		sp.Variants = []grade.Variant{
			{Assume: "built with Go 1.15 or older", Program: old},
			{Assume: "built with Go 1.16 or later", Program: cur},
		}
		return sp
	}
	sp.Variants = []grade.Variant{{Program: prog}}
	return sp
}

// mergeUnknown combines the reports for "no nsswitch.conf" and "hosts:
// files dns": where they disagree the finding becomes a warning that
// depends on the base image.
func mergeUnknown(missing, present *report.Report, final *StageState) *report.Report {
	out := *missing
	out.Findings = nil
	for i, fm := range missing.Findings {
		if i >= len(present.Findings) {
			break
		}
		fp := present.Findings[i]
		f := fm
		why := fmt.Sprintf("/etc/nsswitch.conf in the final image is unknown (%s)", final.NSSwitch.Origin)
		if fm.Severity == fp.Severity {
			f.Reasons = append(f.Reasons, why+"; the verdict is the same with and without the file")
		} else {
			f.RuleID = report.RuleUnknown
			f.Severity = max(report.Warning, min(fm.Severity, fp.Severity))
			f.Message = fmt.Sprintf("outcome depends on the base image (run `nsscope scan` on the built image): %s without /etc/nsswitch.conf, %s with `hosts: files dns`; described: the worst case, %s", fm.Severity, fp.Severity, fm.Message)
			f.Reasons = append(f.Reasons, why+"; build the image and run `nsscope scan` on it")
		}
		out.Findings = append(out.Findings, f)
	}
	return &out
}

// dockerfileAssumptions replaces scan's statement about nsswitch.conf
// (scan reads it from the target; here it is derived from the Dockerfile)
// and adds the table version.
func dockerfileAssumptions(in []string, a *Analysis) []string {
	var out []string
	for _, s := range in {
		if strings.HasPrefix(s, "/etc/nsswitch.conf") {
			continue
		}
		out = append(out, s)
	}
	n := a.Final.NSSwitch
	desc := n.String()
	if n.Origin != "" {
		desc += " — " + n.Origin
	}
	if n.Note != "" {
		desc += " (" + n.Note + ")"
	}
	out = append(out,
		fmt.Sprintf("the image is built from stage %s (FROM %s at %s:%d)", a.Final.Stage.Label(), a.Final.Base, a.File.Name, a.Final.Stage.From.Line),
		"/etc/nsswitch.conf in the final image: "+desc,
		"base-image facts from nsscope's built-in table "+TableVersion)
	return out
}

// locate points a finding at the Dockerfile: the final stage's FROM line
// (where the nsswitch fix goes), with the lines that decided as related
// locations.
func locate(fd *report.Finding, a *Analysis, p *Program) {
	name := a.File.Name
	fd.Location = report.Location{Path: name, Line: a.Final.Stage.From.Line,
		Message: "the final stage: FROM " + a.Final.Base}
	var rel []report.Location
	if p != nil {
		if p.Build != nil {
			rel = append(rel, report.Location{Path: name, Line: p.Line, Message: "the program enters the image here"})
			if p.Build.Line != p.Line {
				rel = append(rel, report.Location{Path: name, Line: p.Build.Line, Message: "built here: " + p.Build.Command})
			}
			if s := p.Build.VersionEdit; s != nil && s.Line != p.Build.Line {
				rel = append(rel, report.Location{Path: name, Line: s.Line, Message: "Go " + p.Build.Version.String() + " comes from here"})
			}
		}
	}
	if l := a.Final.NSSwitch.Line; l > 0 {
		rel = append(rel, report.Location{Path: name, Line: l, Message: "/etc/nsswitch.conf: " + a.Final.NSSwitch.String()})
	}
	fd.Related = rel
}

// markCannotStart turns the finding of a program that cannot start in the
// image into a critical one: whatever its lookups would do, it never runs.
func markCannotStart(fd *report.Finding, p *Program) {
	fd.RuleID = report.RuleCannotStart
	fd.Severity = report.Critical
	fd.Message = "cannot start in this image: " + p.CannotStart
	fd.Reasons = append([]string{p.CannotStart}, fd.Reasons...)
	fd.Fixes = nil // scan's remedies are for a program that runs
}
