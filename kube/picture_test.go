package kube

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/waterfall"
)

// TestStartupChart: the first lookup's exchanges sit after the first
// dial, the deadline is the dial's, and the chart ends with the exit.
func TestStartupChart(t *testing.T) {
	p := &model.Prediction{
		Request:   model.Request{Name: "localhost", Deadline: model.Seconds(30 * time.Second)},
		Exchanges: []model.Exchange{{Start: 0, End: model.Seconds(5 * time.Second), Server: "10.0.0.1:53", Name: "localhost.", Type: "A", Outcome: "timeout"}},
		Total:     model.Seconds(30 * time.Second), DeadlineExceeded: true, Error: "dial tcp: i/o timeout",
	}
	st := &Startup{Loopback: Loopback{Host: "localhost", Port: 6443}, Prediction: p, Fails: true,
		Result: StartupResult{Outcome: OutcomeExits, Time: model.Seconds(33 * time.Second), DNSQueries: 1, Log: "Unable to perform initial IP allocation check"}}
	m := Machine{FirstDial: time.Second, Serving: 3 * time.Second}
	c := StartupChart("", st, m)
	if r := c.Series[0].Rows[0]; r.Start != time.Second || r.End != 6*time.Second {
		t.Errorf("first exchange %v–%v, want 1s–6s (after the first dial)", r.Start, r.End)
	}
	if c.Deadline != 31*time.Second {
		t.Errorf("deadline %v, want 31s", c.Deadline)
	}
	kinds := map[string]time.Duration{}
	for _, e := range c.Events {
		kinds[e.Kind] = e.At
	}
	if kinds["exits"] != 33*time.Second || kinds["dial"] != time.Second || kinds["serving"] != 3*time.Second {
		t.Errorf("events %v", kinds)
	}
	var b bytes.Buffer
	if err := waterfall.WritePage(&b, StartupPage([]*Container{{Subject: "kube-system/kube-apiserver", Startup: st}}, nil, nil)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`data-event="exits"`, `data-kind="deadline" data-seconds="31"`, `data-kind="exchange"`, "EXITS"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("page lacks %s", want)
		}
	}
}
