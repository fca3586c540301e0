package waterfall

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/nsscope/nsscope/internal/browser"
	"github.com/nsscope/nsscope/internal/golden"
)

// TestBrowserIncident renders the incident's waterfall in a real Chromium
// and checks it in the DOM: one bar per exchange, the deadline line at
// 30 s on the axis, the result mark, and the findings filter.
func TestBrowserIncident(t *testing.T) {
	p := incident(t)
	page := Page{
		Title: "nsscope explain: localhost",
		Table: &Table{Columns: []string{"program", "finding"}, Rows: []TableRow{
			{Severity: "info", Cells: []string{"/bin/busybox", "files first"}, Rule: "NSS001"},
			{Severity: "critical", Cells: []string{"/usr/local/bin/kube-apiserver", "12 queries reach the 30 s deadline"}, Rule: "NSS002", Section: "go115"},
		}},
		Sections: []Section{{ID: "go115", Heading: "Go 1.15 static", Verdict: "FAILS", Charts: []Chart{FromPrediction("localhost, tcp, deadline 30 s", p)}}},
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "incident.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePage(f, page); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ctx := browser.Open(t, path)

	n := browser.Eval[int](t, ctx, `document.querySelectorAll('svg.waterfall [data-kind="exchange"]').length`)
	if n != 12 {
		t.Errorf("%d exchange rows in the DOM, want 12", n)
	}
	// The deadline line sits where the axis says 30 s: its x equals the
	// 30 s tick's, and the 0 s tick is left of it.
	pos := browser.Eval[struct{ Deadline, Tick30, Tick0 float64 }](t, ctx, `(() => {
	  const x = s => document.querySelector(s).getBoundingClientRect().x;
	  return {Deadline: x('[data-kind="deadline"] line'), Tick30: x('[data-kind="tick"][data-seconds="30"] line'), Tick0: x('[data-kind="tick"][data-seconds="0"] line')};
	})()`)
	if d := pos.Deadline - pos.Tick30; d < -1 || d > 1 || pos.Tick0 >= pos.Deadline {
		t.Errorf("deadline line at x=%.1f, 30 s tick at %.1f, 0 s tick at %.1f", pos.Deadline, pos.Tick30, pos.Tick0)
	}
	result := browser.Eval[string](t, ctx, `document.querySelector('[data-kind="result"]').dataset.result`)
	if result != "deadline" {
		t.Errorf("result mark %q, want deadline", result)
	}
	shot := filepath.Join(dir, "incident.png")
	if golden.Update() {
		shot = filepath.Join("..", "docs", "img", "waterfall-incident.png")
		os.MkdirAll(filepath.Dir(shot), 0o755)
	}
	browser.Screenshot(t, ctx, shot)
	// Critical first; the filter hides rows.
	first := browser.Eval[string](t, ctx, `document.querySelector('#findings tbody tr').dataset.severity`)
	if first != "critical" {
		t.Errorf("first row %q, want critical", first)
	}
	visible := func() int {
		return browser.Eval[int](t, ctx, `[...document.querySelectorAll('#findings tbody tr')].filter(r => !r.hidden).length`)
	}
	if v := visible(); v != 2 {
		t.Fatalf("%d rows visible before filtering, want 2", v)
	}
	browser.Run(t, ctx, chromedp.Click(`input[data-severity="info"]`))
	if v := visible(); v != 1 {
		t.Errorf("%d rows visible with info unchecked, want 1", v)
	}
	browser.Run(t, ctx, chromedp.SendKeys(`#search`, "busybox"))
	if v := visible(); v != 0 {
		t.Errorf("%d rows visible for search busybox with info hidden, want 0", v)
	}
}
