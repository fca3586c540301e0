package lab

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/waterfall"
)

func TestCheckChartAlignsAndFlags(t *testing.T) {
	p := &model.Prediction{
		Request: model.Request{Name: "localhost", Deadline: model.Seconds(30 * time.Second)},
		Exchanges: []model.Exchange{
			{Start: 0, End: model.Seconds(5 * time.Second), Server: "127.0.0.53:53", Name: "localhost.", Type: "A", Transport: "udp", Attempt: 1, Outcome: "timeout"},
			{Start: model.Seconds(5 * time.Second), End: model.Seconds(10 * time.Second), Server: "127.0.0.54:53", Name: "localhost.", Type: "A", Transport: "udp", Attempt: 1, Outcome: "timeout"},
		},
		Total: model.Seconds(10 * time.Second), AnsweredFrom: model.FromHosts,
	}
	ok := true
	o := Observation{
		AnchorFirst: true,
		Exchanges: []model.Exchange{ // the program started 2 s before its lookup
			{Start: model.Seconds(2 * time.Second), Server: "127.0.0.53:53", Name: "localhost.", Type: "A", Transport: "udp", Outcome: "timeout"},
			{Start: model.Seconds(7 * time.Second), Server: "127.0.0.55:53", Name: "localhost.", Type: "A", Transport: "udp", Outcome: "timeout"},
		},
		Total:     10 * time.Second,
		Succeeded: &ok,
	}
	c := CheckChart("check", p, o)
	if len(c.Series) != 2 || c.Series[1].Name != "observed" {
		t.Fatalf("series %+v", c.Series)
	}
	obs := c.Series[1]
	if obs.Rows[0].Start != 0 || obs.Rows[0].End != 5*time.Second {
		t.Errorf("first observed row %v–%v, want 0–5s (aligned, ended by the next message)", obs.Rows[0].Start, obs.Rows[0].End)
	}
	if !obs.Rows[1].Diff || !c.Series[0].Rows[1].Diff || obs.Rows[0].Diff {
		t.Errorf("differences not flagged on the second rows only: %+v / %+v", c.Series[0].Rows, obs.Rows)
	}
	if obs.Result.Kind != "hosts" {
		t.Errorf("observed result %q, want hosts (success, no server answered)", obs.Result.Kind)
	}
	var b bytes.Buffer
	if err := waterfall.WriteSVG(&b, c); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), `data-diff="true"`); n != 2 {
		t.Errorf("%d rows marked data-diff, want 2", n)
	}
}
