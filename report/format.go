package report

import (
	"fmt"
	"io"
	"strings"
)

// Format names an output format.
type Format string

// The output formats every report-producing verb offers.
const (
	FormatText  Format = "text"
	FormatJSON  Format = "json"
	FormatSARIF Format = "sarif"
	FormatHTML  Format = "html"
)

// Formats lists the formats in the order help texts show them.
func Formats() []Format { return []Format{FormatText, FormatJSON, FormatSARIF, FormatHTML} }

// ParseFormat parses a --format value.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q (want text, json, sarif or html)", s)
}

// Write renders r in format f; opt applies to text only.
func Write(w io.Writer, r *Report, f Format, opt TextOptions) error {
	switch f {
	case FormatText, "":
		return WriteText(w, r, opt)
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatSARIF:
		return WriteSARIF(w, r)
	case FormatHTML:
		return WriteHTML(w, r)
	}
	return fmt.Errorf("unknown format %q", f)
}
