// Package sarifcheck validates SARIF documents against the official SARIF
// 2.1.0 JSON schema (OASIS, errata 01), for tests of every verb that
// writes SARIF. The schema is kept in testdata (see testdata/NOTICE), so
// the tests need no network.
package sarifcheck

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaID and title identify the official schema.
const (
	SchemaID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	title    = "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
	// schemaSHA256 is the digest of the copy in testdata, as its NOTICE
	// gives it: the copy is the official text, unchanged.
	schemaSHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
)

//go:embed testdata/sarif-schema-2.1.0.json
var schemaText string

// SchemaText returns the official schema's text.
func SchemaText() []byte { return []byte(schemaText) }

// Schema returns the compiled official schema (see SchemaText).
func Schema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	if sum := sha256.Sum256([]byte(schemaText)); hex.EncodeToString(sum[:]) != schemaSHA256 {
		t.Fatalf("testdata/sarif-schema-2.1.0.json changed: SHA-256 %x, want %s (testdata/NOTICE)", sum, schemaSHA256)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schemaText))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := doc.(map[string]any)
	if m["id"] != SchemaID || m["title"] != title {
		t.Fatalf("not the official SARIF 2.1.0 schema: id %v, title %v", m["id"], m["title"])
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// Validate checks one SARIF document against the schema.
func Validate(sch *jsonschema.Schema, doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}
