package kubeio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nsscope/nsscope/grade"
	"github.com/nsscope/nsscope/inspect/imagestore"
	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/internal/jsonstyle"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
)

// NodeScan says how `nsscope node --images` reads and scans a node's
// images.
type NodeScan struct {
	// Node is the node's name.
	Node string
	// Target reads each image; its Images field says where containerd
	// is (socket, or files under a node's root).
	Target target.Options
	// Runtime, Names and Deadline are the scan's, as for `nsscope scan`.
	Runtime  grade.Runtime
	Names    []string
	Deadline time.Duration
	// Each, when set, is told about every image before it is read (for
	// progress).
	Each func(i, n int, ref string)
	// Previous is the result of an earlier round (node --repeat): an
	// image whose target and manifest are unchanged keeps its verdict and
	// is not read again. Images that failed are read again.
	Previous *kube.NodeImages
}

// ScanNodeImages lists the images of the node's containerd and scans each
// one as `nsscope scan containerd://REF` does, one at a time (memory stays
// that of one image scan). An image that cannot be read gets
// kube.VerdictError; only failing to reach the store is an error.
func ScanNodeImages(ctx context.Context, ns NodeScan) (*kube.NodeImages, error) {
	stored, where, err := imagestore.Images(ctx, ns.Target.Images)
	if err != nil {
		return nil, err
	}
	doc := &kube.NodeImages{SchemaVersion: kube.NodeImagesSchemaVersion, Node: ns.Node, Store: where,
		Assumptions: []string{}, Images: []kube.NodeImage{}, Notes: []string{}}
	if len(stored) == 0 {
		doc.Notes = append(doc.Notes, "no image in "+where)
	}
	previous := reusable(ns.Previous)
	for i, s := range stored {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if ns.Each != nil {
			ns.Each(i, len(stored), s.Ref())
		}
		if old, ok := previous[s.Digest+" "+s.Manifest]; ok {
			old.Names, old.Ref = s.Names, s.Ref()
			doc.Images = append(doc.Images, old)
			continue
		}
		img, assumed := scanStored(ctx, ns, s)
		if len(doc.Assumptions) == 0 && assumed != nil {
			doc.Assumptions = assumed
		}
		doc.Images = append(doc.Images, img)
	}
	if len(doc.Assumptions) == 0 && ns.Previous != nil {
		doc.Assumptions = ns.Previous.Assumptions
	}
	return doc, nil
}

// reusable indexes an earlier round's images that were read, by target
// and manifest digest.
func reusable(prev *kube.NodeImages) map[string]kube.NodeImage {
	out := map[string]kube.NodeImage{}
	if prev == nil {
		return out
	}
	for _, img := range prev.Images {
		if img.Verdict != kube.VerdictError && img.Manifest != "" {
			out[img.Digest+" "+img.Manifest] = img
		}
	}
	return out
}

// scanStored scans one stored image; the scan's assumptions come back
// when it ran.
func scanStored(ctx context.Context, ns NodeScan, s imagestore.Stored) (kube.NodeImage, []string) {
	img := kube.NodeImage{Names: s.Names, Ref: s.Ref(), Digest: s.Digest, Manifest: s.Manifest, Config: s.Config,
		Findings: nil, Notes: []string{}}
	fail := func(err error) (kube.NodeImage, []string) {
		img.Verdict, img.Error = kube.VerdictError, oneLine(err.Error())
		img.Findings = nil
		return img, nil
	}
	if s.Err != "" {
		return fail(errors.New(s.Err))
	}
	spec := imagestore.Spec{Source: imagestore.Containerd, Ref: img.Ref}.String()
	opts := ns.Target
	opts.Images.Source = ""
	t, err := target.Open(ctx, spec, opts)
	if err != nil {
		return fail(err)
	}
	defer t.Close()
	in, err := grade.FromTarget(ctx, t, spec)
	if err != nil {
		return fail(err)
	}
	nss, err := in.Root.File(model.PathNSSwitch)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", spec, err))
	}
	img.Facts = ImageFacts(spec, in.Programs, nss)
	img.Facts.Key, img.Facts.Ref = s.Digest, img.Ref
	in.Runtime, in.Names, in.Deadline = ns.Runtime, ns.Names, ns.Deadline
	rep, err := grade.Run(in)
	if err != nil {
		return fail(err)
	}
	img.Findings = rep.Findings
	img.Notes = append(img.Notes, rep.Notes...)
	img.Verdict = kube.VerdictOf(rep, grade.NoneFound(rep))
	return img, rep.Assumptions
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// NodeImagesSuffix names the files of `node --images` results in a
// directory (NODE.images.json beside the node facts' NODE.json).
const NodeImagesSuffix = ".images.json"

