package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/internal/golden"
	"github.com/nsscope/nsscope/model"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

func loadSample(t *testing.T) *Report {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

func TestRenderGolden(t *testing.T) {
	r := loadSample(t)
	empty := &Report{Tool: "nsscope", Target: "scratch.tar", Assumptions: []string{"runtime none"}}
	tests := []struct {
		golden string
		rep    *Report
		format Format
		opt    TextOptions
	}{
		{"sample.txt", r, FormatText, TextOptions{}},
		{"sample-v.txt", r, FormatText, TextOptions{Verbose: true}},
		{"sample.out.json", r, FormatJSON, TextOptions{}},
		{"sample.sarif", r, FormatSARIF, TextOptions{}},
		{"sample.html", r, FormatHTML, TextOptions{}},
		{"empty.txt", empty, FormatText, TextOptions{}},
		{"empty.sarif", empty, FormatSARIF, TextOptions{}},
		{"empty.html", empty, FormatHTML, TextOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := Write(&b, tt.rep, tt.format, tt.opt); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.golden, b.Bytes())
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := loadSample(t)
	var a, b bytes.Buffer
	if err := WriteJSON(&a, r); err != nil {
		t.Fatal(err)
	}
	r2, err := ReadJSON(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&b, r2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("JSON does not round-trip:\n%s\n---\n%s", a.Bytes(), b.Bytes())
	}
	if _, err := ReadJSON(strings.NewReader(`{"schema_version": 99}`)); err == nil {
		t.Error("a newer schema_version was accepted")
	}
}

// TestJSONSchema validates WriteJSON's output against the documented
// schema, and checks that the schema rejects what it must.
func TestJSONSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSONSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("report.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, rep := range []*Report{loadSample(t), {Tool: "nsscope"}} {
		var b bytes.Buffer
		if err := WriteJSON(&b, rep); err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(&b)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("report does not match its schema: %v", err)
		}
	}
	bad := []string{
		`{"schema_version":1,"tool":"nsscope","version":"","target":"","assumptions":[],"findings":[{"rule_id":"X","severity":"severe","subject":"s","name":"n","message":"m","reasons":[],"location":{"path":"/x"}}]}`,
		`{"schema_version":1,"tool":"nsscope","version":"","target":"","assumptions":[],"findings":[],"extra":1}`,
		`{"schema_version":1,"tool":"nsscope","version":"","target":"","findings":[]}`,
	}
	for _, s := range bad {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(inst) == nil {
			t.Errorf("schema accepted %s", s)
		}
	}
}

func TestSARIFStructure(t *testing.T) {
	r := loadSample(t)
	var b bytes.Buffer
	if err := WriteSARIF(&b, r); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Kind      string `json:"kind"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string `json:"uri"`
							URIBaseID string `json:"uriBaseId"`
						} `json:"artifactLocation"`
						Region *struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %q, %d runs", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	if len(run.Results) != len(r.Findings) {
		t.Fatalf("%d results for %d findings", len(run.Results), len(r.Findings))
	}
	for i, res := range run.Results {
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %d: ruleIndex %d is %s, not %s", i, res.RuleIndex, run.Tool.Driver.Rules[res.RuleIndex].ID, res.RuleID)
		}
	}
	wantLevel := []string{"error", "none", "warning"}
	for i, w := range wantLevel {
		if run.Results[i].Level != w {
			t.Errorf("result %d: level %q, want %q", i, run.Results[i].Level, w)
		}
	}
	al := run.Results[0].Locations[0].PhysicalLocation.ArtifactLocation
	if al.URI != "usr/local/bin/esbuild" || al.URIBaseID != TargetRootBaseID {
		t.Errorf("image path location = %+v", al)
	}
	pl := run.Results[2].Locations[0].PhysicalLocation
	if pl.ArtifactLocation.URI != "k8s/deploy.yaml" || pl.ArtifactLocation.URIBaseID != "" || pl.Region == nil || pl.Region.StartLine != 12 {
		t.Errorf("manifest location = %+v", pl)
	}
}

func TestParseFormatAndSeverity(t *testing.T) {
	for _, f := range Formats() {
		g, err := ParseFormat(strings.ToUpper(string(f)))
		if err != nil || g != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, g, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("xml accepted")
	}
	if _, err := ParseSeverity("high"); err == nil {
		t.Error("high accepted")
	}
}

// Backticks in a fix are code in the HTML (issue 15.6): never shown
// literally, neither in the text nor in the chart drawn after the fix.
func TestHTMLBackticks(t *testing.T) {
	r := loadSample(t)
	after := &model.Prediction{AnsweredFrom: model.FromHosts, Addrs: []string{"127.0.0.1"}}
	r.Findings[0].Fixes = []Fix{{Description: "add `hosts: files dns` to /etc/nsswitch.conf", Predict: after}}
	var b bytes.Buffer
	if err := Write(&b, r, FormatHTML, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "<code>hosts: files dns</code>") {
		t.Error("the fix's backticks are not rendered as code")
	}
	if strings.Contains(out, "`") {
		i := strings.Index(out, "`")
		t.Errorf("a literal backtick: %q", out[max(0, i-80):min(len(out), i+40)])
	}
}
