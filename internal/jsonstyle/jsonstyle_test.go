package jsonstyle

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

type inner struct {
	List []string `json:"list"`
}

type doc struct {
	Envelope
	A     []int             `json:"a"`
	B     []int             `json:"b,omitempty"`
	Data  []byte            `json:"data"`
	In    inner             `json:"in"`
	Ptrs  []*inner          `json:"ptrs"`
	ByKey map[string]*inner `json:"by_key"`
	Any   any               `json:"any"`
	Self  *doc              `json:"self,omitempty"`
}

func TestWrite(t *testing.T) {
	d := &doc{Envelope: NewEnvelope(2, "v1.0.0"), Ptrs: []*inner{{}}, ByKey: map[string]*inner{"k": {}}, Any: &inner{}}
	d.Self = d
	FillLists(d) // a cycle ends
	d.Self = nil
	var b bytes.Buffer
	if err := Write(&b, d); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{`"schema_version": 2`, `"tool": "nsscope"`, `"version": "v1.0.0"`, `"a": []`, `"list": []`, `"data": null`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
	if strings.Contains(got, `"b"`) {
		t.Errorf("omitempty list written:\n%s", got)
	}
	if strings.Count(got, `"list": []`) != 4 {
		t.Errorf("want 4 filled inner lists (field, slice, map, interface):\n%s", got)
	}
}

func TestDescribe(t *testing.T) {
	var v struct {
		Meta struct{ Name string } `json:"metadata"`
	}
	for _, c := range []struct{ in, want string }{
		{`[1]`, "a JSON array where an object is expected"},
		{`{"metadata": "x"}`, "a JSON string where an object is expected, at metadata"},
		{`{"metadata": {"Name": 3}}`, "a JSON number where a string is expected, at metadata.Name"},
	} {
		err := Describe(json.Unmarshal([]byte(c.in), &v))
		if err == nil || err.Error() != c.want || strings.Contains(err.Error(), "Go ") {
			t.Errorf("%s: %v, want %q", c.in, err, c.want)
		}
	}
	if err := Describe(json.Unmarshal([]byte(`{`), &v)); err == nil || !strings.Contains(err.Error(), "unexpected end") {
		t.Errorf("syntax error changed: %v", err)
	}
}
