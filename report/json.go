package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"

	"github.com/nsscope/nsscope/model"
)

//go:embed report.schema.json
var jsonSchema []byte

// JSONSchema returns the JSON Schema (draft 2020-12) of the document
// WriteJSON writes; docs/scan.md describes the same fields in prose. Each
// call returns a fresh copy.
func JSONSchema() []byte { return bytes.Clone(jsonSchema) }

// WriteJSON writes r as one indented JSON document. Durations are seconds
// (floats) under names ending in _seconds, as in the model's JSON; severities are "critical",
// "warning" or "info". SchemaVersion is filled in when zero.
func WriteJSON(w io.Writer, r *Report) error {
	out := *r
	if out.SchemaVersion == 0 {
		out.SchemaVersion = SchemaVersion
	}
	if out.Assumptions == nil {
		out.Assumptions = []string{}
	}
	out.Findings = make([]Finding, len(r.Findings))
	for i, f := range r.Findings {
		if f.Reasons == nil {
			f.Reasons = []string{}
		}
		out.Findings[i] = f
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		return fmt.Errorf("writing JSON report: %w", err)
	}
	return nil
}

// ReadJSON parses a document written by WriteJSON.
func ReadJSON(r io.Reader) (*Report, error) {
	var rep Report
	dec := json.NewDecoder(r)
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("reading JSON report: %w", err)
	}
	if rep.SchemaVersion > SchemaVersion {
		return nil, fmt.Errorf("reading JSON report: schema_version %d is newer than this tool's %d", rep.SchemaVersion, SchemaVersion)
	}
	return &rep, nil
}

// MarshalJSON writes the predicted time after the fix as seconds.
func (f Fix) MarshalJSON() ([]byte, error) {
	type plain Fix
	return json.Marshal(struct {
		plain
		After float64 `json:"after_seconds"`
	}{plain(f), f.After.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (f *Fix) UnmarshalJSON(b []byte) error {
	type plain Fix
	var v struct {
		plain
		After float64 `json:"after_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Fix(v.plain)
	f.After = model.FromSeconds(v.After)
	return nil
}

// MarshalJSON writes the predicted time as seconds.
func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding
	return json.Marshal(struct {
		plain
		Time float64 `json:"time_seconds,omitempty"`
	}{plain(f), f.Time.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (f *Finding) UnmarshalJSON(b []byte) error {
	type plain Finding
	var v struct {
		plain
		Time float64 `json:"time_seconds,omitempty"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Finding(v.plain)
	f.Time = model.FromSeconds(v.Time)
	return nil
}

// MarshalJSON writes the time as seconds.
func (s Startup) MarshalJSON() ([]byte, error) {
	type plain Startup
	return json.Marshal(struct {
		plain
		Seconds float64 `json:"seconds"`
	}{plain(s), s.Time.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (s *Startup) UnmarshalJSON(b []byte) error {
	type plain Startup
	var v struct {
		plain
		Seconds float64 `json:"seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Startup(v.plain)
	s.Time = model.FromSeconds(v.Seconds)
	return nil
}
