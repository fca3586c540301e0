package waterfall

import (
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Geometry of the SVG chart, in CSS pixels.
const (
	svgWidth   = 980
	labelWidth = 330
	rightPad   = 24
	rowHeight  = 18
	barHeight  = 12
	axisHeight = 30
	headHeight = 20
	footHeight = 26
)

// scale maps a time to an x position on the bar area.
type scale struct {
	span time.Duration
	x0   float64
	w    float64
}

func (s scale) x(t time.Duration) float64 {
	if t < 0 {
		t = 0
	}
	return s.x0 + s.w*float64(t)/float64(s.span)
}

// ticks returns tick times at a 1, 2 or 5 × 10^k second step, about six
// over the span.
func ticks(span time.Duration) []time.Duration {
	raw := span.Seconds() / 6
	if raw <= 0 {
		return []time.Duration{0}
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	step := p
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			step = m * p
			break
		}
	}
	var out []time.Duration
	for i := 0; ; i++ {
		t := time.Duration(float64(i) * step * float64(time.Second))
		if t > span {
			break
		}
		out = append(out, t)
	}
	return out
}

// seconds formats a time for an axis label: "0", "2.5", "30".
func seconds(t time.Duration) string {
	return strconv.FormatFloat(math.Round(t.Seconds()*1000)/1000, 'f', -1, 64)
}

// WriteSVG writes the chart as one inline <svg> element. Every exchange bar
// is an element with data-kind="exchange" (and data-outcome, data-start,
// data-end in seconds), the deadline line data-kind="deadline"
// (data-seconds), each series' end mark data-kind="result" (data-result),
// other events data-kind="event", axis ticks data-kind="tick"
// (data-seconds). Colours come from CSS classes (see [Style]) and every
// outcome also has a pattern and a text label, so the chart reads without
// colour.
func WriteSVG(w io.Writer, c Chart) error {
	span := c.Span()
	sc := scale{span: span, x0: labelWidth, w: svgWidth - labelWidth - rightPad}
	height := axisHeight + footHeight
	for _, s := range c.Series {
		if s.Name != "" {
			height += headHeight
		}
		height += rowHeight*len(s.Rows) + rowHeight // one row for the result mark
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="waterfall" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" data-span="%s">`,
		svgWidth, height, svgWidth, height, seconds(span))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(titleOf(c)))
	b.WriteString(svgDefs)
	// Axis at the top: ticks and labels.
	fmt.Fprintf(&b, `<g class="axis"><text class="axis-title" x="4" y="14">time (s)</text>`)
	for _, t := range ticks(span) {
		x := sc.x(t)
		fmt.Fprintf(&b, `<g data-kind="tick" data-seconds="%s"><line class="grid" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/><text class="tick" x="%.1f" y="14" text-anchor="middle">%s</text></g>`,
			seconds(t), x, axisHeight-8, x, height-footHeight, x, seconds(t))
	}
	b.WriteString(`</g>`)
	y := axisHeight
	for _, s := range c.Series {
		fmt.Fprintf(&b, `<g class="series" data-series="%s">`, esc(s.Name))
		if s.Name != "" {
			fmt.Fprintf(&b, `<text class="series-title" x="4" y="%d">%s</text>`, y+14, esc(s.Name))
			y += headHeight
		}
		for _, r := range s.Rows {
			writeRow(&b, sc, r, y)
			y += rowHeight
		}
		writeResult(&b, sc, s, y)
		y += rowHeight
		b.WriteString(`</g>`)
	}
	for _, e := range c.Events {
		x := sc.x(e.At)
		fmt.Fprintf(&b, `<g data-kind="event" data-event="%s" data-seconds="%s"><line class="event" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/><text class="event-label" x="%.1f" y="%d">%s</text><title>%s at %s s</title></g>`,
			esc(e.Kind), seconds(e.At), x, axisHeight-4, x, height-footHeight, x+3, height-footHeight+12, esc(e.Label), esc(e.Label), seconds(e.At))
	}
	if c.Deadline > 0 {
		x := sc.x(c.Deadline)
		fmt.Fprintf(&b, `<g data-kind="deadline" data-seconds="%s"><line class="deadline" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/><text class="deadline-label" x="%.1f" y="%d" text-anchor="end">deadline %s s</text><title>the caller's deadline: %s s</title></g>`,
			seconds(c.Deadline), x, axisHeight-8, x, height-footHeight+4, x-3, height-6, seconds(c.Deadline), seconds(c.Deadline))
	}
	b.WriteString(`</svg>`)
	_, err := io.WriteString(w, b.String())
	return err
}

