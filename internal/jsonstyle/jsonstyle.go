// Package jsonstyle holds what every nsscope JSON document shares: the
// envelope (schema_version, tool, version) and empty lists written as []
// rather than null.
package jsonstyle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Tool is the "tool" of every document.
const Tool = "nsscope"

// Envelope starts every nsscope JSON document.
type Envelope struct {
	SchemaVersion int    `json:"schema_version"`
	Tool          string `json:"tool"`
	Version       string `json:"version"`
}

// NewEnvelope returns the envelope of a document at schema version v,
// written by nsscope version toolVersion.
func NewEnvelope(v int, toolVersion string) Envelope {
	return Envelope{SchemaVersion: v, Tool: Tool, Version: toolVersion}
}

// Write fills the empty lists of doc (see FillLists) and writes it
// indented, one document followed by a newline.
func Write(w io.Writer, doc any) error {
	FillLists(doc)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// FillLists replaces every nil slice reachable from v through pointers,
// struct fields, slice and array elements, and map values that are
// pointers, with an empty one, so that JSON shows [] where a list is
// empty. Fields tagged omitempty or "-" are left alone (they vanish
// either way). v must be a pointer (or hold pointers) for the change to
// be seen; values reached only by copy are not changed.
func FillLists(v any) {
	fill(reflect.ValueOf(v), map[uintptr]bool{})
}

func fill(v reflect.Value, seen map[uintptr]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		fill(v.Elem(), seen)
	case reflect.Interface:
		if !v.IsNil() {
			fill(v.Elem(), seen)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			tag := f.Tag.Get("json")
			name, opts, _ := strings.Cut(tag, ",")
			if name == "-" && opts == "" {
				continue
			}
			if fv.Kind() == reflect.Slice && fv.IsNil() {
				if !strings.Contains(","+opts+",", ",omitempty,") && fv.CanSet() && fv.Type().Elem().Kind() != reflect.Uint8 {
					fv.Set(reflect.MakeSlice(fv.Type(), 0, 0))
				}
				continue
			}
			fill(fv, seen)
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := range v.Len() {
			fill(v.Index(i), seen)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			fill(it.Value(), seen)
		}
	}
}

// Describe rewords a JSON decoding error for people: a value of the wrong
// kind is named by the JSON kinds involved ("an array where an object is
// expected, at metadata") instead of by Go types, which are nsscope's
// internals. Other errors are returned as they are.
func Describe(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err
	}
	msg := fmt.Sprintf("a JSON %s where %s is expected", te.Value, jsonKind(te.Type))
	if te.Field != "" {
		msg += ", at " + te.Field
	}
	return errors.New(msg)
}

// jsonKind names what JSON a Go type reads.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another value"
}
