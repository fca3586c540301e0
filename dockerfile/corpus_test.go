package dockerfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/grade"
	"github.com/nsscope/nsscope/internal/golden"
	"github.com/nsscope/nsscope/report"
)

// corpusCase is one directory of testdata/corpus: a Dockerfile whose
// comments carry the expectations, written by hand:
//
//	# expect: SEVERITY SUBJECT   a finding for SUBJECT with that severity
//	# expect-max: SEVERITY|none  the highest severity of the report
//	# runtime: docker            check under --runtime docker
//	# build-arg: K=V             a --build-arg
//	# target: STAGE              a --target
type corpusCase struct {
	dir      string
	expects  [][2]string
	max      string
	opt      CheckOptions
	contents []byte
}

func loadCase(t *testing.T, dir string) corpusCase {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	c := corpusCase{dir: dir, contents: src}
	c.opt.Analyze.BuildArgs = map[string]string{}
	c.opt.Analyze.Context = os.DirFS(dir)
	for _, l := range strings.Split(string(src), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(l, "# "), ": ")
		if !ok || !strings.HasPrefix(l, "# ") {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "expect":
			sev, subj, _ := strings.Cut(v, " ")
			c.expects = append(c.expects, [2]string{sev, subj})
		case "expect-max":
			c.max = v
		case "runtime":
			c.opt.Runtime.Kind = grade.RuntimeKind(v)
		case "build-arg":
			bk, bv, _ := strings.Cut(v, "=")
			c.opt.Analyze.BuildArgs[bk] = bv
		case "target":
			c.opt.Analyze.Target = v
		}
	}
	if c.max == "" {
		t.Fatalf("%s: no expect-max line", dir)
	}
	return c
}

// TestCorpus checks every Dockerfile of testdata/corpus against the
// expectations written in it and against its golden file, then applies
// the proposed fix and checks that nothing at warning or above is left.
func TestCorpus(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "corpus", "*"))
	if err != nil || len(dirs) < 30 {
		t.Fatalf("corpus: %d cases, want at least 30 (%v)", len(dirs), err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			c := loadCase(t, dir)
			f, err := Parse("Dockerfile", c.contents)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Check(f, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			rep := res.Report
			for _, e := range c.expects {
				found := false
				for _, fd := range rep.Findings {
					if fd.Subject == e[1] {
						found = true
						if fd.Severity.String() != e[0] {
							t.Errorf("%s: %s, want %s (%s)", e[1], fd.Severity, e[0], fd.Message)
						}
					}
				}
				if !found {
					t.Errorf("no finding for %s; findings: %s", e[1], summarize(rep))
				}
			}
			gotMax := "none"
			if m, ok := rep.Max(); ok {
				gotMax = m.String()
			}
			if gotMax != c.max {
				t.Errorf("highest severity %s, want %s; findings: %s", gotMax, c.max, summarize(rep))
			}
			got := goldenText(res)
			// The fix, applied, must leave nothing at warning or above.
			if diff := res.Diff(); diff != "" {
				g, err := Parse("Dockerfile", Apply(c.contents, res.Edits))
				if err != nil {
					t.Fatalf("fixed Dockerfile does not parse: %v", err)
				}
				after, err := Check(g, c.opt)
				if err != nil {
					t.Fatal(err)
				}
				if after.Report.Fails(report.Warning) {
					t.Errorf("after the fix: %s", summarize(after.Report))
				}
				got += fmt.Sprintf("after the fix: %s\n", summarize(after.Report))
			} else if rep.Fails(report.Critical) {
				t.Errorf("a critical finding without a Dockerfile fix")
			}
			path := filepath.Join(dir, "golden.txt")
			if golden.Update() {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("golden mismatch (run go test -update to accept):\n--- got\n%s\n--- want\n%s", got, want)
			}
		})
	}
}

