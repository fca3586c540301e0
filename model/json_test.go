package model

import (
	"encoding/json"
	"testing"
	"time"
)

// TestSecondsJSON pins the JSON form of a duration: the number
// time.Duration.Seconds gives, written as encoding/json writes a float64,
// read back to the same nanosecond; zero vanishes under omitempty.
func TestSecondsJSON(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 999, time.Microsecond, 7 * time.Millisecond, 1500 * time.Millisecond,
		12*time.Second + 19*time.Millisecond, 120 * time.Second, 3*time.Hour + 1, -2 * time.Second} {
		got, err := json.Marshal(Seconds(d))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(d.Seconds())
		if string(got) != string(want) {
			t.Errorf("%v: wrote %s, want %s", d, got, want)
		}
		var back Seconds
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if back.Duration() != d {
			t.Errorf("%v: read back %v", d, back.Duration())
		}
	}
	type doc struct {
		A Seconds `json:"a_seconds,omitempty"`
		B Seconds `json:"b_seconds"`
	}
	b, _ := json.Marshal(doc{})
	if string(b) != `{"b_seconds":0}` {
		t.Errorf("zero durations: %s", b)
	}
	var d doc
	for _, bad := range []string{`{"b_seconds":"1s"}`, `{"b_seconds":true}`} {
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if err := json.Unmarshal([]byte(`{"b_seconds":null}`), &d); err != nil || d.B != 0 {
		t.Errorf("null: %v %v", d.B, err)
	}
}
