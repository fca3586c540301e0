package explain

import (
	"encoding/json"
	"io"

	"github.com/nsscope/nsscope/internal/jsonstyle"
	"github.com/nsscope/nsscope/model"
)

// EnvironmentDoc describes the files and variables the prediction read.
type EnvironmentDoc struct {
	Label      string            `json:"label"`
	ResolvConf model.File        `json:"resolv_conf"`
	NSSwitch   model.File        `json:"nsswitch_conf"`
	Hosts      model.File        `json:"hosts"`
	Vars       map[string]string `json:"env,omitempty"`
	Hostname   string            `json:"hostname,omitempty"`
	Libc       *model.Libc       `json:"libc,omitempty"`
}

// cite is f as the document names it: where it is and where it came from,
// without its content (the steps quote the lines that decided).
func cite(f model.File) model.File {
	f.Data = nil
	return f
}

// WriteJSON writes the result as one JSON document (schema in
// docs/explain.md): schema_version, tool, version, environment, and — with one program —
// the prediction's fields at the top level; with several, a predictions
// list whose items have those fields.
func WriteJSON(w io.Writer, r *Result) error {
	in := r.Input
	env := EnvironmentDoc{
		Label: in.EnvLabel, ResolvConf: cite(in.Env.ResolvConf), NSSwitch: cite(in.Env.NSSwitch),
		Hosts: cite(in.Env.Hosts), Vars: in.Env.Vars, Hostname: in.Env.Hostname,
	}
	if in.Libc.Known() {
		l := in.Libc
		env.Libc = &l
	}
	for _, p := range r.Predictions {
		jsonstyle.FillLists(p)
	}
	doc := map[string]any{}
	if len(r.Predictions) == 1 {
		b, err := json.Marshal(r.Predictions[0])
		if err != nil {
			return err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		for k, v := range m {
			doc[k] = v
		}
	} else {
		doc["predictions"] = r.Predictions
	}
	e := jsonstyle.NewEnvelope(SchemaVersion, in.ToolVersion)
	doc["schema_version"], doc["tool"], doc["version"] = e.SchemaVersion, e.Tool, e.Version
	doc["environment"] = env
	if len(in.Assumptions) > 0 {
		doc["assumptions"] = in.Assumptions
	}
	return jsonstyle.Write(w, doc)
}
