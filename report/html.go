package report

import (
	"fmt"
	"html/template"
	"io"
)

// WriteHTML writes r as one self-contained HTML page (no scripts, no
// external resources): the assumptions, a summary, and one row per finding
// whose details (reasons, decisive lines, fixes with diffs) unfold.
func WriteHTML(w io.Writer, r *Report) error {
	t, err := template.New("report").Funcs(template.FuncMap{
		"dur": Duration,
		"rule": func(id string) Rule {
			ru, _ := r.Rule(id)
			return ru
		},
	}).Parse(htmlTemplate)
	if err != nil {
		return fmt.Errorf("writing HTML report: %w", err)
	}
	c := r.Counts()
	data := struct {
		*Report
		Critical, Warning, Info int
	}{r, c[Critical], c[Warning], c[Info]}
	if err := t.Execute(w, data); err != nil {
		return fmt.Errorf("writing HTML report: %w", err)
	}
	return nil
}

const htmlTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nsscope report: {{.Target}}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; }
.sub { color: #555; margin-top: 0; }
.summary span { display: inline-block; margin-right: 1rem; }
table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
th, td { text-align: left; vertical-align: top; padding: .45rem .5rem; border-bottom: 1px solid #ddd; }
th { font-weight: 600; background: #f5f5f7; }
.sev { font-weight: 700; text-transform: uppercase; font-size: .8rem; padding: .1rem .4rem; border-radius: .25rem; white-space: nowrap; }
.critical { background: #b3261e; color: #fff; }
.warning { background: #f2b705; color: #1d1d1f; }
.info { background: #d8e8d8; color: #1d4d1d; }
details summary { cursor: pointer; color: #0b57d0; }
ul.reasons { margin: .3rem 0 .3rem 1.2rem; padding: 0; }
pre { background: #f5f5f7; padding: .5rem; overflow-x: auto; }
.num { white-space: nowrap; }
</style>
</head>
<body>
<h1>nsscope report</h1>
<p class="sub">Target: <code>{{.Target}}</code>{{if .Version}} · {{.Tool}} {{.Version}}{{end}}</p>
<p class="summary"><span class="sev critical">{{.Critical}} critical</span><span class="sev warning">{{.Warning}} warning</span><span class="sev info">{{.Info}} info</span></p>
{{- if .Assumptions}}
<h2>Assumed</h2>
<ul>
{{- range .Assumptions}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- end}}
<h2>Findings</h2>
{{- if not .Findings}}
<p>No findings.</p>
{{- else}}
<table>
<thead><tr><th>Severity</th><th>Program</th><th>Name</th><th>Verdict</th><th>Time</th><th>Best fix</th></tr></thead>
<tbody>
{{- range .Findings}}
<tr>
<td><span class="sev {{.Severity}}">{{.Severity}}</span></td>
<td class="mono">{{.Subject}}{{if .Main}} <strong>(main)</strong>{{end}}</td>
<td class="mono">{{.Name}}</td>
<td>{{.Message}}
{{- if or .Reasons .Related .Fixes}}
<details><summary>why{{with rule .RuleID}}{{if .Name}} ({{.Name}}){{end}}{{end}}</summary>
{{- if .Reasons}}
<ul class="reasons">
{{- range .Reasons}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- end}}
{{- if .Related}}
<p>Decided by:</p>
<ul class="reasons">
{{- range .Related}}
<li><code>{{.}}</code>{{if .Message}}: {{.Message}}{{end}}</li>
{{- end}}
</ul>
{{- end}}
{{- range .Fixes}}
<p>Fix: {{.Description}} → <span class="num">{{dur .After}}</span>, {{.AfterQueries}} DNS queries</p>
{{- if .Diff}}
<pre>{{.Diff}}</pre>
{{- end}}
{{- end}}
</details>
{{- end}}
</td>
<td class="num">{{if .Time}}{{dur .Time}}{{else}}0s{{end}}</td>
<td>{{if and .Fixes (ne .Severity.String "info")}}{{with index .Fixes 0}}{{.Description}} → <span class="num">{{dur .After}}</span>{{end}}{{end}}</td>
</tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- if .Notes}}
<h2>Notes</h2>
<ul>
{{- range .Notes}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- end}}
</body>
</html>
`
