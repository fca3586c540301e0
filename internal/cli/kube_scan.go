package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/inspect/layercache"
	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/kube/kubeio"
	"github.com/nsscope/nsscope/model"
)

// kubeScanFlags turn on image inspection (the scan verb's reading of
// images) for pod and cluster.
type kubeScanFlags struct {
	scan      bool
	sourceArg []string
	sources   map[string]string
	image     imageFlags
	cache     cacheFlags
}

// kubeScanGroup is the help title of the image inspection flags.
const kubeScanGroup = "Images (default: not inspected; the program flags or typical programs apply)"

func (k *kubeScanFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&k.scan, "image-scan", false, "inspect each container's image (fetched from its registry) once per digest: its main process, its C library, its /etc/nsswitch.conf")
	fs.StringArrayVar(&k.sourceArg, "image-source", nil, "`REF=TARGET`: read image REF from TARGET instead (docker save archive, OCI layout, another reference); repeatable; inspects REF even without --image-scan")
	k.image.register(fs)
	// The facts of each image (by digest) go to DIR/images, the layers'
	// records to DIR/layers.
	k.cache.register(fs)
	fs.StringVar(&k.cache.dir, "cache", "", "the old name of --cache-dir")
	fs.MarkDeprecated("cache", "use --cache-dir")
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
	if err := k.cache.check(cmd); err != nil {
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
// Images not found there are read through the layer cache.
func (k *kubeScanFlags) cachedInspector(env []string) kubeio.Inspector {
	insp := k.inspector(k.cache.layers(env, io.Discard, ""))
	root := k.cache.root(env)
	if root == "" {
		return insp
	}
	return kubeio.CachedInspector(kubeio.Cache{Dir: filepath.Join(root, "images")}, insp)
}

func (k *kubeScanFlags) enabled() bool { return k.scan || len(k.sources) > 0 }

// errNotScanned marks an image left alone (no --image-scan, no source).
var errNotScanned = errors.New("not inspected (no --image-scan, no --image-source)")

// inspector reads images with the scan verb's reader.
func (k *kubeScanFlags) inspector(lc *layercache.Cache) kubeio.Inspector {
	opts := target.Options{Platform: k.image.platform, Insecure: k.image.insecure, Images: k.image.stores, Cache: lc}
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
		nss, err := in.Root.File(model.PathNSSwitch)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		f := kubeio.ImageFacts(spec, in.Programs, nss)
		f.Key, f.Ref = key, ref
		return f, nil
	}
}
