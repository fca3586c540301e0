package kube

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/nsscope/nsscope/report"
)

// NodeImagesSchemaVersion is the version of the shape of the document
// `nsscope node --images --format json` writes. 2: an image's
// nsswitch.conf is a file object (facts.nsswitch), no longer
// nsswitch_missing and a string.
const NodeImagesSchemaVersion = 2

// Verdicts of a node's image.
const (
	// VerdictNone: the image has no program that resolves host names.
	VerdictNone = "none"
	// VerdictError: the image could not be read.
	VerdictError = "error"
)

// NodeImages is what `nsscope node --images` found on one node: each
// image of its containerd with the scan's verdict and the facts `cluster`
// uses instead of reading the image again.
type NodeImages struct {
	SchemaVersion int    `json:"schema_version"`
	Tool          string `json:"tool"`
	Version       string `json:"version"`
	Node          string `json:"node"`
	// Store names what was read ("containerd at unix://…, namespace
	// k8s.io").
	Store string `json:"store"`
	// Assumptions are the scan's (runtime, names, deadline).
	Assumptions []string    `json:"assumptions"`
	Images      []NodeImage `json:"images"`
	Notes       []string    `json:"notes"`
}

// NodeImage is one image of a node and its verdict.
type NodeImage struct {
	// Names are the store's names of the image; Ref the one it was read
	// by.
	Names []string `json:"names"`
	Ref   string   `json:"ref"`
	// Digest is the store's target (index or manifest: a pod's imageID
	// carries it), Manifest the platform's manifest, Config the image ID.
	Digest   string `json:"digest"`
	Manifest string `json:"manifest,omitempty"`
	Config   string `json:"config,omitempty"`
	// Verdict is the highest severity of the findings ("critical",
	// "warning", "info"), VerdictNone or VerdictError.
	Verdict string `json:"verdict"`
	// Error says why the image could not be read (VerdictError).
	Error    string           `json:"error,omitempty"`
	Findings []report.Finding `json:"findings"`
	Notes    []string         `json:"notes"`
	// Facts are the image's programs and nsswitch.conf as cluster uses
	// them (absent when the image could not be read).
	Facts *ImageFacts `json:"facts,omitempty"`
}

