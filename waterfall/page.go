package waterfall

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strings"

	"github.com/nsscope/nsscope/model"
)

// Page is one self-contained HTML document: no external scripts, fonts or
// styles, readable offline and as a CI artifact, printable, with a dark
// variant.
type Page struct {
	Title    string
	Subtitle string
	// Facts are label/value lines shown under the title (assumptions, the
	// environment).
	Facts    []Fact
	Sections []Section
	// Table, when set, is a list of findings sorted by severity with a
	// filter and a search box (a few lines of inline script; without
	// script it is a plain table).
	Table *Table
}

// Fact is one labelled line.
type Fact struct{ Label, Value string }

// Section is one program, lookup or comparison.
type Section struct {
	ID      string // anchor; rows of a Table link to it
	Heading string
	// Verdict is a word ("FAILS", "SLOW", "OK", "critical", …) and its
	// class is derived from it.
	Verdict string
	Summary string
	Steps   []Step
	Charts  []Chart
	// Fixes are remedies, each with the chart it predicts (before/after
	// beside the section's first chart).
	Fixes []Fix
	// Related are the decisive lines ("etc/resolv.conf:3: …").
	Related []string
	Notes   []string
	// Pre is preformatted text (a summary table), shown verbatim.
	Pre string
}

// Step is a decision with its reason and the file and line that caused it.
type Step struct{ Key, Value, Reason, Source string }

// StepsOf is a prediction's decision trail as the page shows it: each
// step's source cited as "file:line: the line's text".
func StepsOf(steps []model.Step) []Step {
	out := make([]Step, 0, len(steps))
	for _, st := range steps {
		s := Step{Key: st.Key, Value: st.Value, Reason: st.Reason}
		if st.Source != nil {
			s.Source = st.Source.String()
			if st.Source.Text != "" {
				s.Source += ": " + st.Source.Text
			}
		}
		out = append(out, s)
	}
	return out
}

// Fix is a remedy and its predicted effect.
type Fix struct {
	Text   string
	Effect string
	// Diff is the change as a unified diff, shown verbatim.
	Diff  string
	After *Chart
}

// Table lists findings.
type Table struct {
	Columns []string // after the severity column
	Rows    []TableRow
}

// TableRow is one finding.
type TableRow struct {
	Severity string // critical, warning, info
	Cells    []string
	Rule     string
	// Section is the ID of the section holding its waterfall; empty for
	// none.
	Section string
}

// severityRank orders rows: critical first.
func severityRank(s string) int {
	switch strings.ToLower(s) {
	case "critical":
		return 0
	case "warning":
		return 1
	case "info":
		return 2
	}
	return 3
}

// verdictClass maps a verdict word to a CSS class.
func verdictClass(v string) string {
	switch strings.ToUpper(v) {
	case "FAILS", "CRITICAL", "EXITS", "MISMATCH":
		return "v-bad"
	case "SLOW", "WARNING":
		return "v-warn"
	case "OK", "INFO", "READY", "MATCH", "SAFE":
		return "v-ok"
	}
	return "v-unknown"
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// inline renders text with `code` spans as <code>, everything else
// escaped.
func inline(s string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range codeSpan.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(template.HTMLEscapeString(s[last:m[0]]))
		b.WriteString("<code>" + template.HTMLEscapeString(s[m[2]:m[3]]) + "</code>")
		last = m[1]
	}
	b.WriteString(template.HTMLEscapeString(s[last:]))
	return template.HTML(b.String())
}

func svgOf(c Chart) (template.HTML, error) {
	var b bytes.Buffer
	if err := WriteSVG(&b, c); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil // WriteSVG escapes every text it writes
}

// WritePage renders the page.
func WritePage(w io.Writer, p Page) error {
	if p.Table != nil {
		rows := append([]TableRow(nil), p.Table.Rows...)
		stableSortRows(rows)
		t := *p.Table
		t.Rows = rows
		p.Table = &t
	}
	t, err := template.New("page").Funcs(template.FuncMap{
		"svg":     svgOf,
		"inline":  inline,
		"vclass":  verdictClass,
		"lower":   strings.ToLower,
		"style":   func() template.CSS { return template.CSS(Style + pageStyle) },
		"script":  func() template.JS { return template.JS(filterScript) },
		"plus1":   func(i int) int { return i + 1 },
		"nexch":   func(c Chart) int { return c.Exchanges() },
		"seconds": func(c Chart) string { return seconds(c.Span()) },
	}).Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("writing HTML: %w", err)
	}
	if err := t.Execute(w, p); err != nil {
		return fmt.Errorf("writing HTML: %w", err)
	}
	return nil
}

func stableSortRows(rows []TableRow) {
	// insertion sort keeps equal severities in their input order
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && severityRank(rows[j].Severity) < severityRank(rows[j-1].Severity); j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
}