// maxResultsFile caps one results file.
const maxResultsFile = MaxResultsFile

// MaxResultsFile caps one `node --images` results document, read from a
// file or from standard input.
const MaxResultsFile = 64 << 20

// ParseNodeImages reads one `node --images --format json` document.
func ParseNodeImages(data []byte) (*kube.NodeImages, error) {
	// Node facts (`nsscope node` without --images) are the likeliest wrong
	// file here: say so before their own schema_version is judged.
	var shape struct {
		Files         json.RawMessage `json:"files"`
		Images        json.RawMessage `json:"images"`
		SchemaVersion int             `json:"schema_version"`
	}
	if json.Unmarshal(data, &shape) == nil {
		if shape.Files != nil && shape.Images == nil {
			return nil, errors.New("these are node facts, not the JSON of 'nsscope node --images' (node facts go to --node-facts-dir)")
		}
		// An older shape is named before its fields fail to decode.
		if v := shape.SchemaVersion; v >= 1 && v < kube.NodeImagesSchemaVersion {
			return nil, fmt.Errorf("schema_version %d is an older shape than this tool's %d: collect them again with this release's 'nsscope node --images'", v, kube.NodeImagesSchemaVersion)
		}
	}
	var doc kube.NodeImages
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not the JSON of 'nsscope node --images': %w", jsonstyle.Describe(err))
	}
	switch {
	case doc.SchemaVersion < 1:
		return nil, errors.New("no schema_version: not the JSON of 'nsscope node --images'")
	case doc.SchemaVersion > kube.NodeImagesSchemaVersion:
		return nil, fmt.Errorf("schema_version %d is newer than this tool's %d", doc.SchemaVersion, kube.NodeImagesSchemaVersion)
	case doc.Node == "" || doc.Store == "" || doc.Images == nil:
		return nil, errors.New("no node, store or images: not the JSON of 'nsscope node --images' (node facts go to --node-facts-dir)")
	}
	return &doc, nil
}

// ReadNodeResults reads `node --images` results from path: one file, or
// every *.images.json file of a directory. Files that cannot be used are
// reported in errs and skipped.
func ReadNodeResults(path string) (res *kube.NodeResults, errs []error) {
	res = &kube.NodeResults{}
	st, err := os.Stat(path)
	if err != nil {
		return res, []error{err}
	}
	files := []string{path}
	if st.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return res, []error{err}
		}
		files = nil
		for _, e := range ents {
			if !e.IsDir() && strings.HasSuffix(e.Name(), NodeImagesSuffix) {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		if len(files) == 0 {
			return res, []error{fmt.Errorf("%s: no *%s file (written by 'nsscope node --images --format json')", path, NodeImagesSuffix)}
		}
	}
	seen := map[string]string{}
	for _, f := range files {
		doc, err := readNodeImagesFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if first, ok := seen[doc.Node]; ok {
			errs = append(errs, fmt.Errorf("%s: a second result for node %s (the one of %s is kept)", f, doc.Node, first))
			continue
		}
		seen[doc.Node] = f
		res.Add(doc, f)
	}
	return res, errs
}

func readNodeImagesFile(p string) (*kube.NodeImages, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	if st.Size() > maxResultsFile {
		return nil, fmt.Errorf("%s: larger than %d MB", p, maxResultsFile>>20)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	doc, err := ParseNodeImages(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return doc, nil
}
