package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
)

//go:embed report.schema.json
var jsonSchema []byte

// JSONSchema returns the JSON Schema (draft 2020-12) of the document
// WriteJSON writes; docs/scan.md describes the same fields in prose. Each
// call returns a fresh copy.
func JSONSchema() []byte { return bytes.Clone(jsonSchema) }

// WriteJSON writes r as one indented JSON document. Durations are seconds
// (model.Seconds) under names ending in _seconds; severities are "critical",
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