func titleOf(c Chart) string {
	if c.Title != "" {
		return c.Title
	}
	return fmt.Sprintf("%d DNS exchanges", c.Exchanges())
}

func writeRow(b *strings.Builder, sc scale, r Row, y int) {
	end := r.End
	if end < r.Start {
		end = r.Start
	}
	x1, x2 := sc.x(r.Start), sc.x(end)
	wid := math.Max(x2-x1, 2)
	diff := ""
	if r.Diff {
		diff = ` data-diff="true"`
	}
	tip := fmt.Sprintf("%s: %s, sent at %s s", r.Label(), outcomeText(r.Outcome), seconds(r.Start))
	tip += fmt.Sprintf(", ended at %s s", seconds(end))
	if r.Note != "" {
		tip += "; " + r.Note
	}
	if r.Diff {
		tip += "; differs from the other series"
	}
	fmt.Fprintf(b, `<g class="row%s" data-kind="exchange" data-outcome="%s" data-start="%s" data-end="%s"%s>`,
		map[bool]string{true: " diff", false: ""}[r.Diff], r.Outcome, seconds(r.Start), seconds(end), diff)
	fmt.Fprintf(b, `<text class="label" x="4" y="%d">%s</text>`, y+13, esc(r.Label()))
	fmt.Fprintf(b, `<rect class="bar o-%s" x="%.1f" y="%d" width="%.1f" height="%d" rx="2"/>`, r.Outcome, x1, y+3, wid, barHeight)
	fmt.Fprintf(b, `<rect class="pat p-%s" x="%.1f" y="%d" width="%.1f" height="%d" rx="2"/>`, r.Outcome, x1, y+3, wid, barHeight)
	lx, anchor := x2+4, "start"
	if lx > svgWidth-rightPad-60 {
		lx, anchor = x1-4, "end"
	}
	fmt.Fprintf(b, `<text class="outcome" x="%.1f" y="%d" text-anchor="%s">%s</text>`, lx, y+13, anchor, outcomeWord(r.Outcome))
	fmt.Fprintf(b, `<title>%s</title></g>`, esc(tip))
}

func writeResult(b *strings.Builder, sc scale, s Series, y int) {
	kind := s.Result.Kind
	if kind == "" {
		kind = "unknown"
	}
	x := sc.x(s.End)
	text := s.Result.Text
	if text == "" {
		text = "ended"
	}
	label := fmt.Sprintf("%s at %s s", resultWord(kind), seconds(s.End))
	fmt.Fprintf(b, `<g data-kind="result" data-result="%s" data-seconds="%s">`, kind, seconds(s.End))
	fmt.Fprintf(b, `<text class="label result-label" x="4" y="%d">%s</text>`, y+13, esc(label))
	fmt.Fprintf(b, `<path class="mark r-%s" d="M %.1f %d l 6 6 l -6 6 l -6 -6 z"/>`, kind, x, y+3)
	fmt.Fprintf(b, `<title>%s: %s</title></g>`, esc(label), esc(text))
}

// resultWord names how a lookup ended.
func resultWord(kind string) string {
	switch kind {
	case "hosts":
		return "/etc/hosts answers"
	case "dns":
		return "DNS answers"
	case "failed":
		return "lookup fails"
	case "deadline":
		return "deadline cuts the lookup"
	}
	return "ends"
}

// outcomeWord is the short label drawn beside a bar.
func outcomeWord(o string) string {
	switch o {
	case Silent:
		return "silent"
	case Refused:
		return "refused"
	case Truncate:
		return "TC"
	}
	return o
}

// outcomeText is the outcome in a sentence.
func outcomeText(o string) string {
	switch o {
	case Answered:
		return "answered"
	case NXDomain:
		return "NXDOMAIN"
	case NoData:
		return "no data (NOERROR, no record)"
	case ServFail:
		return "SERVFAIL"
	case Refused:
		return "refused"
	case Silent:
		return "no reply (timeout)"
	case Truncate:
		return "truncated (TC)"
	case Cancel:
		return "cancelled by the caller"
	}
	return "no reply yet"
}

func esc(s string) string { return html.EscapeString(s) }

