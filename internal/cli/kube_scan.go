package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
)

// maxScanPrograms caps the programs taken from one image when it has no
// main process that resolves names.
const maxScanPrograms = 6

// sourceList collects a repeatable --image-source REF=TARGET.
type sourceList map[string]string

func (s sourceList) String() string { return fmt.Sprint(map[string]string(s)) }
func (s sourceList) Set(v string) error {
	ref, tgt, ok := strings.Cut(v, "=")
	if !ok || ref == "" || tgt == "" {
		return fmt.Errorf("%q: want REF=TARGET (an image reference and a registry reference, docker save archive or OCI layout)", v)
	}
	s[ref] = tgt
	return nil
}

// kubeScanFlags turn on image inspection (the scan verb's reading of
// images) for pod and cluster.
type kubeScanFlags struct {
	scan     bool
	sources  sourceList
	insecure bool
	platform string
	cache    string
	noCache  bool
}

func (k *kubeScanFlags) register(fs *flag.FlagSet, withCache bool) {
	k.sources = sourceList{}
	fs.BoolVar(&k.scan, "image-scan", false, "")
	fs.Var(k.sources, "image-source", "")
	fs.BoolVar(&k.insecure, "insecure", false, "")
	fs.StringVar(&k.platform, "platform", target.DefaultPlatform, "")
	if withCache {
		fs.StringVar(&k.cache, "cache", "", "")
		fs.BoolVar(&k.noCache, "no-cache", false, "")
	}
}

const kubeScanUsage = `Images (default: not inspected; the program flags or typical programs apply):
  --image-scan            inspect each container's image (fetched from its registry) once per
                          digest: its main process, its C library, its /etc/nsswitch.conf
  --image-source REF=TARGET
                          read image REF from TARGET instead (docker save archive, OCI layout,
                          another reference); repeatable; inspects REF even without --image-scan
  --insecure              allow plain-HTTP registries
  --platform P            the image to pick from a multi-platform index (default linux/amd64)
`

func (k *kubeScanFlags) enabled() bool { return k.scan || len(k.sources) > 0 }

// errNotScanned marks an image left alone (no --image-scan, no source).
var errNotScanned = errors.New("not inspected (no --image-scan, no --image-source)")

// inspector reads images with the scan verb's reader.
func (k *kubeScanFlags) inspector() kube.Inspector {
	opts := target.Options{Platform: k.platform, Insecure: k.insecure}
	return func(ctx context.Context, key, ref string) (*kube.ImageFacts, error) {
		spec, ok := k.sources[ref]
		if !ok {
			if !k.scan {
				return nil, errNotScanned
			}
			spec = ref
		}
		t, err := target.Open(ctx, spec, opts)
		if err != nil {
			return nil, err
		}
		defer t.Close()
		in, err := scanInput(ctx, t, spec)
		if err != nil {
			return nil, err
		}
		f := &kube.ImageFacts{Key: key, Ref: ref}
		data, err := fs.ReadFile(t.FS(), "etc/nsswitch.conf")
		switch {
		case errors.Is(err, fs.ErrNotExist):
			f.NSSwitchMissing = true
		case err != nil:
			return nil, fmt.Errorf("%s: /etc/nsswitch.conf: %w", spec, err)
		default:
			f.NSSwitch = string(data)
		}
		var main, others []model.Program
		var mainDesc string
		for _, p := range in.Programs {
			for _, v := range p.Variants {
				prog := v.Program
				label := p.Path
				if prog.Label != "" {
					label += " " + prog.Label
				}
				if v.Assume != "" {
					label += " (if " + v.Assume + ")"
				}
				prog.Label = label
				if p.Main {
					main = append(main, prog)
				} else {
					others = append(others, prog)
				}
			}
			if p.Main {
				mainDesc = p.Path + ": " + strings.Join(p.Facts, "; ")
			}
		}
		switch {
		case len(main) > 0:
			f.Programs = main
			f.Source = "image " + spec + ", main process " + mainDesc
		case len(others) > 0:
			f.Programs = others[:min(len(others), maxScanPrograms)]
			f.Source = fmt.Sprintf("image %s: the main process resolves no names; %d other program(s)", spec, len(f.Programs))
		default:
			f.Source = "image " + spec + ": no program that resolves names"
		}
		return f, nil
	}
}

// podImages inspects the images of the workloads once each (by digest or
// reference, through the cache) and returns an ImageFunc that uses the
// facts, falling back to base.
func podImages(ctx context.Context, insp kube.Inspector, ws []*kube.Workload, base kube.ImageFunc) (kube.ImageFunc, []string) {
	facts := map[string]*kube.ImageFacts{}
	failed := map[string]string{}
	var notes []string
	for _, w := range ws {
		for _, c := range append(append([]corev1.Container(nil), w.Pod.Spec.InitContainers...), w.Pod.Spec.Containers...) {
			key, ref := kube.ImageKey(w.Pod, c.Name)
			if _, ok := facts[key]; ok {
				continue
			}
			if _, ok := failed[key]; ok {
				continue
			}
			f, err := insp(ctx, key, ref)
			if err != nil {
				failed[key] = err.Error()
				notes = append(notes, fmt.Sprintf("image %s: %v", ref, err))
				continue
			}
			facts[key] = f
		}
	}
	return func(pod *corev1.Pod, c *corev1.Container) kube.Image {
		key, ref := kube.ImageKey(pod, c.Name)
		f, ok := facts[key]
		if !ok {
			img := base(pod, c)
			if why, bad := failed[key]; bad {
				img.Assumed = append(img.Assumed, "image "+ref+" not inspected ("+why+")")
			}
			return img
		}
		img := f.Image()
		if len(img.Programs) == 0 {
			b := base(pod, c)
			img.Programs = b.Programs
			img.Assumed = append(img.Assumed, "no program resolving names found in "+ref+": "+b.Source)
		}
		return img
	}, notes
}
