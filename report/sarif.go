package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// How a Report maps to SARIF 2.1.0:
//
//   - one run; tool.driver is nsscope with one rule per RuleID used (in
//     order of first use), described from Report.Rules when present;
//   - one result per finding: critical → level "error", warning →
//     "warning", info (safe) → kind "pass" with level "none";
//   - the result's location is Finding.Location. An absolute path (a file
//     inside an image or root filesystem) becomes a URI relative to the
//     base id TARGETROOT, described in originalUriBaseIds as the scanned
//     target; a relative path (a Dockerfile, a manifest) stays relative to
//     the repository (no base id). Line becomes region.startLine;
//   - Finding.Related become relatedLocations with their messages;
//   - reasons, fixes (with predicted times in seconds), the subject, the
//     name checked and the predicted time go in the result's property bag;
//     the report's assumptions and notes go in the run's property bag and
//     notes also as tool execution notifications;
//   - partialFingerprints["nsscope/v1"] hashes rule, subject and name, so a
//     code-scanning service can follow a finding across runs.

// SARIFSchemaURI is the $schema written into SARIF documents: the OASIS
// SARIF 2.1.0 schema (errata 01).
const SARIFSchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// TargetRootBaseID is the uriBaseId of locations inside the scanned target.
const TargetRootBaseID = "TARGETROOT"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                   `json:"tool"`
	Invocations        []sarifInvocation           `json:"invocations"`
	OriginalURIBaseIDs map[string]sarifArtifactLoc `json:"originalUriBaseIds,omitempty"`
	Results            []sarifResult               `json:"results"`
	Properties         map[string]any              `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name    string      `json:"name"`
	Version string      `json:"version,omitempty"`
	Rules   []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string        `json:"id"`
	Name             string        `json:"name,omitempty"`
	ShortDescription *sarifMessage `json:"shortDescription,omitempty"`
	Help             *sarifMessage `json:"help,omitempty"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level   string       `json:"level"`
	Message sarifMessage `json:"message"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Kind                string            `json:"kind"`
	Level               string            `json:"level"`
	Message             sarifMessage      `json:"message"`
	Locations           []sarifLocation   `json:"locations,omitempty"`
	RelatedLocations    []sarifLocation   `json:"relatedLocations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type sarifLocation struct {
	ID               *int          `json:"id,omitempty"`
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
	Message          *sarifMessage `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLoc `json:"artifactLocation"`
	Region           *sarifRegion     `json:"region,omitempty"`
}

type sarifArtifactLoc struct {
	URI         string        `json:"uri,omitempty"`
	URIBaseID   string        `json:"uriBaseId,omitempty"`
	Description *sarifMessage `json:"description,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

