package waterfall

import (
	"bytes"
	"encoding/xml"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/internal/golden"
	"github.com/nsscope/nsscope/model"
)

// incident is the seed's lookup: Go 1.15 static, no nsswitch.conf, three
// silent nameservers, a dial of localhost with a 30 s deadline.
func incident(t testing.TB) *model.Prediction {
	t.Helper()
	env := model.Env{
		ResolvConf: model.File{Path: "/etc/resolv.conf", Origin: "node.conf",
			Data: []byte("nameserver 10.222.0.3\nnameserver 10.222.0.4\nnameserver 10.222.0.5\n")},
		NSSwitch: model.File{Path: "/etc/nsswitch.conf", Missing: true},
		Hosts:    model.File{Path: "/etc/hosts", Data: []byte("127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost\n")},
	}
	prog := model.Program{Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 15, 0)}}
	req := model.Request{Name: "localhost", Network: "tcp", Dial: true, Port: 6443, Deadline: model.Seconds(30 * time.Second)}
	p, err := model.Predict(env, prog, req, model.Scenario{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

func TestTextIncident(t *testing.T) {
	c := FromPrediction("Go 1.15 static", incident(t))
	for _, width := range []int{80, 120} {
		var b bytes.Buffer
		if err := WriteText(&b, c, TextOptions{Width: width}); err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
			if n := len([]rune(l)); n > width {
				t.Errorf("width %d: line %d has %d columns: %q", width, i+1, n, l)
			}
		}
		checkGolden(t, "incident-"+strconv.Itoa(width)+".txt", b.Bytes())
	}
}

func TestTextColorOnlyWhenAsked(t *testing.T) {
	c := FromPrediction("", incident(t))
	var plain, color bytes.Buffer
	WriteText(&plain, c, TextOptions{Width: 100})
	WriteText(&color, c, TextOptions{Width: 100, Color: true})
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("escape sequences without Color")
	}
	if !strings.Contains(color.String(), "\x1b[90m") {
		t.Error("no colour for silent exchanges with Color")
	}
}

// svgDoc parses the SVG and returns its elements with a data-kind.
type elem struct {
	Kind  string
	Attrs map[string]string
}

func kinds(t *testing.T, svg []byte) []elem {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	var out []elem
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		m := map[string]string{}
		for _, a := range se.Attr {
			m[a.Name.Local] = a.Value
		}
		if k := m["data-kind"]; k != "" {
			out = append(out, elem{k, m})
		}
	}
	return out
}

func TestSVGIncident(t *testing.T) {
	p := incident(t)
	var b bytes.Buffer
	if err := WriteSVG(&b, FromPrediction("incident", p)); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b.Bytes(), new(struct{})); err != nil {
		t.Fatalf("not well-formed XML: %v", err)
	}
	var exch, deadline, result int
	for _, e := range kinds(t, b.Bytes()) {
		switch e.Kind {
		case "exchange":
			exch++
			if e.Attrs["data-outcome"] != Silent {
				t.Errorf("exchange outcome %q, want timeout", e.Attrs["data-outcome"])
			}
		case "deadline":
			deadline++
			if e.Attrs["data-seconds"] != "30" {
				t.Errorf("deadline at %q s", e.Attrs["data-seconds"])
			}
		case "result":
			result++
			if e.Attrs["data-result"] != "deadline" {
				t.Errorf("result %q, want deadline", e.Attrs["data-result"])
			}
		}
	}
	if exch != p.Queries || exch != 12 {
		t.Errorf("%d exchange bars for %d queries (want 12)", exch, p.Queries)
	}
	if deadline != 1 || result != 1 {
		t.Errorf("deadline marks %d, result marks %d; want 1 and 1", deadline, result)
	}
}

func TestTicks(t *testing.T) {
	for _, c := range []struct {
		span time.Duration
		want string
	}{
		{30 * time.Second, "0 5 10 15 20 25 30"},
		{40 * time.Second, "0 10 20 30 40"},
		{12 * time.Second, "0 2 4 6 8 10 12"},
		{300 * time.Millisecond, "0 0.05 0.1 0.15 0.2 0.25 0.3"},
	} {
		var s []string
		for _, x := range ticks(c.span) {
			s = append(s, seconds(x))
		}
		if got := strings.Join(s, " "); got != c.want {
			t.Errorf("ticks(%v) = %s, want %s", c.span, got, c.want)
		}
	}
}

