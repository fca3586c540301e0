package kubeio

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/internal/jsonstyle"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
)

// Limits of what is read from a node.
const (
	// maxFactFile caps each file read into the facts.
	maxFactFile = 1 << 20
	// maxManifests caps the static pod manifests read.
	maxManifests = 64
)

// CollectNodeFacts reads the node facts from fsys, the node's root file
// system (symbolic links are resolved inside it, never outside). name is
// the node's name; addrs its interface addresses (read by the caller, who
// knows whether it runs in the node's network namespace).
func CollectNodeFacts(fsys fs.FS, name string, addrs []kube.IfAddr) *kube.NodeFacts {
	nf := &kube.NodeFacts{SchemaVersion: kube.NodeFactsVersion, Node: name, Files: map[string]model.File{}, Interfaces: addrs, StaticPods: []model.File{}}
	for _, p := range []string{model.PathResolvConf, model.PathHosts, model.PathNSSwitch, kube.PathResolvedUpstream, kube.PathKubeletConfig} {
		nf.Files[p] = readFact(fsys, p)
	}
	if kc := nf.Files[kube.PathKubeletConfig]; len(kc.Data) > 0 {
		var k kube.ConfigDNS
		if err := sigsyaml.Unmarshal(kc.Data, &k); err != nil {
			nf.Notes = append(nf.Notes, fmt.Sprintf("%s: %v", kube.PathKubeletConfig, jsonstyle.Describe(err)))
		} else {
			nf.Kubelet = &k
			if k.ResolvConf != nil && *k.ResolvConf != "" {
				if _, ok := nf.Files[*k.ResolvConf]; !ok && strings.HasPrefix(*k.ResolvConf, "/") {
					nf.Files[*k.ResolvConf] = readFact(fsys, *k.ResolvConf)
				}
			}
		}
	}
	dir, err := inRoot(fsys, kube.PathManifests)
	if err == nil {
		ents, err := fs.ReadDir(fsys, dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			nf.Notes = append(nf.Notes, fmt.Sprintf("%s: %v", kube.PathManifests, err))
		}
		var names []string
		for _, e := range ents {
			n := e.Name()
			if strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".json")) {
				continue
			}
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) > maxManifests {
			nf.Notes = append(nf.Notes, fmt.Sprintf("%s: %d manifests, only the first %d read", kube.PathManifests, len(names), maxManifests))
			names = names[:maxManifests]
		}
		for _, n := range names {
			nf.StaticPods = append(nf.StaticPods, readFact(fsys, path.Join(kube.PathManifests, n)))
		}
	}
	return nf
}

// readFact reads one file of the node, following symbolic links inside
// the root.
func readFact(fsys fs.FS, p string) model.File {
	f := model.File{Path: p}
	real, err := inRoot(fsys, p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			f.Missing = true
		} else {
			f.ReadErr = err.Error()
		}
		return f
	}
	if "/"+real != p {
		f.Target = "/" + real
	}
	st, err := fs.Stat(fsys, real)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.Missing = true
		return f
	case err != nil:
		f.ReadErr = err.Error()
		return f
	case st.IsDir():
		f.ReadErr = "is a directory"
		return f
	case !st.Mode().IsRegular():
		f.ReadErr = "not a regular file"
		return f
	case st.Size() > maxFactFile:
		f.ReadErr = fmt.Sprintf("larger than %d bytes", maxFactFile)
		return f
	}
	data, err := fs.ReadFile(fsys, real)
	if err != nil {
		f.ReadErr = err.Error()
		return f
	}
	f.Data = data
	return f
}

// inRoot resolves p (absolute, inside the node's root) to its name in
// fsys, following symbolic links as a process chrooted there would
// (target.ResolveIn).
func inRoot(fsys fs.FS, p string) (string, error) {
	abs, err := target.ResolveIn(p, true, target.LstatFS(fsys))
	if err != nil {
		return "", err
	}
	if abs == "/" {
		return ".", nil
	}
	return strings.TrimPrefix(abs, "/"), nil
}

// ReadNodeFactsDir reads every *.json file of dir as node facts, keyed by
// node name; *.images.json files (image results) are left alone.
func ReadNodeFactsDir(dir string) (map[string]*kube.NodeFacts, []error) {
	out := map[string]*kube.NodeFacts{}
	var errs []error
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, []error{err}
	}
	for _, e := range ents {
		// NODE.images.json beside NODE.json are `node --images` results
		// (cluster --node-results).
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasSuffix(e.Name(), NodeImagesSuffix) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		st, err := e.Info()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.Size() > 64<<20 {
			errs = append(errs, fmt.Errorf("%s: larger than 64 MB", p))
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		nf, err := kube.ParseNodeFacts(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		if _, ok := out[nf.Node]; ok {
			errs = append(errs, fmt.Errorf("%s: a second report for node %s (the first one is kept)", p, nf.Node))
			continue
		}
		out[nf.Node] = nf
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no node facts (*.json written by nsscope node)", dir))
	}
	return out, errs
}