// WriteSARIF writes r as a SARIF 2.1.0 log (see the mapping above).
func WriteSARIF(w io.Writer, r *Report) error {
	tool := r.Tool
	if tool == "" {
		tool = "nsscope"
	}
	run := sarifRun{
		Tool:        sarifTool{Driver: sarifDriver{Name: tool, Version: r.Version, Rules: []sarifRule{}}},
		Invocations: []sarifInvocation{{ExecutionSuccessful: true}},
		Results:     []sarifResult{},
		Properties:  map[string]any{"target": r.Target, "assumptions": nonNil(r.Assumptions)},
	}
	if len(r.Notes) > 0 {
		run.Properties["notes"] = r.Notes
		for _, n := range r.Notes {
			run.Invocations[0].Notifications = append(run.Invocations[0].Notifications,
				sarifNotification{Level: "note", Message: sarifMessage{Text: n}})
		}
	}
	ruleIndex := map[string]int{}
	usesRoot := false
	for _, f := range r.Findings {
		idx, ok := ruleIndex[f.RuleID]
		if !ok {
			idx = len(run.Tool.Driver.Rules)
			ruleIndex[f.RuleID] = idx
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleFor(r, f.RuleID))
		}
		res := sarifResult{
			RuleID:    f.RuleID,
			RuleIndex: idx,
			Kind:      "fail",
			Message:   sarifMessage{Text: resultText(f)},
			PartialFingerprints: map[string]string{
				"nsscope/v1": fingerprint(f.RuleID, f.Subject, f.Name),
			},
			Properties: findingProperties(f),
		}
		switch f.Severity {
		case Critical:
			res.Level = "error"
		case Warning:
			res.Level = "warning"
		default:
			res.Kind, res.Level = "pass", "none"
		}
		if f.Location.Path != "" {
			loc, root := sarifLocationFor(f.Location)
			usesRoot = usesRoot || root
			res.Locations = []sarifLocation{loc}
		}
		for i, rl := range f.Related {
			if rl.Path == "" {
				continue
			}
			loc, root := sarifLocationFor(rl)
			usesRoot = usesRoot || root
			id := i + 1
			loc.ID = &id
			if rl.Message != "" {
				loc.Message = &sarifMessage{Text: rl.Message}
			}
			res.RelatedLocations = append(res.RelatedLocations, loc)
		}
		run.Results = append(run.Results, res)
	}
	if usesRoot {
		desc := "the root of the scanned target"
		if r.Target != "" {
			desc = "the root of the scanned target " + r.Target
		}
		run.OriginalURIBaseIDs = map[string]sarifArtifactLoc{
			TargetRootBaseID: {Description: &sarifMessage{Text: desc}},
		}
	}
	log := sarifLog{Schema: SARIFSchemaURI, Version: "2.1.0", Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&log); err != nil {
		return fmt.Errorf("writing SARIF report: %w", err)
	}
	return nil
}

func sarifRuleFor(r *Report, id string) sarifRule {
	ru, _ := r.Rule(id)
	sr := sarifRule{ID: id, Name: ru.Name}
	if ru.Short != "" {
		sr.ShortDescription = &sarifMessage{Text: ru.Short}
	}
	if ru.Help != "" {
		sr.Help = &sarifMessage{Text: ru.Help}
	}
	return sr
}

// resultText is the result message: the finding's message with its subject
// and name, and the first fix.
func resultText(f Finding) string {
	s := fmt.Sprintf("%s: %s: %s", f.Subject, f.Name, f.Message)
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	if len(f.Fixes) > 0 && f.Severity > Info {
		s += fmt.Sprintf(" Fix: %s, then %s.", f.Fixes[0].Description, Duration(f.Fixes[0].After.Duration()))
	}
	return s
}

func findingProperties(f Finding) map[string]any {
	p := map[string]any{
		"severity": f.Severity.String(),
		"subject":  f.Subject,
		"name":     f.Name,
		"reasons":  nonNil(f.Reasons),
	}
	if f.Main {
		p["main"] = true
	}
	if f.Time > 0 {
		p["timeSeconds"] = f.Time.Seconds()
		p["queries"] = f.Queries
	}
	if len(f.Fixes) > 0 {
		var fx []map[string]any
		for _, x := range f.Fixes {
			m := map[string]any{
				"description":  x.Description,
				"afterSeconds": x.After.Seconds(),
				"afterQueries": x.AfterQueries,
			}
			if x.Diff != "" {
				m["diff"] = x.Diff
			}
			fx = append(fx, m)
		}
		p["fixes"] = fx
	}
	return p
}

// sarifLocationFor maps a Location; root reports that the TARGETROOT base
// id was used.
func sarifLocationFor(l Location) (sarifLocation, bool) {
	p := l.Path
	root := strings.HasPrefix(p, "/")
	al := sarifArtifactLoc{}
	if root {
		p = strings.TrimLeft(p, "/")
		al.URIBaseID = TargetRootBaseID
	}
	al.URI = (&url.URL{Path: p}).String()
	loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: al}}
	if l.Line > 0 {
		loc.PhysicalLocation.Region = &sarifRegion{StartLine: l.Line}
	}
	return loc, root
}

func fingerprint(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:16])
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