// svgDefs holds the patterns that back the colours: hatching for silence,
// dots for SERVFAIL, cross-hatching for refusals, so outcomes differ in
// print and for colour-blind readers.
const svgDefs = `<defs>` +
	`<pattern id="pat-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" class="patline"/></pattern>` +
	`<pattern id="pat-dots" width="5" height="5" patternUnits="userSpaceOnUse"><circle cx="2.5" cy="2.5" r="1" class="patdot"/></pattern>` +
	`<pattern id="pat-cross" width="6" height="6" patternUnits="userSpaceOnUse"><path d="M0 0 L6 6 M6 0 L0 6" class="patline"/></pattern>` +
	`<pattern id="pat-vert" width="4" height="4" patternUnits="userSpaceOnUse"><line x1="1" y1="0" x2="1" y2="4" class="patline"/></pattern>` +
	`</defs>`

// Style is the CSS the SVG charts need: the Okabe–Ito palette (safe for
// the common colour-vision deficiencies), patterns per outcome, a dark
// variant through prefers-color-scheme, and print rules. [Page] includes it.
const Style = `
:root { --fg: #1d1d1f; --muted: #5f6368; --bg: #ffffff; --panel: #f5f5f7; --grid: #d9d9de;
  --answer: #009E73; --nxdomain: #0072B2; --nodata: #56B4E9; --servfail: #D55E00; --refused: #CC79A7;
  --timeout: #8c8c8c; --truncated: #F0E442; --cancelled: #E69F00; --pending: #bdbdbd;
  --deadline: #b3261e; --hosts: #009E73; --failed: #b3261e; --critical: #b3261e; --warning: #E69F00; --info: #56B4E9; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8e8ea; --muted: #a0a4a8; --bg: #121214; --panel: #1e1e22; --grid: #3a3a40; --deadline: #ff6b5e; --failed: #ff6b5e; --critical: #ff6b5e; }
}
svg.waterfall { max-width: 100%; height: auto; font: 11px ui-monospace, SFMono-Regular, Menlo, monospace; fill: var(--fg); background: var(--bg); }
svg.waterfall .grid { stroke: var(--grid); stroke-width: 1; }
svg.waterfall .tick, svg.waterfall .axis-title { fill: var(--muted); }
svg.waterfall .series-title { font-weight: 700; }
svg.waterfall .bar { stroke: none; }
svg.waterfall .pat { stroke: none; fill: none; }
svg.waterfall .patline { stroke: rgba(0,0,0,.45); stroke-width: 1.5; }
svg.waterfall .patdot { fill: rgba(0,0,0,.5); }
svg.waterfall .o-answer { fill: var(--answer); }
svg.waterfall .o-nxdomain { fill: var(--nxdomain); }
svg.waterfall .o-nodata { fill: var(--nodata); }
svg.waterfall .o-servfail { fill: var(--servfail); }
svg.waterfall .o-refused { fill: var(--refused); }
svg.waterfall .o-timeout { fill: var(--timeout); }
svg.waterfall .o-truncated { fill: var(--truncated); }
svg.waterfall .o-cancelled { fill: var(--cancelled); }
svg.waterfall .o-pending { fill: var(--pending); }
svg.waterfall .p-timeout { fill: url(#pat-hatch); }
svg.waterfall .p-servfail { fill: url(#pat-dots); }
svg.waterfall .p-refused { fill: url(#pat-cross); }
svg.waterfall .p-cancelled, svg.waterfall .p-truncated { fill: url(#pat-vert); }
svg.waterfall .outcome { fill: var(--muted); }
svg.waterfall .row.diff .label { font-weight: 700; fill: var(--deadline); }
svg.waterfall .row.diff .bar { stroke: var(--deadline); stroke-width: 2; }
svg.waterfall .deadline { stroke: var(--deadline); stroke-width: 2; stroke-dasharray: 6 3; }
svg.waterfall .deadline-label { fill: var(--deadline); font-weight: 700; }
svg.waterfall .event { stroke: var(--muted); stroke-width: 1; stroke-dasharray: 2 2; }
svg.waterfall .event-label { fill: var(--muted); }
svg.waterfall .mark { stroke: var(--fg); stroke-width: 1; fill: var(--muted); }
svg.waterfall .r-hosts, svg.waterfall .r-dns { fill: var(--hosts); }
svg.waterfall .r-failed, svg.waterfall .r-deadline { fill: var(--failed); }
svg.waterfall .result-label { font-weight: 700; }
`
