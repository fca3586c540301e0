package sniff

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/waterfall"
)

// TestPage: one waterfall per process, an unanswered query drawn until
// its sender's timeout, an answered one until its answer.
func TestPage(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)
	es := &Process{PID: 7, Comm: "esbuild"}
	xs := []Exchange{
		{Time: t0, Process: es, Server: netip.MustParseAddrPort("127.0.0.53:53"), Transport: "udp", Name: "localhost.", Type: "A", Unanswered: true, Timeout: 5 * time.Second},
		{Time: t0.Add(time.Second), Server: netip.MustParseAddrPort("127.0.0.53:53"), Transport: "udp", Name: "a.example.", Type: "A", Rcode: "NOERROR", Answers: []string{"192.0.2.1"}, Latency: 2 * time.Millisecond, AttrError: "closed before it could be attributed"},
	}
	p := Page(xs, &Summary{Start: t0, Duration: 6 * time.Second})
	if len(p.Sections) != 3 {
		t.Fatalf("%d sections, want esbuild, unattributed and the summary", len(p.Sections))
	}
	var es7 *waterfall.Row
	for i := range p.Sections {
		if p.Sections[i].Heading == "esbuild[7]" {
			es7 = &p.Sections[i].Charts[0].Series[0].Rows[0]
		}
	}
	if es7 == nil || es7.Outcome != waterfall.Silent || es7.End != 5*time.Second {
		t.Errorf("esbuild's row %+v: want timeout until 5s", es7)
	}
	var b bytes.Buffer
	if err := waterfall.WritePage(&b, p); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), `data-kind="exchange"`); n != 2 {
		t.Errorf("%d exchange bars, want 2", n)
	}
	if !strings.Contains(b.String(), "not attributed: closed before it could be attributed") {
		t.Error("the attribution failure is not said")
	}
}
