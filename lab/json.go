package lab

import (
	"encoding/json"
	"time"

	"github.com/nsscope/nsscope/model"
)

// Durations are written to JSON as seconds (a float) under names ending in
// _seconds, as everywhere in nsscope.

func seconds(d time.Duration) float64 { return d.Seconds() }

// MarshalJSON writes the offset as seconds.
func (q Query) MarshalJSON() ([]byte, error) {
	type plain Query
	return json.Marshal(struct {
		Offset float64 `json:"offset_seconds"`
		plain
	}{seconds(q.Offset), plain(q)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (q *Query) UnmarshalJSON(b []byte) error {
	type plain Query
	var v struct {
		Offset float64 `json:"offset_seconds"`
		plain
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*q = Query(v.plain)
	q.Offset = model.FromSeconds(v.Offset)
	return nil
}

// MarshalJSON writes the offset as seconds.
func (l Line) MarshalJSON() ([]byte, error) {
	type plain Line
	return json.Marshal(struct {
		Offset float64 `json:"offset_seconds"`
		plain
	}{seconds(l.Offset), plain(l)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (l *Line) UnmarshalJSON(b []byte) error {
	type plain Line
	var v struct {
		Offset float64 `json:"offset_seconds"`
		plain
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*l = Line(v.plain)
	l.Offset = model.FromSeconds(v.Offset)
	return nil
}

// MarshalJSON writes the times as seconds.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		plain
		Total float64 `json:"total_seconds"`
		Setup float64 `json:"setup_seconds"`
	}{plain(r), seconds(r.Total), seconds(r.Setup)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *Result) UnmarshalJSON(b []byte) error {
	type plain Result
	var v struct {
		plain
		Total float64 `json:"total_seconds"`
		Setup float64 `json:"setup_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Result(v.plain)
	r.Total, r.Setup = model.FromSeconds(v.Total), model.FromSeconds(v.Setup)
	return nil
}

// MarshalJSON writes the times as seconds.
func (c Comparison) MarshalJSON() ([]byte, error) {
	type plain Comparison
	return json.Marshal(struct {
		plain
		PredictedTotal float64 `json:"predicted_total_seconds"`
		ObservedTotal  float64 `json:"observed_total_seconds"`
		Tolerance      float64 `json:"tolerance_seconds"`
	}{plain(c), seconds(c.PredictedTotal), seconds(c.ObservedTotal), seconds(c.Tolerance)})
}

// MarshalJSON writes the offset as seconds.
func (e FileEvent) MarshalJSON() ([]byte, error) {
	type plain FileEvent
	return json.Marshal(struct {
		Offset float64 `json:"offset_seconds"`
		plain
	}{seconds(e.Offset), plain(e)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (e *FileEvent) UnmarshalJSON(b []byte) error {
	type plain FileEvent
	var v struct {
		Offset float64 `json:"offset_seconds"`
		plain
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = FileEvent(v.plain)
	e.Offset = model.FromSeconds(v.Offset)
	return nil
}
