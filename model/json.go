package model

import (
	"encoding/json"
	"math"
	"time"
)

// Durations are written to JSON as seconds (a float), under names ending
// in _seconds; see the schema in docs/explain.md.

func secs(d time.Duration) float64 { return d.Seconds() }

// FromSeconds is the inverse of time.Duration.Seconds, rounded to the
// nanosecond; every JSON reader of *_seconds fields uses it.
func FromSeconds(f float64) time.Duration { return time.Duration(math.Round(f * float64(time.Second))) }

// MarshalJSON writes start and end as seconds.
func (e Exchange) MarshalJSON() ([]byte, error) {
	type plain Exchange
	return json.Marshal(struct {
		plain
		Start float64 `json:"start_seconds"`
		End   float64 `json:"end_seconds"`
	}{plain(e), secs(e.Start), secs(e.End)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (e *Exchange) UnmarshalJSON(b []byte) error {
	type plain Exchange
	var v struct {
		plain
		Start float64 `json:"start_seconds"`
		End   float64 `json:"end_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = Exchange(v.plain)
	e.Start, e.End = FromSeconds(v.Start), FromSeconds(v.End)
	return nil
}

// MarshalJSON writes the deadline as seconds.
func (r Request) MarshalJSON() ([]byte, error) {
	type plain Request
	return json.Marshal(struct {
		plain
		Deadline float64 `json:"deadline_seconds"`
	}{plain(r), secs(r.Deadline)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *Request) UnmarshalJSON(b []byte) error {
	type plain Request
	var v struct {
		plain
		Deadline float64 `json:"deadline_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Request(v.plain)
	r.Deadline = FromSeconds(v.Deadline)
	return nil
}

// MarshalJSON writes the delay as seconds.
func (b Behavior) MarshalJSON() ([]byte, error) {
	type plain Behavior
	return json.Marshal(struct {
		plain
		Delay float64 `json:"delay_seconds,omitempty"`
	}{plain(b), secs(b.Delay)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (b *Behavior) UnmarshalJSON(data []byte) error {
	type plain Behavior
	var v struct {
		plain
		Delay float64 `json:"delay_seconds,omitempty"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*b = Behavior(v.plain)
	b.Delay = FromSeconds(v.Delay)
	return nil
}

// MarshalJSON writes the times as seconds.
func (p Prediction) MarshalJSON() ([]byte, error) {
	type plain Prediction
	return json.Marshal(struct {
		plain
		DNS     float64 `json:"dns_seconds"`
		Total   float64 `json:"total_seconds"`
		Timeout float64 `json:"timeout_seconds,omitempty"`
	}{plain(p), secs(p.DNS), secs(p.Total), secs(p.Timeout)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (p *Prediction) UnmarshalJSON(b []byte) error {
	type plain Prediction
	var v struct {
		plain
		DNS     float64 `json:"dns_seconds"`
		Total   float64 `json:"total_seconds"`
		Timeout float64 `json:"timeout_seconds,omitempty"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Prediction(v.plain)
	p.DNS, p.Total, p.Timeout = FromSeconds(v.DNS), FromSeconds(v.Total), FromSeconds(v.Timeout)
	return nil
}
