// Package sarifcheck validates SARIF documents against the official SARIF
// 2.1.0 JSON schema (OASIS, errata 01), for tests of every verb that
// writes SARIF.
//
// The schema is not kept in this repository. The Go module
// github.com/owenrumney/go-sarif/v3 ships it verbatim as a Go string
// constant; Schema takes it from the module cache (downloading the pinned
// version through the Go module proxy when needed, with the go command's
// checksum verification) and compiles it with santhosh-tekuri/jsonschema,
// asserting formats.
package sarifcheck

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

// Where the official schema comes from.
const (
	Module     = "github.com/owenrumney/go-sarif/v3"
	Version    = "v3.3.1"
	SourceFile = "pkg/report/v210/sarif/schema.go"
	SchemaID   = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	title      = "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
)

// SchemaText returns the official schema's text. It skips the test when
// the module cannot be had, except under CI (CI set), where it fails.
func SchemaText(t testing.TB) []byte {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", Module+"@"+Version)
	cmd.Dir = t.TempDir() // outside any module: no go.mod is touched
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if err == nil {
		err = json.Unmarshal(out, &info)
	}
	if err != nil || info.Dir == "" {
		msg := "cannot get the official SARIF schema from " + Module + "@" + Version
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v %s", msg, err, info.Error)
		}
		t.Skipf("%s: %v %s", msg, err, info.Error)
	}
	src := filepath.Join(info.Dir, filepath.FromSlash(SourceFile))
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
			for _, v := range s.(*ast.ValueSpec).Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				if text, err := strconv.Unquote(lit.Value); err == nil && strings.Contains(text, SchemaID) {
					return []byte(text)
				}
			}
		}
	}
	t.Fatalf("%s: no string constant holds the schema %s", src, SchemaID)
	return nil
}

// Schema returns the compiled official schema (see SchemaText).
func Schema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaText(t)))
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