func summarize(r *report.Report) string {
	if len(r.Findings) == 0 {
		return "no findings"
	}
	var parts []string
	for _, f := range r.Findings {
		parts = append(parts, fmt.Sprintf("%s %s %s", f.Severity, f.RuleID, f.Subject))
	}
	return strings.Join(parts, "; ")
}

// goldenText renders what the corpus pins: the analysis, the verdicts (rule,
// severity) and the fixes with their diffs. Times come from the model and
// are left out, so that the analysis can be pinned on its own.
func goldenText(res *Result) string {
	var b strings.Builder
	a := res.Analysis
	fmt.Fprintf(&b, "final: stage %s, FROM %s\n", a.Final.Stage.Label(), a.Final.Base)
	fmt.Fprintf(&b, "base: %s\n", a.Final.Image.Description())
	fmt.Fprintf(&b, "nsswitch: %s (%s)\n", a.Final.NSSwitch, a.Final.NSSwitch.Origin)
	if a.Final.NSSwitch.Note != "" {
		fmt.Fprintf(&b, "  note: %s\n", a.Final.NSSwitch.Note)
	}
	for _, p := range a.Programs {
		fmt.Fprintf(&b, "program: %s", subject(p))
		if p.Main {
			b.WriteString(" (main)")
		}
		if bd := p.Build; bd != nil {
			v := bd.Version.String()
			if v == "" {
				v = "unknown"
			}
			fmt.Fprintf(&b, ": Go %s, cgo=%t, netgo=%t, libc=%s, built in stage %s at line %d", v, bd.Cgo, bd.Netgo, bd.Libc, bd.Stage, bd.Line)
			for _, x := range bd.Assumed {
				fmt.Fprintf(&b, "\n  assumed: %s", x)
			}
		}
		b.WriteString("\n")
	}
	for _, n := range a.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, f := range res.Report.Findings {
		fmt.Fprintf(&b, "finding: %s %s %s %s\n", f.Severity, f.RuleID, f.Subject, f.Name)
		for _, fx := range f.Fixes {
			fmt.Fprintf(&b, "  fix: %s\n", fx.Description)
		}
	}
	if d := res.Diff(); d != "" {
		fmt.Fprintf(&b, "diff:\n%s", d)
	}
	return b.String()
}

// TestIncidentTimes pins the model's numbers for the incident's shape: 4
// candidate names x 2 attempts x 1 server x 5 s = 40 s against a 30 s
// deadline, and 0 s once fixed.
func TestIncidentTimes(t *testing.T) {
	c := loadCase(t, filepath.Join("testdata", "corpus", "incident"))
	f, err := Parse("Dockerfile", c.contents)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Check(f, c.opt)
	if err != nil {
		t.Fatal(err)
	}
	var crit []report.Finding
	for _, fd := range res.Report.Findings {
		if fd.Severity == report.Critical {
			crit = append(crit, fd)
		}
	}
	if len(crit) != 1 {
		t.Fatalf("%d critical findings, want 1: %s", len(crit), summarize(res.Report))
	}
	fd := crit[0]
	if fd.Time.Duration() != 30*time.Second || fd.Queries == 0 {
		t.Errorf("time %s, %d queries; want the 30s deadline reached with DNS queries", fd.Time, fd.Queries)
	}
	if l := fd.Location.Line; fd.Location.Path != "Dockerfile" || l < 1 || !strings.HasPrefix(f.Lines[l-1], "FROM alpine:3.12") {
		t.Errorf("location %v, want the final FROM line", fd.Location)
	}
	if len(fd.Fixes) == 0 || fd.Fixes[0].After != 0 || fd.Fixes[0].AfterQueries != 0 {
		t.Errorf("first fix %+v, want 0 s and no queries after", fd.Fixes)
	}
	if !strings.Contains(res.Diff(), "+"+fixRun+"\n") {
		t.Errorf("diff does not add the workaround line:\n%s", res.Diff())
	}
}
