package report

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The official SARIF 2.1.0 schema (OASIS, errata 01) is not kept in this
// repository. The Go module github.com/owenrumney/go-sarif/v3 ships it,
// verbatim, as a Go string constant; the test takes it from the module
// cache (downloading the pinned version through the Go module proxy when
// needed) and validates our output with santhosh-tekuri/jsonschema.
const (
	sarifSchemaModule  = "github.com/owenrumney/go-sarif/v3"
	sarifSchemaVersion = "v3.3.1"
	sarifSchemaFile    = "pkg/report/v210/sarif/schema.go"
	sarifSchemaID      = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

// officialSARIFSchema returns the schema text, or skips the test when it
// cannot be had outside CI.
func officialSARIFSchema(t *testing.T) []byte {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", sarifSchemaModule+"@"+sarifSchemaVersion)
	cmd.Dir = t.TempDir() // outside our module: go.mod and go.sum stay untouched
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if err == nil {
		err = json.Unmarshal(out, &info)
	}
	if err != nil || info.Dir == "" {
		msg := "cannot get the official SARIF schema from " + sarifSchemaModule + "@" + sarifSchemaVersion
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v %s", msg, err, info.Error)
		}
		t.Skipf("%s: %v %s", msg, err, info.Error)
	}
	src := filepath.Join(info.Dir, filepath.FromSlash(sarifSchemaFile))
	f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				text, err := strconv.Unquote(lit.Value)
				if err == nil && strings.Contains(text, sarifSchemaID) {
					return []byte(text)
				}
			}
		}
	}
	t.Fatalf("%s: no string constant holding the schema %s", src, sarifSchemaID)
	return nil
}

func compileSARIFSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(officialSARIFSchema(t)))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := doc.(map[string]any)
	if m["id"] != sarifSchemaID || m["title"] != "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema" {
		t.Fatalf("not the official SARIF 2.1.0 schema: id %v title %v", m["id"], m["title"])
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(sarifSchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(sarifSchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// TestSARIFOfficialSchema validates SARIF output against the official
// schema, and checks that the validator does reject broken documents.
func TestSARIFOfficialSchema(t *testing.T) {
	sch := compileSARIFSchema(t)
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
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("report %d: SARIF output is not valid SARIF 2.1.0: %v\n%s", i, err, b.Bytes())
		}
	}
	for _, bad := range []string{
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"level":"fatal"}]}]}`,
		`{"version":"2.0.0","runs":[]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{}}}]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"locations":[{"physicalLocation":{"region":{"startLine":0}}}]}]}]}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(inst) == nil {
			t.Errorf("the official schema accepted %s", bad)
		}
	}
}
