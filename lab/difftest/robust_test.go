package difftest

import (
	"testing"
	"time"

	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
)

func TestTimingOnly(t *testing.T) {
	for _, tc := range []struct {
		diffs []string
		want  bool
	}{
		{nil, false},
		{[]string{"total time: predicted 1.200s, observed 1.273s (tolerance 50ms)"}, true},
		{[]string{"exchanges 6-6 (A myhost.test.example.net. to 127.0.0.53:53): predicted at +1.000s, observed at +1.068s (tolerance 50ms)", "total time: predicted 1.200s, observed 1.273s (tolerance 50ms)"}, true},
		{[]string{"exchanges: predicted 6, observed 9", "total time: predicted 1.200s, observed 1.273s (tolerance 50ms)"}, false},
		{[]string{"exchanges 1-2: predicted udp A foo. to 127.0.0.53:53 at +0.000s; observed nothing"}, false},
		{[]string{`error text: predicted "a", observed "b"`}, false},
		{[]string{"result: predicted success (from hosts), observed failure"}, false},
	} {
		if got := timingOnly(tc.diffs); got != tc.want {
			t.Errorf("timingOnly(%q) = %v, want %v", tc.diffs, got, tc.want)
		}
	}
}

func TestParallelism(t *testing.T) {
	for _, tc := range []struct {
		env  string
		cpus int
		want int
		bad  bool
	}{
		{"", 1, 2, false},
		{"", 2, 4, false},
		{"", 16, 32, false},
		{"3", 2, 3, false},
		{"0", 2, 0, true},
		{"x", 2, 0, true},
	} {
		got, err := parallelism(tc.env, tc.cpus)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parallelism(%q, %d) = %d, %v; want %d (error %v)", tc.env, tc.cpus, got, err, tc.want, tc.bad)
		}
	}
}

func TestDeadlineCut(t *testing.T) {
	ms := func(n int) model.Seconds { return model.Seconds(time.Duration(n) * time.Millisecond) }
	ex := func(server, typ string, start int) model.Exchange {
		return model.Exchange{Server: server, Name: "foo.example.com.", Type: typ, Transport: "udp", Start: ms(start)}
	}
	// Five bursts 600 ms apart; the last (at +2.4 s) is 100 ms before the
	// 2.5 s deadline.
	var pred []model.Exchange
	for i, s := range []string{"127.0.0.53:53", "127.0.0.54:53", "127.0.0.53:53", "127.0.0.54:53", "127.0.0.53:53"} {
		pred = append(pred, ex(s, "A", 600*i), ex(s, "AAAA", 600*i))
	}
	// observed: the first n exchanges, each burst late by lateness ms, the
	// A and AAAA of the first burst swapped.
	observed := func(n, lateness int) []model.Exchange {
		var o []model.Exchange
		for i, x := range pred[:n] {
			x.Start += ms(50 + lateness*(i/2))
			o = append(o, x)
		}
		o[0], o[1] = o[1], o[0]
		return o
	}
	o := func(obs []model.Exchange) outcome {
		return outcome{Config: config{Deadline: 2500 * time.Millisecond},
			Predicted: &model.Prediction{Exchanges: pred, DeadlineExceeded: true},
			Obs:       lab.Observation{Exchanges: obs}}
	}
	late := observed(8, 40) // the 4th burst 120 ms late: +2.4 s + 120 ms passes 2.5 s
	if !deadlineCut(o(late)) {
		t.Error("exchanges cut by a late machine at the deadline: want a retry")
	}
	if deadlineCut(o(observed(8, 5))) {
		t.Error("15 ms late cannot push +2.4 s past 2.5 s: a real difference, no retry")
	}
	if deadlineCut(o(observed(6, 200))) {
		t.Error("a burst predicted at +1.8 s missing: no retry")
	}
	wrong := observed(8, 40)
	wrong[4].Server = "127.0.0.55:53"
	if deadlineCut(o(wrong)) {
		t.Error("a different server: never retried")
	}
	// The model ends the lookup before the deadline; the run is cut by it.
	before := func(obs []model.Exchange, total time.Duration, ok bool) outcome {
		c := o(obs)
		c.Predicted.DeadlineExceeded = false
		c.Obs.Total, c.Obs.Succeeded = total, &ok
		return c
	}
	if !deadlineCut(before(observed(10, 40), 2560*time.Millisecond, false)) {
		t.Error("predicted to end before the deadline, observed failing at it with the same messages: want a retry")
	}
	if !deadlineCut(before(observed(8, 40), 2510*time.Millisecond, false)) {
		t.Error("the last burst cut by the deadline a late machine reached first: want a retry")
	}
	if deadlineCut(before(observed(10, 40), 2300*time.Millisecond, false)) {
		t.Error("observed failing before the deadline: a real difference, no retry")
	}
	if deadlineCut(before(observed(10, 40), 2560*time.Millisecond, true)) {
		t.Error("observed succeeding: the deadline did not cut it, no retry")
	}
	if deadlineCut(before(wrong, 2560*time.Millisecond, false)) {
		t.Error("a different server: never retried")
	}
	noTotal := o(late)
	noTotal.Predicted.DeadlineExceeded = false
	if deadlineCut(noTotal) {
		t.Error("the prediction is not cut by the deadline and the run did not reach it: no retry")
	}
}
