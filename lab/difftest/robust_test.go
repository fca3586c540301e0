package difftest

import "testing"

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