func TestMarkDiffs(t *testing.T) {
	a := Series{Rows: []Row{{Server: "s1", Name: "x.", Type: "A"}, {Server: "s1", Name: "x.", Type: "AAAA"}, {Server: "s2", Name: "x.", Type: "A"}}}
	b := Series{Rows: []Row{{Server: "s1", Name: "x.", Type: "A"}, {Server: "s1", Name: "x.", Type: "A"}}}
	if n := MarkDiffs(&a, &b); n != 3 {
		t.Errorf("MarkDiffs flagged %d rows, want 3", n)
	}
	if a.Rows[0].Diff || !a.Rows[1].Diff || !a.Rows[2].Diff || b.Rows[0].Diff || !b.Rows[1].Diff {
		t.Errorf("wrong rows flagged: %+v %+v", a.Rows, b.Rows)
	}
}

func TestPageSelfContainedAndSorted(t *testing.T) {
	p := Page{
		Title: "nsscope scan: `x`",
		Table: &Table{Columns: []string{"program"}, Rows: []TableRow{
			{Severity: "info", Cells: []string{"/bin/a"}, Rule: "R1"},
			{Severity: "critical", Cells: []string{"add `hosts: files dns`"}, Rule: "R2", Section: "s1"},
			{Severity: "warning", Cells: []string{"/bin/c"}, Rule: "R3"},
		}},
		Sections: []Section{{ID: "s1", Heading: "b", Verdict: "FAILS", Charts: []Chart{FromPrediction("", incident(t))}}},
	}
	var b bytes.Buffer
	if err := WritePage(&b, p); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, bad := range []string{"<link", "src=\"http", "href=\"http", "@import", "url(http"} {
		if strings.Contains(s, bad) {
			t.Errorf("page refers outside itself: %q", bad)
		}
	}
	ic, iw, ii := strings.Index(s, `data-severity="critical"><td>`), strings.Index(s, `data-severity="warning"><td>`), strings.Index(s, `data-severity="info"><td>`)
	if !(ic >= 0 && ic < iw && iw < ii) {
		t.Errorf("rows not sorted critical, warning, info: %d %d %d", ic, iw, ii)
	}
	if !strings.Contains(s, "<code>hosts: files dns</code>") {
		t.Error("backticks not rendered as code")
	}
}

// TestInstantExchange: a refusal has no duration; it is drawn as the
// narrowest bar where it happened, not across the chart.
func TestInstantExchange(t *testing.T) {
	c := Chart{Series: []Series{{End: 10 * time.Second, Rows: []Row{
		{Server: "s:53", Name: "x.", Type: "A", Start: time.Second, End: time.Second, Outcome: Refused},
		{Server: "s:53", Name: "x.", Type: "A", Start: 2 * time.Second, End: 7 * time.Second, Outcome: Silent},
	}}}}
	var b bytes.Buffer
	if err := WriteText(&b, c, TextOptions{Width: 80}); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, " refused") {
			if n := strings.Count(l, "×"); n != 1 {
				t.Errorf("refusal drawn %d columns wide: %q", n, l)
			}
		}
	}
	b.Reset()
	if err := WriteSVG(&b, c); err != nil {
		t.Fatal(err)
	}
	for _, e := range kinds(t, b.Bytes()) {
		if e.Kind == "exchange" && e.Attrs["data-outcome"] == Refused && e.Attrs["data-end"] != "1" {
			t.Errorf("refusal ends at %s s, want 1", e.Attrs["data-end"])
		}
	}
}

// TestStepsOf: a step cites its file, line and the line's text; a built-in
// fact cites nothing.
func TestStepsOf(t *testing.T) {
	got := StepsOf([]model.Step{
		{Key: "order", Value: "dns,files", Reason: "r", Source: &model.Pos{File: "/etc/nsswitch.conf", Line: 3, Text: "hosts: dns files"}},
		{Key: "ndots", Value: "1", Reason: "default"},
		{Key: "hosts", Value: "unreadable", Reason: "missing", Source: &model.Pos{File: "/etc/hosts"}},
	})
	want := []Step{
		{Key: "order", Value: "dns,files", Reason: "r", Source: "/etc/nsswitch.conf:3: hosts: dns files"},
		{Key: "ndots", Value: "1", Reason: "default"},
		{Key: "hosts", Value: "unreadable", Reason: "missing", Source: "/etc/hosts"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("StepsOf:\n got %+v\nwant %+v", got, want)
	}
}