// Keys are the digests the image is known by, as kube.ImageKey gives them
// for a pod's container (repository digest or image ID).
func (i *NodeImage) Keys() []string {
	var out []string
	for _, k := range []string{i.Digest, i.Manifest, i.Config} {
		if strings.HasPrefix(k, "sha256:") && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// VerdictOf is the verdict of an image's scan report: its highest
// severity, VerdictNone when it has no finding about a program.
func VerdictOf(rep *report.Report, noneFound bool) string {
	if noneFound {
		return VerdictNone
	}
	if s, ok := rep.Max(); ok {
		return s.String()
	}
	return VerdictNone
}

// NodeResult is the facts of one image from one node's results.
type NodeResult struct {
	Facts *ImageFacts
	// Node and Store say where they were read; File is the results file.
	Node, Store, File string
}

// From says where a verdict came from, for a report.
func (r NodeResult) From() string {
	return fmt.Sprintf("from node %s's image results (%s, %s)", r.Node, r.Store, r.File)
}

// NodeResults are the image facts of several nodes' `node --images`
// results, by image digest. The zero value is empty and ready.
type NodeResults struct {
	byKey map[string]NodeResult
	nodes []string
}

// Add indexes one node's results under every digest of each image read
// without error. The first node to report a digest is kept (an image's
// digest names the same content on every node).
func (r *NodeResults) Add(doc *NodeImages, file string) {
	if r.byKey == nil {
		r.byKey = map[string]NodeResult{}
	}
	r.nodes = append(r.nodes, doc.Node)
	for i := range doc.Images {
		img := &doc.Images[i]
		if img.Facts == nil || img.Verdict == VerdictError {
			continue
		}
		for _, k := range img.Keys() {
			if _, ok := r.byKey[k]; ok {
				continue
			}
			f := *img.Facts
			f.Key, f.Ref = k, img.Ref
			f.Source = fmt.Sprintf("from node %s's image results: %s", doc.Node, img.Facts.Source)
			r.byKey[k] = NodeResult{Facts: &f, Node: doc.Node, Store: doc.Store, File: file}
		}
	}
}

// Lookup returns the result for an image key (kube.ImageKey).
func (r *NodeResults) Lookup(key string) (NodeResult, bool) {
	if r == nil {
		return NodeResult{}, false
	}
	res, ok := r.byKey[key]
	return res, ok
}

// Nodes are the nodes whose results were added, sorted.
func (r *NodeResults) Nodes() []string {
	if r == nil {
		return nil
	}
	out := append([]string(nil), r.nodes...)
	sort.Strings(out)
	return out
}

// Len is the number of digests indexed.
func (r *NodeResults) Len() int {
	if r == nil {
		return 0
	}
	return len(r.byKey)
}

// Report turns a node's image results into one report (SARIF, HTML and
// --fail-on use it): each finding names its image in the subject and in
// its locations ("REF:/usr/bin/app"); images that could not be read and
// images without a program that resolves names are notes.
func (d *NodeImages) Report() *report.Report {
	rep := &report.Report{Tool: d.Tool, Version: d.Version, Rules: report.LookupRules(),
		Target:      fmt.Sprintf("node %s: %d image(s) in %s", d.Node, len(d.Images), d.Store),
		Assumptions: append([]string(nil), d.Assumptions...), Notes: append([]string(nil), d.Notes...)}
	for _, img := range d.Images {
		switch img.Verdict {
		case VerdictError:
			rep.Notes = append(rep.Notes, fmt.Sprintf("image %s not read: %s", img.Ref, img.Error))
			continue
		case VerdictNone:
			rep.Notes = append(rep.Notes, fmt.Sprintf("image %s: no program that resolves host names", img.Ref))
		}
		for _, f := range img.Findings {
			f.Subject = img.Ref + " " + f.Subject
			f.Location = inImage(img.Ref, f.Location)
			rel := make([]report.Location, len(f.Related))
			for i, l := range f.Related {
				rel[i] = inImage(img.Ref, l)
			}
			f.Related = rel
			rep.Findings = append(rep.Findings, f)
		}
		for _, n := range img.Notes {
			rep.Notes = append(rep.Notes, img.Ref+": "+n)
		}
	}
	return rep
}

func inImage(ref string, l report.Location) report.Location {
	if l.Path != "" {
		l.Path = ref + ":" + l.Path
	}
	return l
}

// WriteNodeImagesText writes one line per image: its verdict, its name,
// its digest and what decided the verdict (the worst finding).
func WriteNodeImagesText(w io.Writer, d *NodeImages) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# node %s: %d image(s) in %s\n", d.Node, len(d.Images), d.Store)
	for _, img := range d.Images {
		fmt.Fprintf(&b, "%-8s  %s  %s  %s\n", img.Verdict, img.Ref, shortDigest(img.Digest), imageSummary(&img))
	}
	for _, n := range d.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// imageSummary says why an image has its verdict.
func imageSummary(img *NodeImage) string {
	switch img.Verdict {
	case VerdictError:
		return img.Error
	case VerdictNone:
		return "no program that resolves host names"
	}
	counts := map[report.Severity]int{}
	var worst *report.Finding
	for i := range img.Findings {
		f := &img.Findings[i]
		counts[f.Severity]++
		if worst == nil || f.Severity > worst.Severity || (f.Severity == worst.Severity && f.Main && !worst.Main) {
			worst = f
		}
	}
	var parts []string
	for _, s := range []report.Severity{report.Critical, report.Warning, report.Info} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	out := strings.Join(parts, ", ")
	if worst != nil {
		out += fmt.Sprintf("; %s (%s): %s", worst.Subject, worst.Name, worst.Message)
	}
	return out
}

// shortDigest is "sha256:" and the first 12 hex digits.
func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}
