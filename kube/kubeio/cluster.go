// Package kubeio is the part of nsscope's Kubernetes support that talks to
// the outside world: it lists pods and nodes through a client, keeps image
// facts in an on-disk cache, inspects images concurrently, reads a node's
// files (this host's, or a mounted root) and the facts the DaemonSet
// wrote, and streams manifests. Everything it reads is handed to the pure
// model in package kube.
package kubeio

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/nsscope/nsscope/kube"
)

// listPageSize is how many objects one list call asks for.
const listPageSize = 500

// ListPods lists the pods of namespace ("" for all) page by page.
func ListPods(ctx context.Context, cs kubernetes.Interface, namespace string) ([]corev1.Pod, error) {
	var out []corev1.Pod
	opts := metav1.ListOptions{Limit: listPageSize}
	for {
		l, err := cs.CoreV1().Pods(namespace).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing pods: %w", err)
		}
		out = append(out, l.Items...)
		if l.Continue == "" {
			return out, nil
		}
		opts.Continue = l.Continue
	}
}

// ListNodes lists the cluster's nodes page by page.
func ListNodes(ctx context.Context, cs kubernetes.Interface) ([]corev1.Node, error) {
	var out []corev1.Node
	opts := metav1.ListOptions{Limit: listPageSize}
	for {
		l, err := cs.CoreV1().Nodes().List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing nodes: %w", err)
		}
		out = append(out, l.Items...)
		if l.Continue == "" {
			return out, nil
		}
		opts.Continue = l.Continue
	}
}

// InspectParallel is how many images are inspected at once (fetching
// dominates, so a few in flight help).
const InspectParallel = 4

// Inspected is what inspecting a set of images gave.
type Inspected struct {
	// Facts are the images inspected, by kube.ImageKey.
	Facts map[string]*kube.ImageFacts
	// Failed says why an image was not inspected, by key.
	Failed map[string]string
	// Notes are the failures in words, in group order.
	Notes []string
	// Count is how many images were asked for (cache hits included).
	Count int
}

// InspectImages asks insp for the facts of every image group,
// InspectParallel at a time. Cancelling ctx returns ctx's error at once,
// even while inspections that ignore ctx are still running (they finish
// on their own; nothing waits for them).
func InspectImages(ctx context.Context, insp Inspector, groups []kube.ImageGroup) (*Inspected, error) {
	type result struct {
		i   int
		f   *kube.ImageFacts
		err error
	}
	// Buffered for every group, so that a late inspection never blocks
	// after InspectImages has returned.
	results := make(chan result, len(groups))
	sem := make(chan struct{}, InspectParallel)
	started := 0
start:
	for i, g := range groups {
		select {
		case <-ctx.Done():
			break start
		case sem <- struct{}{}:
		}
		started++
		go func() {
			defer func() { <-sem }()
			f, err := insp(ctx, g.Key, g.Ref)
			results <- result{i, f, err}
		}()
	}
	got := make([]result, len(groups))
	for range started {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case r := <-results:
			got[r.i] = r
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := &Inspected{Facts: map[string]*kube.ImageFacts{}, Failed: map[string]string{}, Count: len(groups)}
	for i, g := range groups {
		switch r := got[i]; {
		case r.err != nil:
			out.Failed[g.Key] = r.err.Error()
			out.Notes = append(out.Notes, fmt.Sprintf("image %s (%s) not inspected: %v", g.Ref, g.Key, r.err))
		case r.f != nil:
			out.Facts[g.Key] = r.f
		}
	}
	return out, nil
}

// Cluster checks a cluster (kube.Analyzer.Cluster) after inspecting its
// images once per digest with insp (nil: none is inspected); the images'
// facts, then spec, describe each container's programs.
func Cluster(ctx context.Context, opts kube.Options, spec kube.ImageSpec, insp Inspector, in kube.ClusterInput) (*kube.ClusterResult, error) {
	groups := kube.GroupByImage(in.Pods)
	fromNodes, rest, notes := splitByNodeResults(groups, in.NodeResults)
	got := &Inspected{Facts: map[string]*kube.ImageFacts{}}
	if insp != nil {
		var err error
		if got, err = InspectImages(ctx, insp, rest); err != nil {
			return nil, err
		}
	}
	for k, f := range fromNodes {
		got.Facts[k] = f
	}
	opts.Image = spec.Images(got.Facts, got.Failed)
	res, err := kube.NewAnalyzer(opts).Cluster(ctx, in)
	if err != nil {
		return nil, err
	}
	res.Images, res.Inspected, res.FromNodes = groups, got.Count, len(fromNodes)
	res.Notes = append(append(notes, got.Notes...), res.Notes...)
	return res, nil
}

// splitByNodeResults takes the facts of the image groups that node
// results know (by digest) and returns the groups left to inspect, with
// one note per image saying which node's results gave its verdict.
func splitByNodeResults(groups []kube.ImageGroup, nr *kube.NodeResults) (facts map[string]*kube.ImageFacts, rest []kube.ImageGroup, notes []string) {
	facts = map[string]*kube.ImageFacts{}
	if nr.Len() == 0 {
		return facts, groups, nil
	}
	for _, g := range groups {
		r, ok := nr.Lookup(g.Key)
		if !ok {
			rest = append(rest, g)
			continue
		}
		facts[g.Key] = r.Facts
		notes = append(notes, fmt.Sprintf("image %s (%s): facts %s", g.Ref, g.Key, r.From()))
	}
	notes = append([]string{fmt.Sprintf("node results of %s: %d of %d image(s) known there; the other %d read as without --node-results",
		strings.Join(nr.Nodes(), ", "), len(facts), len(groups), len(rest))}, notes...)
	return facts, rest, notes
}

// WorkloadImages inspects the images of the workloads once each (by
// digest or reference, through whatever cache insp has) and returns the
// ImageFunc that uses their facts, then spec.
func WorkloadImages(ctx context.Context, insp Inspector, ws []*kube.Workload, spec kube.ImageSpec) (kube.ImageFunc, []string, error) {
	pods := make([]corev1.Pod, 0, len(ws))
	for _, w := range ws {
		pods = append(pods, *w.Pod)
	}
	got, err := InspectImages(ctx, insp, kube.GroupByImage(pods))
	if err != nil {
		return nil, nil, err
	}
	return spec.Images(got.Facts, got.Failed), got.Notes, nil
}
