package report

import (
	"bytes"
	"testing"

	"github.com/nsscope/nsscope/report/sarifcheck"
)

// TestSARIFOfficialSchema validates SARIF output against the official
// SARIF 2.1.0 schema, and checks that the validator does reject broken
// documents.
func TestSARIFOfficialSchema(t *testing.T) {
	sch := sarifcheck.Schema(t)
	reps := []*Report{loadSample(t), {Tool: "nsscope", Target: "scratch"}, {
		Target: "odd paths", Findings: []Finding{{
			RuleID: "R", Severity: Warning, Subject: "x", Name: "n", Message: "m",
			Location: Location{Path: "/usr/bin/a b:c%d#e"},
			Related:  []Location{{Path: "etc/hosts", Line: 3}, {Path: ""}},
		}},
	}}
	for i, r := range reps {
		var b bytes.Buffer
		if err := WriteSARIF(&b, r); err != nil {
			t.Fatal(err)
		}
		if err := sarifcheck.Validate(sch, b.Bytes()); err != nil {
			t.Errorf("report %d: SARIF output is not valid SARIF 2.1.0: %v\n%s", i, err, b.Bytes())
		}
	}
	for _, bad := range []string{
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"level":"fatal"}]}]}`,
		`{"version":"2.0.0","runs":[]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{}}}]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"locations":[{"physicalLocation":{"region":{"startLine":0}}}]}]}]}`,
	} {
		if sarifcheck.Validate(sch, []byte(bad)) == nil {
			t.Errorf("the official schema accepted %s", bad)
		}
	}
}