const pageStyle = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 76rem; padding: 0 1rem; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.45rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid var(--grid); padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1rem 0 .3rem; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; }
code { background: var(--panel); padding: 0 .25em; border-radius: .2em; }
.sub { color: var(--muted); margin-top: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.verdict { font-weight: 700; padding: .1rem .45rem; border-radius: .25rem; border: 2px solid currentColor; white-space: nowrap; }
.v-bad { color: var(--critical); } .v-warn { color: #a0670b; } .v-ok { color: #00795a; } .v-unknown { color: var(--muted); }
@media (prefers-color-scheme: dark) { .v-warn { color: var(--warning); } .v-ok { color: var(--answer); } }
table { border-collapse: collapse; width: 100%; margin-top: .6rem; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--grid); }
th { background: var(--panel); }
.sev { font-weight: 700; text-transform: uppercase; font-size: .78rem; padding: .05rem .4rem; border-radius: .25rem; white-space: nowrap; border: 2px solid currentColor; }
.sev-critical { color: var(--critical); } .sev-warning { color: #a0670b; } .sev-info { color: #1f5f8b; }
ol.steps { padding-left: 1.4rem; } ol.steps li { margin: .2rem 0; }
.src { color: var(--muted); font-size: .85em; }
.fixes { display: grid; grid-template-columns: repeat(auto-fit, minmax(30rem, 1fr)); gap: 1rem; }
.fix { border: 1px solid var(--grid); border-radius: .4rem; padding: .5rem .7rem; }
.controls { margin: .8rem 0; display: flex; gap: 1rem; flex-wrap: wrap; align-items: center; }
.controls label { white-space: nowrap; }
pre { background: var(--panel); padding: .5rem; overflow-x: auto; }
figure { margin: .5rem 0 1rem; } figcaption { color: var(--muted); font-size: .85em; }
@media print { .controls { display: none; } body { max-width: none; margin: 0; } h2 { break-before: auto; } figure, .fix { break-inside: avoid; } }
`

// filterScript filters the findings table by severity and by a search over
// the row's text. Without script every row stays visible.
const filterScript = `
(function () {
  var t = document.getElementById('findings'); if (!t) return;
  var q = document.getElementById('search'), boxes = document.querySelectorAll('input[data-severity]');
  function apply() {
    var on = {}; boxes.forEach(function (b) { on[b.dataset.severity] = b.checked; });
    var needle = (q.value || '').toLowerCase();
    t.querySelectorAll('tbody tr').forEach(function (tr) {
      var show = on[tr.dataset.severity] !== false && tr.textContent.toLowerCase().indexOf(needle) >= 0;
      tr.hidden = !show;
    });
  }
  q.addEventListener('input', apply); boxes.forEach(function (b) { b.addEventListener('change', apply); });
  document.querySelector('.controls').hidden = false;
})();
`

const pageTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{{.Title}}</title>
<style>{{style}}</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{with .Subtitle}}<p class="sub">{{inline .}}</p>{{end}}
{{with .Facts}}<dl class="facts">{{range .}}<dt>{{.Label}}</dt><dd>{{inline .Value}}</dd>{{end}}</dl>{{end}}
{{with .Table}}
<div class="controls" hidden>
  <label><input type="checkbox" data-severity="critical" checked> critical</label>
  <label><input type="checkbox" data-severity="warning" checked> warning</label>
  <label><input type="checkbox" data-severity="info" checked> info</label>
  <label>search <input type="search" id="search" placeholder="name, path, rule"></label>
</div>
<table id="findings">
<thead><tr><th>severity</th>{{range .Columns}}<th>{{.}}</th>{{end}}<th>rule</th></tr></thead>
<tbody>
{{range .Rows}}<tr data-severity="{{lower .Severity}}"><td><span class="sev sev-{{lower .Severity}}">{{.Severity}}</span></td>{{$sec := .Section}}{{range $i, $c := .Cells}}<td>{{if and (eq $i 0) $sec}}<a href="#{{$sec}}">{{inline $c}}</a>{{else}}{{inline $c}}{{end}}</td>{{end}}<td><code>{{.Rule}}</code></td></tr>
{{end}}</tbody>
</table>
<script>{{script}}</script>
{{end}}
{{range .Sections}}
<section{{with .ID}} id="{{.}}"{{end}}>
<h2>{{.Heading}}{{with .Verdict}} <span class="verdict {{vclass .}}">{{.}}</span>{{end}}</h2>
{{with .Summary}}<p>{{inline .}}</p>{{end}}
{{range .Charts}}<figure>{{svg .}}<figcaption>{{with .Title}}{{.}}: {{end}}{{nexch .}} DNS exchange(s) over {{seconds .}} s</figcaption></figure>
{{end}}
{{with .Steps}}<h3>Why</h3><ol class="steps">{{range .}}<li><b>{{.Key}}</b> {{inline .Value}} — {{inline .Reason}}{{with .Source}} <span class="src">[{{.}}]</span>{{end}}</li>{{end}}</ol>{{end}}
{{with .Fixes}}<h3>Fixes, each predicted</h3><div class="fixes">{{range .}}<div class="fix"><p>{{inline .Text}}{{with .Effect}} → <b>{{inline .}}</b>{{end}}</p>{{with .Diff}}<pre>{{.}}</pre>{{end}}{{with .After}}<figure>{{svg .}}<figcaption>after the fix</figcaption></figure>{{end}}</div>{{end}}</div>{{end}}
{{with .Related}}<h3>Decided by</h3><ul>{{range .}}<li><code>{{.}}</code></li>{{end}}</ul>{{end}}
{{with .Pre}}<pre>{{.}}</pre>{{end}}
{{range .Notes}}<p class="src">Note: {{inline .}}</p>{{end}}
</section>
{{end}}
</body>
</html>
`
