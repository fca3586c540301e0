package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/scan"
)

// kubeScanFlags turn on image inspection (the scan verb's reading of
// images) for pod and cluster.
type kubeScanFlags struct {
	scan      bool
	sourceArg []string
	sources   map[string]string
	image     imageFlags
	cache     string
	noCache   bool
}

// kubeScanGroup is the help title of the image inspection flags.
const kubeScanGroup = "Images (default: not inspected; the program flags or typical programs apply)"

func (k *kubeScanFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&k.scan, "image-scan", false, "inspect each container's image (fetched from its registry) once per digest: its main process, its C library, its /etc/nsswitch.conf")
	fs.StringArrayVar(&k.sourceArg, "image-source", nil, "`REF=TARGET`: read image REF from TARGET instead (docker save archive, OCI layout, another reference); repeatable; inspects REF even without --image-scan")
	k.image.register(fs)
	fs.StringVar(&k.cache, "cache", "", "image facts cache `DIR` (default $XDG_CACHE_HOME/nsscope/images)")
	fs.BoolVar(&k.noCache, "no-cache", false, "do not read or write the cache")
}

// check parses --image-source.
func (k *kubeScanFlags) check(cmd *cobra.Command) error {
	k.sources = map[string]string{}
	for _, v := range k.sourceArg {
		ref, tgt, ok := strings.Cut(v, "=")
		if !ok || ref == "" || tgt == "" {
			return usageErrorf("--image-source %q: want REF=TARGET (an image reference and a registry reference, docker save archive or OCI layout)", v)
		}
		k.sources[ref] = tgt
	}
	if err := exclusive(cmd, "cache", "no-cache", "--no-cache uses no cache"); err != nil {
		return err
	}
	if !k.enabled() {
		if c := changed(cmd, "platform", "insecure"); len(c) > 0 {
			return usageErrorf("%s does nothing without --image-scan or --image-source: no image is read", strings.Join(c, ", "))
		}
	}
	return nil
}

// cachedInspector is the inspector, through the cache unless --no-cache.
func (k *kubeScanFlags) cachedInspector(env []string) kube.Inspector {
	insp := k.inspector()
	if k.noCache {
		return insp
	}
	dir := k.cache
	if dir == "" {
		dir = defaultCacheDir(env)
	}
	return kube.CachedInspector(kube.Cache{Dir: dir}, insp)
}

func (k *kubeScanFlags) enabled() bool { return k.scan || len(k.sources) > 0 }

// errNotScanned marks an image left alone (no --image-scan, no source).
var errNotScanned = errors.New("not inspected (no --image-scan, no --image-source)")

// inspector reads images with the scan verb's reader.
func (k *kubeScanFlags) inspector() kube.Inspector {
	opts := target.Options{Platform: k.image.platform, Insecure: k.image.insecure}
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
		return scan.ImageFacts(ctx, t, spec, key, ref)
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
